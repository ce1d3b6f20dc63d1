// CORE (Hou et al., SIGIR 2022, "CORE: Simple and Effective Session-based Recommendation within Consistent
// Representation Space"; RUCAIBox/CORE core_trm.py, core_ave.py): the session vector lives in the item-embedding
// space — an attention-weighted sum Σ_j α_j x_j of the session's own item embeddings x (dropped out when training),
// α uniform (CORE-ave) or from causal Transformer blocks, a linear map to one score per position and a softmax over
// the real positions (CORE-trm) — and it is scored by cosine against the same (tied) item table, divided by a
// temperature τ = 0.07: full softmax cross-entropy over the catalogue (the model's `headDefaults`).
//   inputBlock         item embeddings x                             [batch, seqLen, itemDim]
//   globalNeighbours   (with `globalNeighbours`) x plus GCE-GNN's aggregate of each item's neighbours in the training
//                      sessions' item graph (./neighbours.ts)      [batch, seqLen, itemDim]
//   consistentPooling  Σ_j α_tj x_j over the real positions j <= t   [batch, seqLen, itemDim]  ("sequence")
// One state per position, the prefix 0..t's session vector (CORE's Transformer is causal, so this is exactly CORE's
// vector of that prefix, which RecBole trains on by augmenting every session into its prefixes); output "pooled"
// gives one per session instead (trained on the last item of every prefix).
// Deviations (see blocks.ts `buildConsistentPooling`): pre-LN Transformer blocks, no dropout of the item table.
import { type BlockSpec, composeModel, consistentPooling, globalNeighbours, inputBlock } from "./blocks";
import { type InputConfig, type ModelSchema, sideColumns } from "./inputs";
import type { SessionModel } from "./model";

export interface CoreConfig {
  /** Input features: the item embeddings only by default (CORE reads item ids only); no projection, so that the
   *  session vector stays in the item table's space. */
  inputs?: Omit<InputConfig, "projection" | "maskToken">;
  /** "transformer" (CORE-trm) or "uniform" (CORE-ave). Default "transformer". */
  weights?: "uniform" | "transformer";
  /** Attention heads of the Transformer blocks; must divide the item dimension. Default 2 (CORE's). */
  heads?: number;
  /** Transformer blocks. Default 2 (CORE's). */
  layers?: number;
  /** Feed-forward hidden width. Default 256 (CORE's inner_size). */
  ffnDim?: number;
  /** Dropout inside the Transformer blocks when training. Default 0.5 (CORE's hidden/attn dropout). */
  dropout?: number;
  /** Dropout on the input item embeddings when training (CORE's sess_dropout). Default 0.2. */
  inputDropout?: number;
  /** Temperature τ of the cosine logits (the head's default). Default 0.07 (CORE's). */
  temperature?: number;
  /** "sequence" (a session vector per prefix, trained at every position) or "pooled". Default "sequence". */
  output?: "sequence" | "pooled";
  /** GCE-GNN's global item graph before the pooling: each item's `neighbours` (default 12) most frequent neighbours
   *  within `window` (default 3) clicks in the training sessions, aggregated by session-aware attention and added to
   *  its embedding, with `dropout` (default 0) on the aggregate; false: none. Default false. */
  globalNeighbours?: { neighbours?: number; window?: number; dropout?: number } | false;
  /** Seed of the initial weights and dropout masks. Default 1. */
  seed?: number;
}

export type ResolvedCoreConfig = Required<CoreConfig>;

export function resolveCoreConfig(config: CoreConfig = {}): ResolvedCoreConfig {
  return {
    inputs: config.inputs ?? {},
    weights: config.weights ?? "transformer",
    heads: config.heads ?? 2,
    layers: config.layers ?? 2,
    ffnDim: config.ffnDim ?? 256,
    dropout: config.dropout ?? 0.5,
    inputDropout: config.inputDropout ?? 0.2,
    temperature: config.temperature ?? 0.07,
    output: config.output ?? "sequence",
    globalNeighbours: config.globalNeighbours ?? false,
    seed: config.seed ?? 1,
  };
}

export function createCoreModel(schema: ModelSchema, config: CoreConfig = {}): SessionModel<ResolvedCoreConfig> {
  const c = resolveCoreConfig(config);
  if (!(c.temperature > 0)) throw new Error(`core: temperature must be > 0, got ${c.temperature}`);
  // Only the item column unless the config says otherwise: side features would leave the item space.
  const exclude = c.inputs.exclude ?? sideColumns(schema);
  const blocks: BlockSpec[] = [
    inputBlock({ ...c.inputs, exclude }),
    ...(c.globalNeighbours === false ? [] : [globalNeighbours(c.globalNeighbours)]),
    consistentPooling({
      weights: c.weights,
      inputDropout: c.inputDropout,
      transformer: { heads: c.heads, layers: c.layers, ffnDim: c.ffnDim, dropout: c.dropout },
      output: c.output,
    }),
  ];
  return {
    ...composeModel(schema, blocks, { seed: c.seed }),
    config: c,
    headDefaults: { cosine: true, temperature: c.temperature },
  };
}
