// The public blocks every model is composed of, and `composeModel`, which builds a list of them into a model:
//   inputBlock          the schema's features per position           [batch, seqLen, features]
//   meanPooling         their mean over the real positions           [batch, features]
//   mlpBlock            dense layers (per position or per session)   [..., units]
//   recurrentBlock      a GRU or LSTM over the positions             [batch, seqLen, units]
//   transformerBlocks   position embeddings + N causal blocks + norm [batch, seqLen, dModel]
//   attentionReadout    SR-GNN's readout W3 [h_last; Σ α h] (./readout.ts) [batch, seqLen, units] or [batch, units]
//   consistentPooling   CORE's Σ α x over the input embeddings x        [batch, seqLen, dim] or [batch, dim]
//   sessionGraph        SR-GNN's gated graph steps over the session graph (./graph.ts) [batch, seqLen, dim]
//   globalNeighbours    GCE-GNN's global item graph: each item's neighbours added (./neighbours.ts) [batch, seqLen, dim]
// createMlpModel / createRnnModel / createTransformerModel are such lists, so a model composed in a notebook and the
// factory's are one definition. A block is a plain JSON description; `composeModel` creates its variables under the
// block's name, each seeded by (seed, full name), so one list and one seed always give the same weights, and it
// keeps the list as the model's config, from which lib/model-folder rebuilds a saved model.
import * as tf from "@tensorflow/tfjs";
import { attentionBias, selfAttention } from "./attention";
import { ParameterFactory, SeedSequence } from "./init";
import { createInputBlock, type InputBlock, type InputConfig, type ModelSchema } from "./inputs";
import { type Activation, dense, dropout, gelu, l2Penalty, layerNorm, maskedMean, mlpLayers } from "./layers";
import type { BlockInfo, ModelKind, SessionModel } from "./model";
import { aliasMatrix, gatedGraphLayer, sessionGraphs } from "./graph";
import { globalNeighboursLayer, itemNeighbours } from "./neighbours";
import { attentionReadout as createAttentionReadout, maskedSoftmax } from "./readout";
import { type RnnCell, recurrentLayer } from "./recurrent";
import type { SessionBatch } from "./types";

export interface InputBlockSpec extends InputConfig {
  block: "input";
  /** Multiplies the initial projection kernel (needs `projection`). Default 1. */
  projectionInitScale?: number;
}
export interface MeanPoolingSpec {
  block: "meanPooling";
}
export interface MlpBlockSpec {
  block: "mlp";
  /** Width of each layer; [] makes the block the identity. */
  units: number[];
  /** Default "relu". */
  activation?: Activation;
  /** Dropout after each layer when training. Default 0. */
  dropout?: number;
  /** Scope of its variables. Default "mlp". */
  name?: string;
}
export interface RecurrentBlockSpec {
  block: "recurrent";
  cell: RnnCell;
  /** State size. */
  units: number;
  /** Dropout on the layer's outputs when training. Default 0. */
  dropout?: number;
  /** L2 penalty scale on the input and recurrent kernels (the model's `regularization()`). Default 0 (none). */
  l2?: number;
  /** Scope of its variables. Default the cell ("gru" or "lstm"). */
  name?: string;
}
export interface TransformerBlocksSpec {
  block: "transformer";
  /** Attention heads; must divide the input width (d_model). Default 4. */
  heads?: number;
  /** Blocks. Default 2. */
  layers?: number;
  /** Feed-forward hidden width. Default 4·d_model. */
  ffnDim?: number;
  /** Dropout on embeddings, attention weights and residual branches when training. Default 0.1. */
  dropout?: number;
  /** Attend to earlier positions only (next-item / predict-last training); false for masked-item. Default true. */
  causal?: boolean;
  /** Scope of its variables. Default "transformer". */
  name?: string;
}
export interface AttentionReadoutSpec {
  block: "attentionReadout";
  /** Width of the session vector W3 [h_last; s_g]. Default: the input width. */
  units?: number;
  /** "sequence": one vector per position t, the readout of the prefix 0..t (causal; trains on every position);
   *  "pooled": one per session (trains on the last item only). Default "sequence". */
  output?: "sequence" | "pooled";
  /** Scope of its variables. Default "readout". */
  name?: string;
}
export interface ConsistentPoolingSpec {
  block: "consistentPooling";
  /** How the weights α over the positions are made: "uniform" (CORE-ave: the mean of the real positions) or
   *  "transformer" (CORE-trm: causal Transformer blocks over the embeddings, a linear map to one score per position,
   *  a softmax over the real positions). Default "transformer". */
  weights?: "uniform" | "transformer";
  /** Dropout on the input embeddings x when training (CORE's sess_dropout). Default 0.2. */
  inputDropout?: number;
  /** The Transformer blocks of "transformer" weights (always causal). Default CORE's: 2 heads, 2 layers, ffnDim 256,
   *  dropout 0.5. */
  transformer?: Omit<TransformerBlocksSpec, "block" | "causal" | "name">;
  /** "sequence": one vector per position t from the prefix 0..t; "pooled": one per session. Default "sequence". */
  output?: "sequence" | "pooled";
  /** Scope of its variables. Default "core". */
  name?: string;
}
export interface SessionGraphSpec {
  block: "sessionGraph";
  /** Propagation steps of the gated graph layer (one layer, its weights shared by the steps). Default 1 (SR-GNN's). */
  steps?: number;
  /** Scope of its variables. Default "graph". */
  name?: string;
}
export interface GlobalNeighboursSpec {
  block: "globalNeighbours";
  /** Neighbours kept per item. Default 12 (GCE-GNN's sample_num). */
  neighbours?: number;
  /** Clicks at most this many positions apart are neighbours. Default 3 (GCE-GNN's ε). */
  window?: number;
  /** Dropout on the neighbours' aggregate when training. Default 0. */
  dropout?: number;
  /** Scope of its variables. Default "global". */
  name?: string;
}
export type BlockSpec =
  | InputBlockSpec
  | SessionGraphSpec
  | GlobalNeighboursSpec
  | MeanPoolingSpec
  | MlpBlockSpec
  | RecurrentBlockSpec
  | TransformerBlocksSpec
  | AttentionReadoutSpec
  | ConsistentPoolingSpec;

/** The config of a composed model: its blocks, defaults filled in, and its seed. */
export interface ComposedModelConfig {
  seed: number;
  blocks: BlockSpec[];
}

export function isComposedConfig(config: unknown): config is ComposedModelConfig {
  return typeof config === "object" && config !== null && Array.isArray((config as ComposedModelConfig).blocks);
}

/** The schema's columns embedded (or as-is) and concatenated per position, optionally projected. */
export const inputBlock = (config: Omit<InputBlockSpec, "block"> = {}): InputBlockSpec => ({
  block: "input",
  ...config,
});
/** The mean of each session's features over its real positions: one state per session. */
export const meanPooling = (): MeanPoolingSpec => ({ block: "meanPooling" });
export const mlpBlock = (config: Omit<MlpBlockSpec, "block">): MlpBlockSpec => ({ block: "mlp", ...config });
export const recurrentBlock = (config: Omit<RecurrentBlockSpec, "block">): RecurrentBlockSpec => ({
  block: "recurrent",
  ...config,
});
/** Pre-LN Transformer blocks (GPT-style) over the input's width: learned position embeddings, then N times
 *  x += Dropout(SelfAttention(LayerNorm(x))); x += Dropout(W2·GELU(W1·LayerNorm(x))), then a final LayerNorm.
 *  Attention never reaches padded keys and, when causal, never later ones. */
export const transformerBlocks = (config: Omit<TransformerBlocksSpec, "block"> = {}): TransformerBlocksSpec => ({
  block: "transformer",
  ...config,
});
/** SR-GNN's attention readout over the states of the block before (a recurrent or Transformer block): per session
 *  (or per prefix) W3 [h_last; Σ_j α_j h_j], α a softmax over the real positions of qᵀσ(W1 h_last + W2 h_j + c). */
export const attentionReadout = (config: Omit<AttentionReadoutSpec, "block"> = {}): AttentionReadoutSpec => ({
  block: "attentionReadout",
  ...config,
});
/** CORE's session vector (Hou et al. 2022), in the item-embedding space: Σ_j α_j x_j over the input block's vectors x
 *  (dropped out when training), α uniform or from Transformer blocks. Its model scores by cosine (the head's `cosine`). */
export const consistentPooling = (config: Omit<ConsistentPoolingSpec, "block"> = {}): ConsistentPoolingSpec => ({
  block: "consistentPooling",
  ...config,
});
/** SR-GNN's session graph (Wu et al. 2019): the input vectors of each distinct item of the session (the mean over its
 *  positions) are nodes; `steps` gated graph steps pass messages along the clicks' edges; every position gets its
 *  node's state. A position's state depends on the whole session (clicks after it too), so the model must pool: it
 *  needs a pooled block after it (SR-GNN: `attentionReadout({ output: "pooled" })`) and trains on every prefix. */
export const sessionGraph = (config: Omit<SessionGraphSpec, "block"> = {}): SessionGraphSpec => ({
  block: "sessionGraph",
  ...config,
});

/** GCE-GNN's global item graph (Wang et al. 2020): `fit` counts which items are clicked near each other in the training
 *  sessions and keeps each item's most frequent neighbours (buffers saved with the weights); each position gets its
 *  item's input vector plus a session-aware attention-weighted sum of its neighbours' embeddings. Right after an
 *  inputBlock of item embeddings only (the sum lives in the item table's space). */
export const globalNeighbours = (config: Omit<GlobalNeighboursSpec, "block"> = {}): GlobalNeighboursSpec => ({
  block: "globalNeighbours",
  ...config,
});

/** The blocks of a model config's `readout` ("none" or "attention"), shared by the GRU/LSTM and the Transformer. */
export function readoutBlocks(readout: "none" | "attention"): BlockSpec[] {
  if (readout === "none") return [];
  if (readout === "attention") return [attentionReadout()];
  throw new Error(`readout must be "none" or "attention", got '${readout as string}'`);
}

interface BuildContext {
  params: ParameterFactory;
  seeds: SeedSequence;
  schema: ModelSchema;
  inputs: InputBlock;
}

/** What a block reads: its input's width and whether it holds one state per position or per session. */
interface Shape {
  dim: number;
  output: "sequence" | "pooled";
}

interface BuiltBlock {
  spec: BlockSpec;
  info: BlockInfo[];
  shape: Shape;
  causal: boolean;
  apply(x: tf.Tensor, batch: SessionBatch, training: boolean): tf.Tensor;
  regularization?: () => tf.Scalar;
  /** Reads what the block needs of the training sessions (the model's `fitSessions`). */
  fitSessions?: (sessions: readonly Int32Array[]) => void;
}

function fail(index: number, spec: BlockSpec, message: string): never {
  throw new Error(`composeModel: block ${index} (${spec.block}): ${message}`);
}

function buildBlock(
  ctx: BuildContext,
  spec: BlockSpec,
  input: Shape,
  index: number,
  previous: BlockSpec["block"],
): BuiltBlock {
  const sequenceOnly = () =>
    input.output === "sequence" ||
    fail(index, spec, "needs one state per position, but an earlier block pooled the session");
  switch (spec.block) {
    case "meanPooling": {
      sequenceOnly();
      const shape: Shape = { dim: input.dim, output: "pooled" };
      return {
        spec,
        info: [{ name: "meanPooling", type: "MeanPooling", ...shape }],
        shape,
        causal: true,
        apply: (x, batch) => maskedMean(x as tf.Tensor3D, batch.mask),
      };
    }
    case "mlp": {
      const resolved: MlpBlockSpec = {
        block: "mlp",
        units: spec.units,
        activation: spec.activation ?? "relu",
        dropout: spec.dropout ?? 0,
        name: spec.name ?? "mlp",
      };
      const layers = mlpLayers(ctx.params, resolved.name!, input.dim, resolved, ctx.seeds);
      const shape: Shape = { dim: layers.outDim, output: input.output };
      return {
        spec: resolved,
        info: [{ name: resolved.name!, type: "MLP", ...shape }],
        shape,
        causal: true,
        apply: (x, _batch, training) => layers.apply(x, training),
      };
    }
    case "recurrent": {
      sequenceOnly();
      const resolved: RecurrentBlockSpec = {
        block: "recurrent",
        cell: spec.cell,
        units: spec.units,
        dropout: spec.dropout ?? 0,
        l2: spec.l2 ?? 0,
        name: spec.name ?? spec.cell,
      };
      if (resolved.cell !== "gru" && resolved.cell !== "lstm")
        fail(index, spec, `cell must be "gru" or "lstm", got '${resolved.cell}'`);
      const rnn = recurrentLayer(ctx.params, resolved.name!, resolved.cell, input.dim, resolved.units);
      const shape: Shape = { dim: resolved.units, output: "sequence" };
      return {
        spec: resolved,
        info: [{ name: resolved.name!, type: resolved.cell.toUpperCase(), ...shape }],
        shape,
        causal: true,
        apply: (x, batch, training) =>
          dropout(rnn.apply(x as tf.Tensor3D, batch.mask), resolved.dropout!, training, ctx.seeds),
        regularization: resolved.l2! > 0 ? () => l2Penalty(rnn.kernels, resolved.l2!) : undefined,
      };
    }
    case "transformer":
      sequenceOnly();
      return buildTransformerBlocks(ctx, spec, input.dim);
    case "attentionReadout": {
      sequenceOnly();
      const resolved: Required<AttentionReadoutSpec> = {
        block: "attentionReadout",
        units: spec.units ?? input.dim,
        output: spec.output ?? "sequence",
        name: spec.name ?? "readout",
      };
      positiveInteger(index, spec, "units", resolved.units);
      if (resolved.output !== "sequence" && resolved.output !== "pooled")
        fail(index, spec, `output must be "sequence" or "pooled", got '${resolved.output}'`);
      const readout = createAttentionReadout(ctx.params, resolved.name, input.dim, resolved.units);
      const shape: Shape = { dim: resolved.units, output: resolved.output };
      return {
        spec: resolved,
        info: [{ name: resolved.name, type: "AttentionReadout", ...shape }],
        shape,
        causal: true,
        apply: (x, batch) => readout.apply(x as tf.Tensor3D, batch.mask, resolved.output),
      };
    }
    case "consistentPooling":
      sequenceOnly();
      if (index !== 1 && !(index === 2 && previous === "globalNeighbours"))
        fail(
          index,
          spec,
          "pools the input block's vectors, so it must come right after inputBlock (or globalNeighbours)",
        );
      return buildConsistentPooling(ctx, spec, input.dim, index);
    case "globalNeighbours": {
      const resolved: Required<GlobalNeighboursSpec> = {
        block: "globalNeighbours",
        neighbours: spec.neighbours ?? 12,
        window: spec.window ?? 3,
        dropout: spec.dropout ?? 0,
        name: spec.name ?? "global",
      };
      if (index !== 1) fail(index, spec, "reads the item embeddings, so it must come right after inputBlock");
      if (ctx.inputs.maskId !== null)
        fail(index, spec, "the MASK token has no neighbours: masked-item models cannot use it");
      if (input.dim !== ctx.inputs.itemDim)
        fail(
          index,
          spec,
          `adds item embeddings to the input vectors, so the input block must give the item embeddings only (width ${ctx.inputs.itemDim}), got width ${input.dim}: exclude the side columns, no projection`,
        );
      positiveInteger(index, spec, "neighbours", resolved.neighbours);
      positiveInteger(index, spec, "window", resolved.window);
      if (!(resolved.dropout >= 0 && resolved.dropout < 1))
        fail(index, spec, `dropout must be in [0, 1), got ${resolved.dropout}`);
      const { itemCardinality, itemTable } = ctx.inputs;
      const layer = globalNeighboursLayer(ctx.params, resolved.name, itemCardinality, input.dim, resolved.neighbours);
      const shape: Shape = { dim: input.dim, output: "sequence" };
      return {
        spec: resolved,
        info: [{ name: resolved.name, type: "GlobalNeighbours", ...shape }],
        shape,
        causal: true,
        apply: (x, batch, training) =>
          layer.apply(x as tf.Tensor3D, batch.items, batch.mask, itemTable, resolved.dropout, training, ctx.seeds),
        fitSessions: (sessions) =>
          layer.setGraph(
            itemNeighbours(sessions, itemCardinality, { neighbours: resolved.neighbours, window: resolved.window }),
          ),
      };
    }
    case "sessionGraph": {
      sequenceOnly();
      const resolved: Required<SessionGraphSpec> = {
        block: "sessionGraph",
        steps: spec.steps ?? 1,
        name: spec.name ?? "graph",
      };
      positiveInteger(index, spec, "steps", resolved.steps);
      const layer = gatedGraphLayer(ctx.params, resolved.name, input.dim);
      const shape: Shape = { dim: input.dim, output: "sequence" };
      return {
        spec: resolved,
        info: [{ name: resolved.name, type: "GatedGraph", ...shape }],
        shape,
        causal: false,
        apply: (x, batch) =>
          tf.tidy(() => {
            const [batchSize, seqLen] = batch.mask.shape;
            const graphs = sessionGraphs(
              Int32Array.from(batch.items.dataSync()),
              Float32Array.from(batch.mask.dataSync()),
              batchSize,
              seqLen,
            );
            const n = graphs.nodes;
            const alias = aliasMatrix(graphs); // [b, L, n]
            const clicks = tf.maximum(tf.sum(alias, 1), 1); // [b, n]: positions per node
            let nodes = tf.div(tf.matMul(alias, x as tf.Tensor3D, true), tf.expandDims(clicks, 2)) as tf.Tensor3D; // [b, n, d]
            const inbound = tf.tensor3d(graphs.inbound, [batchSize, n, n]);
            const outbound = tf.tensor3d(graphs.outbound, [batchSize, n, n]);
            for (let step = 0; step < resolved.steps; step++) nodes = layer.apply(nodes, inbound, outbound);
            return tf.matMul(alias, nodes); // [b, L, d]: each position its node's state
          }),
      };
    }
    case "input":
      return fail(index, spec, "only the first block may be the input block");
    default:
      throw new Error(
        `composeModel: block ${index}: unknown block '${(spec as { block: unknown }).block}', expected input, meanPooling, mlp, recurrent, transformer, attentionReadout, consistentPooling or sessionGraph`,
      );
  }
}

function positiveInteger(index: number, spec: BlockSpec, what: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) fail(index, spec, `${what} must be a positive integer, got ${value}`);
}

/** CORE (RUCAIBox/CORE core_trm.py / core_ave.py): x = Dropout(input vectors) [b, L, d]; α from the causal
 *  Transformer's per-position score (or uniform), softmax over the real positions j (<= t per prefix); Σ_j α_j x_j.
 *  Deviations: our pre-LN Transformer blocks (CORE's RecBole encoder is post-LN, with a LayerNorm on the input); the
 *  item table is not dropped out in the loss (CORE's item_dropout), since the head is shared by every model. */
function buildConsistentPooling(
  ctx: BuildContext,
  spec: ConsistentPoolingSpec,
  dim: number,
  index: number,
): BuiltBlock {
  const name = spec.name ?? "core";
  const weighting = spec.weights ?? "transformer";
  const output = spec.output ?? "sequence";
  if (weighting !== "uniform" && weighting !== "transformer")
    fail(index, spec, `weights must be "uniform" or "transformer", got '${weighting}'`);
  if (output !== "sequence" && output !== "pooled")
    fail(index, spec, `output must be "sequence" or "pooled", got '${output}'`);
  const inputDropout = spec.inputDropout ?? 0.2;
  const scope = ctx.params.scope(name);
  let transformer: BuiltBlock | null = null;
  let scoreLayer: ((x: tf.Tensor) => tf.Tensor) | null = null;
  let transformerSpec: ConsistentPoolingSpec["transformer"] = undefined;
  if (weighting === "transformer") {
    const t = spec.transformer ?? {};
    transformer = buildTransformerBlocks(
      { ...ctx, params: scope },
      {
        block: "transformer",
        heads: t.heads ?? 2,
        layers: t.layers ?? 2,
        ffnDim: t.ffnDim ?? 256,
        dropout: t.dropout ?? 0.5,
        causal: true,
        name: "transformer",
      },
      dim,
    );
    const {
      block: _b,
      causal: _c,
      name: _n,
      ...resolvedTransformer
    } = transformer.spec as Required<TransformerBlocksSpec>;
    transformerSpec = resolvedTransformer;
    // CORE's fn: a dense layer to one unit (`score.kernel` [dim, 1], `score.bias` [1]), computed as a product and a sum
    // over the last axis (the values of a matmul by the one-column kernel, without reshaping to 2-D and back).
    const score = scope.scope("score");
    const kernel = score.glorotUniform("kernel", [dim, 1]);
    const bias = score.constant("bias", [1], 0);
    scoreLayer = (x) => tf.add(tf.sum(tf.mul(x, tf.reshape(kernel, [dim])), -1), bias); // [b, L, dim] → [b, L]
  }
  const resolved: ConsistentPoolingSpec = {
    block: "consistentPooling",
    weights: weighting,
    inputDropout,
    ...(transformerSpec ? { transformer: transformerSpec } : {}),
    output,
    name,
  };
  const shape: Shape = { dim, output };
  return {
    spec: resolved,
    // Summary rows: the Transformer's, the score, then the pooling ("<name>.pooling" owns no variables, so that no
    // row counts another's); CORE-ave is one row.
    info:
      transformer === null
        ? [{ name, type: "ConsistentPooling, uniform", ...shape }]
        : [
            ...transformer.info.map((i) => ({ ...i, name: `${name}.${i.name}` })),
            { name: `${name}.score`, type: "PositionScore", dim: 1, output: "sequence" as const },
            { name: `${name}.pooling`, type: "ConsistentPooling", ...shape },
          ],
    shape,
    causal: true,
    apply: (input, batch, training) =>
      tf.tidy(() => {
        const x = dropout(input, inputDropout, training, ctx.seeds) as tf.Tensor3D; // [b, L, d]
        const [batchSize, seqLen] = batch.mask.shape;
        const e = // one score per position [b, L]
          transformer === null || scoreLayer === null
            ? tf.zeros([batchSize, seqLen])
            : scoreLayer(transformer.apply(x, batch, training));
        if (output === "pooled") return tf.sum(tf.mul(tf.expandDims(maskedSoftmax(e, batch.mask, "pooled"), 2), x), 1); // [b, d]
        return tf.matMul(maskedSoftmax(tf.expandDims(e, 1), batch.mask, "sequence") as tf.Tensor3D, x); // [b, L, d]
      }),
  };
}

function buildTransformerBlocks(ctx: BuildContext, spec: TransformerBlocksSpec, dModel: number): BuiltBlock {
  const resolved: Required<TransformerBlocksSpec> = {
    block: "transformer",
    heads: spec.heads ?? 4,
    layers: spec.layers ?? 2,
    ffnDim: spec.ffnDim ?? 4 * dModel,
    dropout: spec.dropout ?? 0.1,
    causal: spec.causal ?? true,
    name: spec.name ?? "transformer",
  };
  const { dropout: rate, name } = resolved;
  const scope = ctx.params.scope(name);
  const maxLength = ctx.schema.maxLength;
  const positions = scope.normal("position", [maxLength, dModel], 0.02); // GPT-2's init
  const blocks = Array.from({ length: resolved.layers }, (_, i) => {
    const block = scope.scope(`block${i}`);
    const ffn = block.scope("ffn");
    const ffnIn = dense(ffn, "in", dModel, resolved.ffnDim);
    const ffnOut = dense(ffn, "out", resolved.ffnDim, dModel);
    return {
      attentionNorm: layerNorm(block, "attentionNorm", dModel),
      attention: selfAttention(block, "attention", dModel, resolved.heads, rate, ctx.seeds),
      ffnNorm: layerNorm(block, "ffnNorm", dModel),
      ffn: (x: tf.Tensor) => ffnOut.apply(gelu(ffnIn.apply(x))),
    };
  });
  const finalNorm = layerNorm(scope, "finalNorm", dModel);
  const shape: Shape = { dim: dModel, output: "sequence" };
  return {
    spec: resolved,
    info: [
      { name: `${name}.position`, type: "PositionEmbedding", ...shape },
      ...blocks.map((_, i) => ({
        name: `${name}.block${i}`,
        type: resolved.causal ? "TransformerBlock, causal" : "TransformerBlock",
        ...shape,
      })),
      { name: `${name}.finalNorm`, type: "LayerNorm", ...shape },
    ],
    shape,
    causal: resolved.causal,
    apply: (input, batch, training) =>
      tf.tidy(() => {
        const seqLen = batch.items.shape[1];
        if (seqLen > maxLength)
          throw new Error(`transformer: batch seqLen ${seqLen} exceeds the schema's maxLength ${maxLength}`);
        const bias = attentionBias(batch.mask, resolved.causal);
        let x = tf.add(input, tf.slice(positions, [0, 0], [seqLen, dModel])) as tf.Tensor3D; // [b, L, dModel]
        x = dropout(x, rate, training, ctx.seeds) as tf.Tensor3D;
        for (const block of blocks) {
          x = tf.add(
            x,
            dropout(
              block.attention.apply(block.attentionNorm(x) as tf.Tensor3D, bias, training),
              rate,
              training,
              ctx.seeds,
            ),
          ) as tf.Tensor3D;
          x = tf.add(x, dropout(block.ffn(block.ffnNorm(x)), rate, training, ctx.seeds)) as tf.Tensor3D;
        }
        return finalNorm(x);
      }),
  };
}

/** The kind a block list is: "core" with CORE's pooling, "srgnn" with a session graph, "transformer" with Transformer
 *  blocks, else the recurrent cell, else "mlp". */
function kindOf(blocks: readonly BlockSpec[]): ModelKind {
  if (blocks.some((b) => b.block === "consistentPooling")) return "core";
  if (blocks.some((b) => b.block === "sessionGraph")) return "srgnn";
  if (blocks.some((b) => b.block === "transformer")) return "transformer";
  const recurrent = blocks.find((b): b is RecurrentBlockSpec => b.block === "recurrent");
  return recurrent?.cell ?? "mlp";
}

/**
 * A model of the blocks `blocks` (the first one `inputBlock`) for `schema`; its config is the list with every default
 * filled in, plus the seed of its weights and dropout masks (default 1).
 */
export function composeModel(
  schema: ModelSchema,
  blocks: readonly BlockSpec[],
  options: { seed?: number } = {},
): SessionModel<ComposedModelConfig> {
  const seed = options.seed ?? 1;
  const [first, ...rest] = blocks;
  if (first?.block !== "input") {
    throw new Error(
      `composeModel: the first block must be inputBlock(...), which turns a batch into features; got ${first === undefined ? "no blocks" : `'${first.block}'`}`,
    );
  }
  const params = new ParameterFactory(seed);
  const { block: _input, projectionInitScale = 1, ...inputConfig } = first;
  const inputs = createInputBlock(params.scope("input"), schema, inputConfig);
  const ctx: BuildContext = { params, seeds: new SeedSequence(seed), schema, inputs };
  if (projectionInitScale !== 1) {
    const kernel = ctx.params.variables["input.projection.kernel"];
    if (kernel === undefined) throw new Error("composeModel: inputBlock's projectionInitScale needs a projection");
    if (!(Number.isFinite(projectionInitScale) && projectionInitScale > 0))
      throw new Error(
        `composeModel: inputBlock projectionInitScale (the Transformer's inputInitScale) must be a number > 0, got ${projectionInitScale}`,
      );
    tf.tidy(() => kernel.assign(tf.mul(kernel, projectionInitScale)));
  }
  let shape: Shape = { dim: inputs.dim, output: "sequence" };
  const built = rest.map((spec, i) => {
    const block = buildBlock(ctx, spec, shape, i + 1, blocks[i].block);
    shape = block.shape;
    return block;
  });
  if (built.some((b) => b.spec.block === "sessionGraph") && shape.output !== "pooled")
    throw new Error(
      'composeModel: a sessionGraph block sees the whole session at every position, so a pooled block must follow it (attentionReadout({ output: "pooled" }) or meanPooling)',
    );
  const penalties = built.flatMap((b) => (b.regularization === undefined ? [] : [b.regularization]));
  const readers = built.flatMap((b) => (b.fitSessions === undefined ? [] : [b.fitSessions]));
  const kind = kindOf(blocks);
  return {
    kind,
    name: kind,
    output: shape.output,
    dim: shape.dim,
    causal: built.every((b) => b.causal),
    config: { seed, blocks: [{ ...first, projectionInitScale }, ...built.map((b) => b.spec)] },
    blocks: [
      { name: "input", type: "InputBlock", dim: inputs.dim, output: "sequence" },
      ...built.flatMap((b) => b.info),
    ],
    inputs,
    variables: ctx.params.variables,
    encode: (batch, training) =>
      tf.tidy(() => built.reduce((x: tf.Tensor, block) => block.apply(x, batch, training), inputs.apply(batch))),
    regularization:
      penalties.length === 0 ? undefined : () => tf.tidy(() => tf.addN(penalties.map((p) => p())) as tf.Scalar),
    fitSessions: readers.length === 0 ? undefined : (sessions) => readers.forEach((read) => read(sessions)),
    // CORE scores by cosine with CORE's temperature (core.ts sets its configured one).
    headDefaults: kind === "core" ? { cosine: true, temperature: 0.07 } : undefined,
  };
}
