// One training-and-evaluation run on prepared data, shared by the CLI and the notebooks:
// every model and baseline is scored the same way (predict the last item of each validation session).
import * as tf from "@tensorflow/tfjs";
import { MostPopular, SessionKnn, SuccessorCounts, evaluateRecommender, type Recommender } from "./baselines/index";
import { SessionLoader, disposeBatch, type SessionTable } from "./loader";
import { RankingMetrics, type RankingResult } from "./metrics/index";
import { hostRows } from "./metrics/rank";
import { type ModelConfigs, type ModelKind, createHeadFor, createModel, createTargetScheme, evaluationExample, nextItemStates } from "./models/index";
import type { ItemOutputHead } from "./models/outputs";
import type { SessionModel } from "./models/model";
import { fit, type FitConfig } from "./train/fit";
import type { EpochRecord } from "./train/types";

export const DEFAULT_KS = [4, 10] as const;

export interface ModelRunConfig<K extends ModelKind = ModelKind> {
  kind: K;
  model?: ModelConfigs[K];
  /** "last" for the MLP (it pools the session); "next" (causal) by default for sequence models. */
  scheme?: "last" | "next";
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  ks?: readonly number[];
  progress?: FitConfig["progress"];
}

export interface RunResult {
  name: string;
  metrics: Record<string, number>;
  trainSeconds: number;
  history?: EpochRecord[];
}

/** Item sequences of a split as arrays (oldest first), for the baselines. */
export function sessionsOf(table: SessionTable): Int32Array[] {
  const out: Int32Array[] = [];
  for (let s = 0; s < table.numSessions; s++) {
    const start = s * table.maxLength;
    out.push(table.items.subarray(start, start + table.lengths[s]));
  }
  return out;
}

/**
 * Backends whose tensors already live in host memory. There, ranking the score rows in plain JS is ~90× faster
 * than tfjs's broadcast comparisons (wasm: 0.05 s instead of 4 s for [512, 8054]); the ranking rules are the same.
 */
const HOST_RANKING_BACKENDS = new Set(["cpu", "wasm"]);

/** Metrics of a trained model: the last item of each validation session ranked over the whole catalogue. */
export function evaluateModel(model: SessionModel, head: ItemOutputHead, valid: SessionLoader, ks: readonly number[] = DEFAULT_KS, batchSize = 512): RankingResult {
  const metrics = new RankingMetrics({ ks });
  const scheme = { kind: "last" as const, maskId: null };
  for (const batch of valid.batches({ batchSize })) {
    const example = evaluationExample(batch, scheme);
    const scores = tf.tidy(() => head.logits(nextItemStates(model, example)));
    metrics.add(HOST_RANKING_BACKENDS.has(tf.getBackend()) ? hostRows(scores) : scores, example.targets);
    tf.dispose([scores, example as unknown as tf.TensorContainer]);
    disposeBatch(batch);
  }
  return metrics.result();
}

/** Trains one model on `train` and scores it on `valid` after every epoch. */
export async function runModel(config: ModelRunConfig, train: SessionLoader, valid: SessionLoader): Promise<RunResult & { model: SessionModel; head: ItemOutputHead }> {
  const ks = config.ks ?? DEFAULT_KS;
  const model = createModel(config.kind, (config.model ?? {}) as never, train.table.schema);
  const head = createHeadFor(model);
  const scheme = createTargetScheme(config.scheme ?? (model.output === "pooled" ? "last" : "next"));
  const result = await fit(model, head, train, {
    scheme,
    epochs: config.epochs ?? 3,
    batchSize: config.batchSize ?? 512,
    seed: config.seed ?? 42,
    schedule: { learningRate: config.learningRate ?? 0.005 },
    evaluate: async () => evaluateModel(model, head, valid, ks).values,
    progress: config.progress,
  });
  // Training time without the per-epoch validation, which the baselines do not pay either.
  const trainSeconds = result.history.reduce((sum, epoch) => sum + epoch.seconds, 0);
  const best = result.history[result.bestEpoch - 1];
  return { name: config.kind, metrics: best.metrics, trainSeconds, history: result.history, model, head };
}

/** Most-popular, successor counts and V-SKNN fitted on `train`, scored on `valid` like the models. */
export function runBaselines(train: SessionTable, valid: SessionTable, ks: readonly number[] = DEFAULT_KS): RunResult[] {
  const nItems = train.schema.columns.find((c) => c.name === train.schema.item)?.cardinality;
  if (nItems === undefined) throw new Error(`runBaselines: the schema has no item column '${train.schema.item}'`);
  const trainSessions = sessionsOf(train);
  const validSessions = sessionsOf(valid);
  const baselines: Recommender[] = [new MostPopular(nItems), new SuccessorCounts(nItems), new SessionKnn(nItems)];
  return baselines.map((recommender) => {
    const started = performance.now();
    recommender.fit(trainSessions);
    const trainSeconds = (performance.now() - started) / 1000;
    const { values } = evaluateRecommender(recommender, validSessions, { ks, protocol: "last" });
    return { name: recommender.name, metrics: values, trainSeconds };
  });
}
