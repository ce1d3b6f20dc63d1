// Non-neural next-item baselines, evaluated with the same metrics as the models (lib/metrics).
export { type Recommender } from "./recommender";
export { MostPopular } from "./popularity";
export { SuccessorCounts } from "./successor";
export { SessionKnn, type Neighbours, type SessionKnnConfig, type SessionSimilarity } from "./sknn";
export { VSTAN_DEFAULTS, Vstan, type VstanConfig } from "./vstan";
export {
  BASELINE_KINDS,
  type BaselineKind,
  type SavableBaseline,
  createBaseline,
  isBaselineKind,
  restoreBaseline,
} from "./saved";
export { type BaselineState, StateLayoutError } from "./state";
export { BASELINE_REMINDER_BONUSES, RemindingBaseline, baselineReminders } from "./reminders";
export {
  evaluateRecommender,
  evaluateRecommenderUnder,
  type EvaluateRecommenderConfig,
  type NextItemProtocol,
} from "./evaluate";
