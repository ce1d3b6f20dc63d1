// Learning-rate schedules: an optional linear warm-up to the peak rate, then constant, cosine or linear decay to
// `finalFraction × peak` at the last step. Pure functions of the step so the trainer can set the rate every step.

export interface ScheduleConfig {
  /** Peak learning rate (reached at the end of warm-up). Default 1e-3. */
  learningRate?: number;
  /** Shape after warm-up: "constant" (default), "cosine" or "linear" decay. */
  decay?: "constant" | "cosine" | "linear";
  /** Steps of linear warm-up from peak/warmupSteps to the peak. Default 0. */
  warmupSteps?: number;
  /** Rate at the end of decay as a fraction of the peak. Default 0. */
  finalFraction?: number;
}

export const DEFAULT_LEARNING_RATE = 1e-3;

/**
 * Learning rate for `step` (0-based) of `totalSteps`.
 * Warm-up: step s < W gives peak × (s + 1) / W, so the first update is already non-zero and step W − 1 hits the peak.
 * Decay: with progress p = (s − W) / (totalSteps − W) ∈ [0, 1), cosine gives final + (peak − final)(1 + cos πp)/2 and
 * linear gives peak − (peak − final)·p, where final = finalFraction × peak.
 */
export function learningRateAt(step: number, totalSteps: number, config: ScheduleConfig = {}): number {
  const { learningRate: peak = DEFAULT_LEARNING_RATE, decay = "constant", warmupSteps = 0, finalFraction = 0 } = config;
  if (!(peak > 0)) throw new Error(`schedule: learningRate must be > 0, got ${peak}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0)
    throw new Error(`schedule: warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  if (!(finalFraction >= 0 && finalFraction <= 1))
    throw new Error(`schedule: finalFraction must be in [0, 1], got ${finalFraction}`);
  if (!Number.isInteger(step) || step < 0) throw new Error(`schedule: step must be an integer >= 0, got ${step}`);

  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const decaySteps = totalSteps - warmupSteps;
  if (decay === "constant" || decaySteps <= 0) return peak;
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  const final = finalFraction * peak;
  if (decay === "cosine") return final + ((peak - final) * (1 + Math.cos(Math.PI * progress))) / 2;
  return peak - (peak - final) * progress;
}
