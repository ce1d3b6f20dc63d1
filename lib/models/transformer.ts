// Transformer next-item model (GPT-style pre-LN encoder): input features projected to d_model plus learned
// position embeddings, N blocks of
//   x = x + Dropout(MultiHeadSelfAttention(LayerNorm(x)))
//   x = x + Dropout(W2·GELU(W1·LayerNorm(x)))
// a final LayerNorm, then an MLP; one state per position ("sequence").
// Attention never reaches padded positions (key padding mask) and, when causal, never reaches later positions, so
// the state at t depends on events 0..t only; causal: false (bidirectional) is for masked-item training.
import * as tf from "@tensorflow/tfjs";
import { ParameterFactory, SeedSequence } from "./init";
import { createInputBlock, type InputConfig, type ModelSchema } from "./inputs";
import { type Activation, dense, dropout, gelu, layerNorm, mlpBlock } from "./layers";
import type { SessionModel } from "./model";

/** Added to the score of a key that must not be attended; finite so a row with no allowed key stays finite. */
const BLOCKED = -1e9;

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
  /** MLP widths after the blocks ([] for none). Default [64]. */
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
    mlp: config.mlp ?? [64],
    mlpActivation: config.mlpActivation ?? "relu",
    inputInitScale: config.inputInitScale ?? 1,
    seed: config.seed ?? 1,
  };
}

/**
 * Additive attention bias [batch, 1, seqLen, seqLen] (query × key): BLOCKED at padded keys and, when causal, at keys
 * after the query; 0 elsewhere. mask: [batch, seqLen], 1 on real events.
 */
export function attentionBias(mask: tf.Tensor2D, causal: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const [batchSize, seqLen] = mask.shape;
    const paddedKeys = tf.reshape(tf.mul(tf.sub(1, mask), BLOCKED), [batchSize, 1, 1, seqLen]);
    if (!causal) return tf.tile(paddedKeys, [1, 1, seqLen, 1]) as tf.Tensor4D;
    const allowed = tf.linalg.bandPart(tf.ones([seqLen, seqLen]), -1, 0); // [L, L]: 1 where key <= query
    const laterKeys = tf.reshape(tf.mul(tf.sub(1, allowed), BLOCKED), [1, 1, seqLen, seqLen]);
    return tf.add(paddedKeys, laterKeys) as tf.Tensor4D;
  });
}

export interface SelfAttention {
  /** x [batch, seqLen, dModel], bias [batch, 1, seqLen, seqLen] → [batch, seqLen, dModel]. */
  apply(x: tf.Tensor3D, bias: tf.Tensor4D, training: boolean): tf.Tensor3D;
}

/** Multi-head scaled dot-product self-attention (`<name>.query|key|value|output.kernel|bias`). */
export function selfAttention(
  params: ParameterFactory,
  name: string,
  dModel: number,
  heads: number,
  dropoutRate: number,
  seeds: SeedSequence,
): SelfAttention {
  if (!(Number.isInteger(heads) && heads > 0 && dModel % heads === 0)) {
    throw new Error(`self-attention '${name}': heads (${heads}) must be a positive divisor of dModel (${dModel})`);
  }
  const headDim = dModel / heads;
  const scope = params.scope(name);
  const [query, key, value, output] = ["query", "key", "value", "output"].map((n) => dense(scope, n, dModel, dModel));
  return {
    apply: (x, bias, training) =>
      tf.tidy(() => {
        const [batchSize, seqLen] = x.shape;
        // [b, L, dModel] → [b·heads, L, headDim]
        const splitHeads = (t: tf.Tensor): tf.Tensor3D =>
          tf.reshape(tf.transpose(tf.reshape(t, [batchSize, seqLen, heads, headDim]), [0, 2, 1, 3]), [batchSize * heads, seqLen, headDim]);
        const q = splitHeads(query.apply(x));
        const k = splitHeads(key.apply(x));
        const v = splitHeads(value.apply(x));
        const scores = tf.reshape(tf.matMul(q, k, false, true), [batchSize, heads, seqLen, seqLen]); // [b, h, L(query), L(key)]
        const weights = tf.softmax(tf.add(tf.div(scores, Math.sqrt(headDim)), bias)); // softmax over keys
        const attended = tf.matMul(
          tf.reshape(dropout(weights, dropoutRate, training, seeds), [batchSize * heads, seqLen, seqLen]),
          v,
        ); // [b·h, L, headDim]
        const merged = tf.reshape(tf.transpose(tf.reshape(attended, [batchSize, heads, seqLen, headDim]), [0, 2, 1, 3]), [batchSize, seqLen, dModel]);
        return output.apply(merged) as tf.Tensor3D;
      }),
  };
}

function scaleInitialWeights(kernel: tf.Variable, factor: number): void {
  if (!(Number.isFinite(factor) && factor > 0)) throw new Error(`transformer: inputInitScale must be a number > 0, got ${factor}`);
  if (factor !== 1) tf.tidy(() => kernel.assign(tf.mul(kernel, factor)));
}

export function createTransformerModel(schema: ModelSchema, config: TransformerConfig = {}): SessionModel<ResolvedTransformerConfig> {
  const resolved = resolveTransformerConfig(config);
  const { dModel, dropout: rate } = resolved;
  const params = new ParameterFactory(resolved.seed);
  const seeds = new SeedSequence(resolved.seed);
  const inputs = createInputBlock(params.scope("input"), schema, { ...resolved.inputs, projection: dModel });
  scaleInitialWeights(params.variables["input.projection.kernel"], resolved.inputInitScale);
  const transformer = params.scope("transformer");
  const positions = transformer.normal("position", [schema.maxLength, dModel], 0.02); // GPT-2's init
  const blocks = Array.from({ length: resolved.layers }, (_, i) => {
    const block = transformer.scope(`block${i}`);
    const ffn = block.scope("ffn");
    const ffnIn = dense(ffn, "in", dModel, resolved.ffnDim);
    const ffnOut = dense(ffn, "out", resolved.ffnDim, dModel);
    return {
      attentionNorm: layerNorm(block, "attentionNorm", dModel),
      attention: selfAttention(block, "attention", dModel, resolved.heads, rate, seeds),
      ffnNorm: layerNorm(block, "ffnNorm", dModel),
      ffn: (x: tf.Tensor) => ffnOut.apply(gelu(ffnIn.apply(x))),
    };
  });
  const finalNorm = layerNorm(transformer, "finalNorm", dModel);
  const mlp = mlpBlock(params, "mlp", dModel, { units: resolved.mlp, activation: resolved.mlpActivation }, seeds);
  return {
    kind: "transformer",
    name: "transformer",
    output: "sequence",
    dim: mlp.outDim,
    config: resolved,
    inputs,
    variables: params.variables,
    encode: (batch, training) =>
      tf.tidy(() => {
        const seqLen = batch.items.shape[1];
        if (seqLen > schema.maxLength) throw new Error(`transformer: batch seqLen ${seqLen} exceeds the schema's maxLength ${schema.maxLength}`);
        const bias = attentionBias(batch.mask, resolved.causal);
        let x = tf.add(inputs.apply(batch), tf.slice(positions, [0, 0], [seqLen, dModel])) as tf.Tensor3D; // [b, L, dModel]
        x = dropout(x, rate, training, seeds) as tf.Tensor3D;
        for (const block of blocks) {
          x = tf.add(x, dropout(block.attention.apply(block.attentionNorm(x) as tf.Tensor3D, bias, training), rate, training, seeds)) as tf.Tensor3D;
          x = tf.add(x, dropout(block.ffn(block.ffnNorm(x)), rate, training, seeds)) as tf.Tensor3D;
        }
        return mlp.apply(finalNorm(x), training); // [b, L, dim]
      }),
  };
}
