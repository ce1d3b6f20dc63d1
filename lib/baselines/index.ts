// Non-neural next-item baselines, evaluated with the same metrics as the models (lib/metrics).
export { type Recommender } from "./recommender";
export { MostPopular } from "./popularity";
export { SuccessorCounts } from "./successor";
export { SessionKnn, type Neighbours, type SessionKnnConfig, type SessionSimilarity } from "./sknn";
export { evaluateRecommender, type EvaluateRecommenderConfig, type NextItemProtocol } from "./evaluate";
