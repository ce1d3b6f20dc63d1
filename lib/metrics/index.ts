// Evaluation of next-item recommenders: full-ranking metrics (rank.ts, accumulator.ts) and the sampled
// protocol (sampled.ts). See each module's header for the exact formulas and rules.
export {
  FIRST_CANDIDATE,
  SKIPPED,
  UNRANKED,
  rankOfTarget,
  targetRanks,
  targetRanksAsync,
  topK,
  topKRow,
  type ScoreRows,
  type Targets,
} from "./rank";
export {
  DEFAULT_KS,
  METRIC_NAMES,
  RankingMetrics,
  metricKey,
  type MetricName,
  type RankingMetricsConfig,
  type RankingResult,
} from "./accumulator";
export { RowReminders, distinctCandidates } from "./reminders";
export { SampledRankingMetrics, sampleNegatives, sampledRank, type SampledRankingConfig } from "./sampled";
