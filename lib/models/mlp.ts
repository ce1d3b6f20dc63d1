// MLP next-item model: the mean of each session's per-position features (real events only; context features are
// repeated at every position, so their mean is their value), then an MLP. One state per session ("pooled"):
// it predicts the item after the last event and trains only with predictLast.
import { composeModel, inputBlock, meanPooling, mlpBlock } from "./blocks";
import type { InputConfig, ModelSchema } from "./inputs";
import type { Activation } from "./layers";
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

export function createMlpModel(schema: ModelSchema, config: MlpModelConfig = {}): SessionModel<ResolvedMlpModelConfig> {
  const c = resolveMlpConfig(config);
  const blocks = [
    inputBlock(c.inputs),
    meanPooling(),
    mlpBlock({ units: c.layers, activation: c.activation, dropout: c.dropout }),
  ];
  return { ...composeModel(schema, blocks, { seed: c.seed }), config: c };
}
