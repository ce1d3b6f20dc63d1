// What a training run reports, per epoch and in the end; plain data, ready to plot.

export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's sessions (each step's mean loss weighted by its batch size). */
  loss: number;
  /** Validation metrics returned by `evaluate` (empty without it). */
  metrics: Record<string, number>;
  /** Seconds spent training this epoch (excluding evaluation). */
  seconds: number;
  /** Seconds spent in `evaluate`. */
  evalSeconds: number;
  /** Training throughput: sessions per second. */
  sequencesPerSecond: number;
  /** Learning rate of the epoch's last step. */
  learningRate: number;
}

export interface FitResult {
  history: EpochRecord[];
  /** Epoch (1-based) with the best monitored value, or the last epoch when nothing is monitored. */
  bestEpoch: number;
  /** True when early stopping ended training before `epochs`. */
  stoppedEarly: boolean;
  /** Optimizer steps taken. */
  steps: number;
}
