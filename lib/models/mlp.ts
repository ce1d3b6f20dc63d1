// MLP next-item model: the mean of each session's per-position features (real events only; context features are
// repeated at every position, so their mean is their value), then an MLP. One state per session ("pooled"):
// it predicts the item after the last event and trains only with predictLast.
import * as tf from "@tensorflow/tfjs";
import { ParameterFactory, SeedSequence } from "./init";
import { createInputBlock, type InputConfig, type ModelSchema } from "./inputs";
import { type Activation, mlpBlock } from "./layers";
import type { SessionModel } from "./model";

export interface MlpModelConfig {
  inputs?: InputConfig;
  /** Hidden layer widths after pooling. Default [128, 64]. */
  layers?: number[];
  /** Default "relu". */
  activation?: Activation;
  /** Dropout after each layer when training. Default 0. */
  dropout?: number;
  /** Seed of the initial weights and dropout masks. Default 1. */
  seed?: number;
}

export type ResolvedMlpModelConfig = Required<MlpModelConfig>;

export function resolveMlpConfig(config: MlpModelConfig = {}): ResolvedMlpModelConfig {
  return {
    inputs: config.inputs ?? {},
    layers: config.layers ?? [128, 64],
    activation: config.activation ?? "relu",
    dropout: config.dropout ?? 0,
    seed: config.seed ?? 1,
  };
}

/** Mean over real positions: features [batch, seqLen, d], mask [batch, seqLen] → [batch, d] (0 for an empty session). */
export function maskedMean(features: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const weights = tf.expandDims(mask, 2); // [b, L, 1]
    const counts = tf.maximum(tf.sum(weights, 1), 1); // [b, 1]
    return tf.div(tf.sum(tf.mul(features, weights), 1), counts) as tf.Tensor2D;
  });
}

export function createMlpModel(schema: ModelSchema, config: MlpModelConfig = {}): SessionModel<ResolvedMlpModelConfig> {
  const resolved = resolveMlpConfig(config);
  const params = new ParameterFactory(resolved.seed);
  const seeds = new SeedSequence(resolved.seed);
  const inputs = createInputBlock(params.scope("input"), schema, resolved.inputs);
  const mlp = mlpBlock(params, "mlp", inputs.dim, { units: resolved.layers, activation: resolved.activation, dropout: resolved.dropout }, seeds);
  return {
    kind: "mlp",
    name: "mlp",
    output: "pooled",
    dim: mlp.outDim,
    config: resolved,
    inputs,
    variables: params.variables,
    encode: (batch, training) => tf.tidy(() => mlp.apply(maskedMean(inputs.apply(batch), batch.mask), training)),
  };
}
