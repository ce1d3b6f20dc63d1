// The model registry and the public API of lib/models.
import { type MlpModelConfig, createMlpModel } from "./mlp";
import type { ModelKind, SessionModel } from "./model";
import { type ItemOutputHead, type OutputHeadConfig, createOutputHead } from "./outputs";
import { disposeVariables } from "./init";
import { type RnnConfig, createRnnModel } from "./rnn";
import { type TransformerConfig, createTransformerModel } from "./transformer";
import type { ModelSchema } from "./inputs";
import { type ComposedModelConfig, composeModel, isComposedConfig } from "./blocks";
import { type CoreConfig, createCoreModel } from "./core";
import { type SrGnnConfig, createSrGnnModel } from "./srgnn";

/** The config type of each model kind ("gru"/"lstm" fix the RNN's cell), or the blocks of a composed model. */
export interface ModelConfigs {
  mlp: MlpModelConfig | ComposedModelConfig;
  gru: Omit<RnnConfig, "cell"> | ComposedModelConfig;
  lstm: Omit<RnnConfig, "cell"> | ComposedModelConfig;
  transformer: TransformerConfig | ComposedModelConfig;
  core: CoreConfig | ComposedModelConfig;
  srgnn: SrGnnConfig | ComposedModelConfig;
}

export const MODEL_KINDS: readonly ModelKind[] = ["mlp", "gru", "lstm", "transformer", "core", "srgnn"];

/** A model of `kind` for the dataset `schema`; every config field has a documented default. A composed model's
 *  config (its blocks, from `composeModel`) rebuilds that model, whose blocks must make it a `kind`. */
export function createModel<K extends ModelKind>(kind: K, config: ModelConfigs[K], schema: ModelSchema): SessionModel {
  if (isComposedConfig(config)) {
    const model = composeModel(schema, config.blocks, { seed: config.seed });
    if (model.kind !== kind) {
      disposeVariables(model.variables);
      throw new Error(`createModel: the blocks of this config make a '${model.kind}' model, not a '${kind}'`);
    }
    return model;
  }
  switch (kind) {
    case "mlp":
      return createMlpModel(schema, config as MlpModelConfig);
    case "gru":
    case "lstm":
      return createRnnModel(schema, { ...(config as RnnConfig), cell: kind });
    case "transformer":
      return createTransformerModel(schema, config as TransformerConfig);
    case "core":
      return createCoreModel(schema, config as CoreConfig);
    case "srgnn":
      return createSrGnnModel(schema, config as SrGnnConfig);
    default:
      throw new Error(`createModel: unknown model kind '${kind}', expected one of ${MODEL_KINDS.join(", ")}`);
  }
}

/** The output head for `model`: scores its item catalogue from its states, tied to its item table by default; the
 *  model's `headDefaults` (CORE: cosine, τ 0.07) under `config`. */
export function createHeadFor(model: SessionModel, config: OutputHeadConfig = {}): ItemOutputHead {
  const given = Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)); // a key set to undefined keeps the default
  return createOutputHead(
    { nItems: model.inputs.itemCardinality, hiddenDim: model.dim, itemTable: model.inputs.itemTable },
    { ...model.headDefaults, ...given },
  );
}

/** Frees a trained model and its head: the model's variables, then the head's own (a tied table is the model's). */
export function disposeModel(run: {
  model: Pick<SessionModel, "variables">;
  head: Pick<ItemOutputHead, "dispose">;
}): void {
  run.head.dispose();
  disposeVariables(run.model.variables);
}

export type { BlockInfo, ModelKind, SessionModel } from "./model";
export {
  type BlockSpec,
  type ComposedModelConfig,
  attentionReadout,
  composeModel,
  consistentPooling,
  globalNeighbours,
  inputBlock,
  meanPooling,
  mlpBlock,
  recurrentBlock,
  sessionGraph,
  transformerBlocks,
} from "./blocks";
export { type ModelSummary, type SummaryRow, formatSummary, summarizeModel } from "./summary";
export type { NextItemModel, OutputHead, SessionBatch, TargetScheme, TrainingExample } from "./types";
export {
  type InputBlock,
  type InputConfig,
  type ModelColumnSchema,
  type ModelSchema,
  createInputBlock,
  defaultEmbeddingDim,
} from "./inputs";
export { type MlpModelConfig, createMlpModel } from "./mlp";
export { type RnnCell, type RnnConfig, createRnnModel } from "./rnn";
export { attentionBias } from "./attention";
export { type TransformerConfig, createTransformerModel } from "./transformer";
export { type CoreConfig, createCoreModel } from "./core";
export { type SrGnnConfig, createSrGnnModel } from "./srgnn";
export { type GatedGraphLayer, type SessionGraphs, aliasMatrix, gatedGraphLayer, sessionGraphs } from "./graph";
export { type GlobalNeighboursLayer, type ItemNeighbours, globalNeighboursLayer, itemNeighbours } from "./neighbours";
export {
  type AttentionReadout,
  attentionReadout as createAttentionReadout,
  lastRealState,
  maskedSoftmax,
} from "./readout";
export {
  type ItemOutputHead,
  type OutputHeadConfig,
  type OutputHeadSpec,
  type SampledSoftmaxConfig,
  createOutputHead,
  smoothedCrossEntropy,
} from "./outputs";
export { REMINDER_BONUSES, type SessionItems, HostReminders, addReminders, rowItems } from "./reminders";
export {
  type EvaluationExample,
  type EvaluationInputs,
  type MaskedItemConfig,
  type NamedTargetScheme,
  type SchemeKind,
  causalNext,
  createTargetScheme,
  evaluationExample,
  evaluationInputs,
  maskedItem,
  nextItemStates,
  predictLast,
  selectTargets,
  statesAt,
} from "./targets";
export { type Variables, disposeVariables } from "./init";
