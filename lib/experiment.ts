// One training-and-evaluation run on prepared data, shared by the CLI and the notebooks:
// every model and baseline is scored the same way (predict the last item of each validation session), with the
// protocol "last" of lib/evaluate.
import { SessionLoader, type SessionTable } from "./data/loader";
import type { RankingResult } from "./metrics/index";
import { type ModelConfigs, type ModelKind, type ModelSchema, createHeadFor, createModel, createTargetScheme } from "./models/index";
import type { ItemOutputHead } from "./models/outputs";
import type { SessionModel } from "./models/model";
import { evaluateByPrefix } from "./evaluate/every-next";
import { runBaselinesOn, type RunResult } from "./evaluate/run";
import { fit, type FitConfig } from "./train/fit";

export type { RunResult };

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
  /** Data-parallel replicas (fit's `workers`). Default: fit's. */
  workers?: number;
}

/** Metrics of a trained model: the last item of each validation session ranked over the whole catalogue. */
export function evaluateModel(model: SessionModel, head: ItemOutputHead, valid: SessionLoader, ks: readonly number[] = DEFAULT_KS, batchSize = 512): Promise<RankingResult> {
  return evaluateByPrefix(model, head, valid.table, { ks, positions: "last", batchSize });
}

/** A model and its output head as a run trains them. */
export interface ModelAndHead {
  model: SessionModel;
  head: ItemOutputHead;
}

/** The untrained model of `config` for `schema`, with the output head `runModel` trains it with (tied). */
export function createRunModel(config: Pick<ModelRunConfig, "kind" | "model">, schema: ModelSchema): ModelAndHead {
  const model = createModel(config.kind, (config.model ?? {}) as never, schema);
  return { model, head: createHeadFor(model) };
}

/** Trains `model` with `head` on `train` (the settings of `config`) and scores it on `valid` after every epoch. */
export async function trainModel(
  model: SessionModel,
  head: ItemOutputHead,
  config: Omit<ModelRunConfig, "kind" | "model">,
  train: SessionLoader,
  valid: SessionLoader,
): Promise<RunResult & ModelAndHead> {
  const ks = config.ks ?? DEFAULT_KS;
  const scheme = createTargetScheme(config.scheme ?? (model.output === "pooled" ? "last" : "next"));
  const result = await fit(model, head, train, {
    scheme,
    epochs: config.epochs ?? 3,
    batchSize: config.batchSize ?? 512,
    seed: config.seed ?? 42,
    schedule: { learningRate: config.learningRate ?? 0.005 },
    evaluate: async () => (await evaluateModel(model, head, valid, ks)).values,
    progress: config.progress,
    workers: config.workers,
  });
  // Training time without the per-epoch validation, which the baselines do not pay either.
  const trainSeconds = result.history.reduce((sum, epoch) => sum + epoch.seconds, 0);
  const best = result.history[result.bestEpoch - 1];
  return { name: model.kind, metrics: best.metrics, trainSeconds, history: result.history, model, head };
}

/** Creates the model of `config` (`createRunModel`) and trains it (`trainModel`). */
export function runModel(config: ModelRunConfig, train: SessionLoader, valid: SessionLoader): Promise<RunResult & ModelAndHead> {
  const { model, head } = createRunModel(config, train.table.schema);
  return trainModel(model, head, config, train, valid);
}

/** Most-popular, successor counts and V-SKNN fitted on `train`, scored on `valid` like the models. */
export function runBaselines(train: SessionTable, valid: SessionTable, ks: readonly number[] = DEFAULT_KS): RunResult[] {
  return runBaselinesOn({ train, test: valid }, { name: "last", ks });
}
