// Training in one import: `fit` (the loop: schedule, clipping, early stopping, data-parallel workers), its config
// and results, the progress reporters, and the optimizer pieces it is built from.
export { fit, type EarlyStoppingConfig, type FitConfig } from "./fit";
export type { EpochRecord, FitResult } from "./types";
export { type ScheduleConfig, DEFAULT_LEARNING_RATE, learningRateAt } from "./schedule";
export {
  type ProgressMode,
  type ProgressReporter,
  type StepStatus,
  BarProgress,
  LineProgress,
  createProgress,
  formatEpochLine,
} from "./progress";
export { type UpdateConfig, trainableVariables, trainingLoss } from "./step";
export { adam } from "./adam";
export { type DataParallelTrainer, defaultWorkers, startDataParallel } from "./parallel/trainer";
