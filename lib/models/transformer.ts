// Transformer next-item model (GPT-style pre-LN encoder): input features projected to d_model, then the
// Transformer blocks of ./blocks.ts (learned positions, N blocks, a final LayerNorm), then an MLP; one state per
// position ("sequence"). Causal, the state at t depends on events 0..t only; causal: false (bidirectional) is for
// masked-item training.
// With `readout: "attention"`, SR-GNN's attention readout (./readout.ts) between the blocks and the MLP.
import { type BlockSpec, composeModel, inputBlock, mlpBlock, readoutBlocks, transformerBlocks } from "./blocks";
import type { InputConfig, ModelSchema } from "./inputs";
import type { Activation } from "./layers";
import type { SessionModel } from "./model";

export interface TransformerConfig {
  /** Input features (their `projection` is always d_model here). */
  inputs?: Omit<InputConfig, "projection">;
  /** Width of the residual stream. Default 64. */
  dModel?: number;
  /** Attention heads; must divide dModel. Default 4. */
  heads?: number;
  /** Blocks. Default 2. */
  layers?: number;
  /** Feed-forward hidden width. Default 4·dModel. */
  ffnDim?: number;
  /** Dropout on embeddings, attention weights and residual branches when training. Default 0.1. */
  dropout?: number;
  /** Attend to earlier positions only (next-item / predict-last training); false for masked-item. Default true. */
  causal?: boolean;
  /** "none" or "attention": SR-GNN's attention readout over the blocks' states, one vector per prefix (causal only).
   *  Default "none". */
  readout?: "none" | "attention";
  /** MLP widths after the blocks (and readout) ([] for none). Default [64]. */
  mlp?: number[];
  /** Activation of the MLP layers. Default "relu". */
  mlpActivation?: Activation;
  /**
   * Multiplies the initial input projection (item embeddings → d_model) by this. SASRec multiplies its item
   * embeddings by √d before adding the positions; here embeddings start at ±0.05 and positions at σ 0.02, so
   * without it the item signal starts barely above the positions and far below what each block adds to the
   * residual stream. Default 1.
   */
  inputInitScale?: number;
  /** Seed of the initial weights and dropout masks. Default 1. */
  seed?: number;
}

export type ResolvedTransformerConfig = Required<TransformerConfig>;

export function resolveTransformerConfig(config: TransformerConfig = {}): ResolvedTransformerConfig {
  const dModel = config.dModel ?? 64;
  return {
    inputs: config.inputs ?? {},
    dModel,
    heads: config.heads ?? 4,
    layers: config.layers ?? 2,
    ffnDim: config.ffnDim ?? 4 * dModel,
    dropout: config.dropout ?? 0.1,
    causal: config.causal ?? true,
    readout: config.readout ?? "none",
    mlp: config.mlp ?? [64],
    mlpActivation: config.mlpActivation ?? "relu",
    inputInitScale: config.inputInitScale ?? 1,
    seed: config.seed ?? 1,
  };
}

export function createTransformerModel(
  schema: ModelSchema,
  config: TransformerConfig = {},
): SessionModel<ResolvedTransformerConfig> {
  const c = resolveTransformerConfig(config);
  if (c.readout !== "none" && !c.causal)
    throw new Error('transformer: readout "attention" reads prefixes, so it needs causal: true');
  const blocks: BlockSpec[] = [
    inputBlock({ ...c.inputs, projection: c.dModel, projectionInitScale: c.inputInitScale }),
    transformerBlocks({ heads: c.heads, layers: c.layers, ffnDim: c.ffnDim, dropout: c.dropout, causal: c.causal }),
    ...readoutBlocks(c.readout),
    mlpBlock({ units: c.mlp, activation: c.mlpActivation }),
  ];
  return { ...composeModel(schema, blocks, { seed: c.seed }), config: c };
}
