// SR-GNN (Wu et al., AAAI 2019, "Session-based Recommendation with Graph Neural Networks"; CRIPAC-DIG/SR-GNN
// pytorch_code model.py): the session's distinct items are the nodes of a graph whose edges are its consecutive
// clicks; gated graph steps update the nodes; SR-GNN's attention readout makes one session vector of the positions'
// node states, scored against the (tied) item table by a dot product.
//   inputBlock      item embeddings x                                  [batch, seqLen, itemDim]
//   sessionGraph    node states after `steps` gated graph steps, per position (./graph.ts) [batch, seqLen, itemDim]
//   attentionReadout  W3 [h_last; Σ_j α_j h_j], pooled (./readout.ts)   [batch, itemDim]
// A position's state depends on the whole session, so the model is pooled and trains on the last item of every
// prefix of every training session (SR-GNN's own augmentation; the run's `training.prefixes`).
// Deviations: the readout's weights are softmax-normalised (./readout.ts); nodes in order of first click (./graph.ts).
import { attentionReadout, composeModel, inputBlock, sessionGraph } from "./blocks";
import { type InputConfig, type ModelSchema, sideColumns } from "./inputs";
import type { SessionModel } from "./model";

export interface SrGnnConfig {
  /** Input features: the item embeddings only by default (SR-GNN reads item ids only); no projection, so that the
   *  session vector has the item table's width. */
  inputs?: Omit<InputConfig, "projection" | "maskToken">;
  /** Gated graph steps. Default 1 (SR-GNN's). */
  steps?: number;
  /** Seed of the initial weights. Default 1. */
  seed?: number;
}

export type ResolvedSrGnnConfig = Required<SrGnnConfig>;

export function resolveSrGnnConfig(config: SrGnnConfig = {}): ResolvedSrGnnConfig {
  return { inputs: config.inputs ?? {}, steps: config.steps ?? 1, seed: config.seed ?? 1 };
}

export function createSrGnnModel(schema: ModelSchema, config: SrGnnConfig = {}): SessionModel<ResolvedSrGnnConfig> {
  const c = resolveSrGnnConfig(config);
  // Only the item column unless the config says otherwise: a node is an item, whatever its clicks' other features.
  const exclude = c.inputs.exclude ?? sideColumns(schema);
  const blocks = [
    inputBlock({ ...c.inputs, exclude }),
    sessionGraph({ steps: c.steps }),
    attentionReadout({ output: "pooled" }),
  ];
  return { ...composeModel(schema, blocks, { seed: c.seed }), config: c };
}
