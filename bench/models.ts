// Bench models are the library's own (lib/models) on an item-only schema, trained with `fit`'s loss (predict-last by
// default, or causal next-item) and the library's output head (full softmax by default, or sampled): what the
// benchmarks time is what users train.
import * as tf from "@tensorflow/tfjs";
import { SessionLoader, disposeBatch, type SessionTable } from "../lib/data/index";
import {
  MODEL_KINDS,
  createHeadFor,
  createModel,
  createTargetScheme,
  disposeModel,
  evaluationInputs,
  nextItemStates,
  type ModelConfigs,
  type ModelKind,
} from "../lib/models";
import type { SessionBatch } from "../lib/models/index";
import { Random } from "../lib/util/index";
import type { DatasetSchema } from "../lib/data/index";
import { trainableVariables, trainingLoss } from "../lib/train/index";
import { startDataParallel, type DataParallelTrainer } from "../lib/train/index";

export type BenchModelKind = ModelKind;
export const BENCH_MODEL_KINDS: readonly BenchModelKind[] = MODEL_KINDS;

export interface BenchModelConfig {
  /** Catalogue size including padding 0 and OOV 1 (rows of the item embedding and columns of the output). */
  numItems: number;
  /** Item embedding size; also the hidden size of every encoder (GRU/LSTM units, Transformer dModel). */
  dim: number;
  /** Padded session length. */
  seqLen: number;
  /** Shortest session of a synthetic batch (lengths uniform in [minLength, seqLen]). Default 2. */
  minLength?: number;
  /** Layers between the encoder and the head (GRU/LSTM/Transformer). Default: the library's. */
  mlp?: number[];
  /** Dropout rate of the encoder. Default: the library's. */
  dropout?: number;
  /** Logits are divided by this (the head's temperature). Default 1. */
  temperature?: number;
}

/** How a bench model is trained. */
export interface BenchTrainingConfig {
  /** "last": predict each session's last item (every model); "next": every next item (GRU4Rec-style; sequence
   *  models only). Default "last". */
  scheme?: "last" | "next";
  /** Negatives of a popularity-sampled softmax (uniform item popularity here), or null for the full softmax over the
   *  catalogue. Default null. */
  sampledNegatives?: number | null;
}

export interface BenchModel {
  readonly kind: BenchModelKind;
  readonly variables: tf.Variable[];
  /** Training loss of the batch under the configured scheme and head (tied to the item table). */
  loss(batch: SessionBatch): tf.Scalar;
  /** Data-parallel training of this model over `workers` replicas, as `fit`'s `workers` does (Adam, rate 1e-3). */
  startParallel(workers: number): Promise<DataParallelTrainer>;
  /** Inference: the best k items (ids [batch, k]) to follow each session of `batch`. */
  recommend(batch: SessionBatch, k: number): tf.Tensor2D;
  /** Frees the weights. */
  dispose(): void;
}

function itemOnlySchema(config: BenchModelConfig): DatasetSchema {
  return {
    version: 1,
    sessionId: "session_id",
    item: "item_list",
    maxLength: config.seqLen,
    columns: [
      {
        name: "item_list",
        kind: "item",
        list: true,
        dtype: "int32",
        cardinality: config.numItems,
        maxLength: config.seqLen,
      },
    ],
  };
}

function modelConfig(kind: BenchModelKind, config: BenchModelConfig): ModelConfigs[BenchModelKind] {
  const inputs = { itemDim: config.dim };
  const extra = {
    ...(config.mlp === undefined ? {} : { mlp: config.mlp }),
    ...(config.dropout === undefined ? {} : { dropout: config.dropout }),
  };
  switch (kind) {
    case "mlp":
      return { inputs };
    case "gru":
    case "lstm":
      return { inputs, units: config.dim, ...extra };
    case "transformer":
      return { inputs, dModel: config.dim, ...extra };
    case "core":
      return { inputs, ...(config.dropout === undefined ? {} : { dropout: config.dropout }) };
    case "srgnn":
      return { inputs };
  }
}

/** Builds one bench model with fresh weights. */
export function buildBenchModel(
  kind: BenchModelKind,
  config: BenchModelConfig,
  training: BenchTrainingConfig = {},
): BenchModel {
  const model = createModel(kind, modelConfig(kind, config), itemOnlySchema(config));
  const negatives = training.sampledNegatives ?? null;
  const head = createHeadFor(
    model,
    negatives === null
      ? { temperature: config.temperature }
      : {
          temperature: config.temperature,
          sampled: {
            negatives: "popularity",
            numNegatives: negatives,
            itemProbabilities: new Float32Array(config.numItems).fill(1),
          },
        },
  );
  const scheme = createTargetScheme(training.scheme ?? "last");
  const variables = trainableVariables(model, head);
  return {
    kind,
    variables,
    loss: (batch) => trainingLoss(model, head, scheme, batch),
    startParallel: (workers) =>
      startDataParallel({
        model,
        head,
        loader: new SessionLoader(syntheticTable(config, 1)),
        variables,
        workers,
        scheme,
        lengthGroups: 1,
        update: {},
        rate: 1e-3,
      }),
    recommend: (batch, k) => {
      const evaluation = evaluationInputs(batch, scheme);
      const states = nextItemStates(model, evaluation);
      const { values, indices } = head.topK(states, k);
      tf.dispose([values, states, evaluation.positions]);
      disposeBatch(evaluation.inputs);
      return indices;
    },
    dispose: () => {
      disposeModel({ model, head });
    },
  };
}

/** A deterministic batch of right-padded sessions (minLength..seqLen events, minLength default 2) whose last item is a function of the one before. */
export function syntheticBatch(config: BenchModelConfig, batch: number, seed = 7): SessionBatch {
  return new SessionLoader(syntheticTable(config, batch, seed)).batch(Array.from({ length: batch }, (_, row) => row));
}

function syntheticTable(config: BenchModelConfig, batch: number, seed = 7): SessionTable {
  const { numItems, seqLen } = config;
  const random = new Random(seed);
  const items = new Int32Array(batch * seqLen);
  const lengths = new Int32Array(batch);
  for (let row = 0; row < batch; row++) {
    const length = random.int(config.minLength ?? 2, seqLen + 1);
    for (let pos = 0; pos < length - 1; pos++) items[row * seqLen + pos] = random.int(2, numItems);
    const previous = items[row * seqLen + length - 2];
    items[row * seqLen + length - 1] = 2 + (previous % (numItems - 2)); // learnable: the next item follows the last
    lengths[row] = length;
  }
  return {
    schema: itemOnlySchema(config),
    numSessions: batch,
    maxLength: seqLen,
    lengths,
    items,
    categorical: {},
    continuous: {},
    context: {},
  };
}
