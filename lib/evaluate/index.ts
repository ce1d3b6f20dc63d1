// Evaluation protocols for trained models and baselines on real data, and the runs that use them:
//   (a) "every-next" (GRU4Rec, Hidasi et al. 2016): every click after the first of each test session is predicted
//       from the clicks before it and ranked over the whole catalogue; Recall@k and MRR@k.
//   (b) "sampled-last" (SASRec, Kang & McAuley 2018): the last item of each user is ranked against 100 items drawn
//       uniformly (seeded) from those the user never interacted with; HR@10 and NDCG@10.
// Sampled metrics overstate quality: ranking the target among 101 candidates is far easier than among the whole
// catalogue, the uniform negatives are mostly unpopular items that any popularity-aware model beats, and the
// ordering of models can even flip (Krichene & Rendle 2020). Report them next to full-ranking figures.
export { LengthBucketedBatches, byLength, gatherBatch, prefixTable } from "./batches";
export {
  EVERY_NEXT_KS,
  checkCausal,
  evaluateByPrefix,
  evaluateByPrefixUnder,
  evaluateEveryNext,
  evaluateEveryNextUnder,
  prefixItems,
  rankInChunks,
  type EveryNextConfig,
  type PrefixConfig,
} from "./every-next";
export {
  SAMPLED_KS,
  drawNegatives,
  evaluateRecommenderSampledLast,
  evaluateSampledLast,
  type SampledLastConfig,
} from "./sampled-last";
export {
  GRU4REC_PROTOCOL,
  SASREC_PROTOCOL,
  evaluateModelOn,
  evaluateModelUnder,
  evaluateRecommenderOn,
  headlineMetrics,
  metricLabel,
  PROTOCOL_NAMES,
  protocolKs,
  type Protocol,
  type ProtocolName,
} from "./protocols";
export { RUN_DEFAULTS } from "./defaults";
export {
  createRunBaseline,
  createRunModel,
  defaultBaselines,
  itemCount,
  refitRunModel,
  resolveHead,
  runBaselinesOn,
  runModelOn,
  runScheme,
  trainRunModel,
  type BaselineConfig,
  type BaselineName,
  type ModelAndHead,
  type ModelRunConfig,
  type ProtocolRunResult,
  type RunHeadConfig,
  type RunOptions,
  type RunResult,
  type RunSplits,
  type TrainingConfig,
  type UniformNegatives,
} from "./run";
export {
  GAMES_REFERENCES,
  NOWPLAYING_REFERENCES,
  TMALL_REFERENCES,
  YOOCHOOSE_REFERENCES,
  comparisonChart,
  comparisonTable,
  type ComparedRun,
  type ReferenceFigure,
} from "./compare";
