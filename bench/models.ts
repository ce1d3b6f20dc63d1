// Bench-only next-item models: just enough of each architecture (MLP, GRU, LSTM, Transformer) to exercise the
// kernels and gradients a backend must provide for training. The real models live in lib/models.
// Sequences are right-padded with id 0, like the loader's batches; each model predicts the item after the last event.
import * as tf from "@tensorflow/tfjs";
import { sparseSoftmaxCrossEntropy } from "../lib/kernels/sparse-softmax-cross-entropy";

export type BenchModelKind = "mlp" | "gru" | "lstm" | "transformer";
export const BENCH_MODEL_KINDS: readonly BenchModelKind[] = ["mlp", "gru", "lstm", "transformer"];

export interface BenchModelConfig {
  /** Catalogue size including padding id 0 (rows of the item embedding and columns of the output). */
  numItems: number;
  /** Item embedding size; also the hidden size of every encoder. */
  dim: number;
  /** Padded session length. */
  seqLen: number;
  /** Attention heads of the Transformer block (must divide `dim`). Default 2. */
  heads?: number;
  /** Dropout rate of the Transformer block. Default 0.1. */
  dropout?: number;
  /** Seed for weight initialisation. Default 1. */
  seed?: number;
}

export interface BenchModel {
  readonly kind: BenchModelKind;
  readonly variables: tf.Variable[];
  /** Mean sparse categorical cross-entropy of the next item. items int32 [batch, seqLen], targets int32 [batch]. */
  loss(items: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar;
  /** Frees the weights (and any constant tensors). */
  dispose(): void;
}

/** Deterministic initialiser: every call draws a fresh seed from the model's seed. */
class Init {
  private next: number;
  constructor(seed: number) {
    this.next = seed * 1000;
  }
  /** Scaled normal weights (scale ≈ 1/sqrt(fanIn)). */
  normal(shape: number[], fanIn: number): tf.Variable {
    return tf.variable(tf.randomNormal(shape, 0, 1 / Math.sqrt(fanIn), "float32", this.next++));
  }
  zeros(shape: number[]): tf.Variable {
    return tf.variable(tf.zeros(shape));
  }
  ones(shape: number[]): tf.Variable {
    return tf.variable(tf.ones(shape));
  }
}

/** Item embedding lookup plus the full-softmax output head shared by every bench model. */
interface ItemIO {
  variables: tf.Variable[];
  /** items int32 [batch, seqLen] → [batch, seqLen, dim]. */
  embed(items: tf.Tensor2D): tf.Tensor3D;
  /** Mean cross-entropy of hidden [batch, dim] against targets int32 [batch] over all items. */
  loss(hidden: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar;
}

function itemIO(init: Init, numItems: number, dim: number): ItemIO {
  const embedding = init.normal([numItems, dim], dim); // [numItems, dim]
  const outWeights = init.normal([dim, numItems], dim); // [dim, numItems]
  const outBias = init.zeros([numItems]);
  return {
    variables: [embedding, outWeights, outBias],
    embed: (items) => tf.gather(embedding, items) as tf.Tensor3D,
    loss: (hidden, targets) => {
      const logits = tf.add(tf.matMul(hidden, outWeights), outBias) as tf.Tensor2D; // [batch, numItems]
      return sparseSoftmaxCrossEntropy(logits, targets);
    },
  };
}

/** 1 on real events, 0 on padding: float32 [batch, seqLen]. */
function realEvents(items: tf.Tensor2D): tf.Tensor2D {
  return tf.cast(tf.notEqual(items, 0), "float32") as tf.Tensor2D;
}

/** Hidden state at each session's last real event: states [batch, seqLen, dim] → [batch, dim]. */
function atLastEvent(states: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  const seqLen = states.shape[1];
  const lastIndex = tf.sub(tf.sum(mask, 1), 1); // [batch]
  const pick = tf.oneHot(tf.cast(lastIndex, "int32"), seqLen).expandDims(2); // [batch, seqLen, 1]
  return tf.sum(tf.mul(states, pick), 1) as tf.Tensor2D;
}

function mlp(init: Init, io: ItemIO, dim: number): BenchModel {
  const w = init.normal([dim, dim], dim);
  const b = init.zeros([dim]);
  const variables = [...io.variables, w, b];
  return {
    kind: "mlp",
    variables,
    dispose: () => tf.dispose(variables),
    loss: (items, targets) => {
      const mask = realEvents(items);
      const summed = tf.sum(tf.mul(io.embed(items), mask.expandDims(2)), 1); // [batch, dim]
      const pooled = tf.div(summed, tf.maximum(tf.sum(mask, 1, true), 1)); // mean over real events
      const hidden = tf.relu(tf.add(tf.matMul(pooled, w), b)) as tf.Tensor2D;
      return io.loss(hidden, targets);
    },
  };
}

function recurrent(kind: "gru" | "lstm", io: ItemIO, dim: number, seed: number): BenchModel {
  const options = {
    units: dim,
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    recurrentInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
  };
  const cell = kind === "gru" ? tf.layers.gru(options) : tf.layers.lstm(options);
  // One call up front creates the layer's weights so they can be listed for the optimizer.
  tf.tidy(() => {
    cell.apply(tf.zeros([1, 1, dim]));
  });
  const variables = [...io.variables, ...cell.trainableWeights.map((w) => w.read() as tf.Variable)];
  return {
    kind,
    variables,
    dispose: () => tf.dispose(variables),
    loss: (items, targets) => {
      // Masked steps carry the state through, so the final state is the state after the last real event.
      const mask = tf.notEqual(items, 0);
      const hidden = cell.apply(io.embed(items), { mask }) as tf.Tensor2D; // [batch, dim]
      return io.loss(hidden, targets);
    },
  };
}

function layerNorm(x: tf.Tensor3D, gain: tf.Variable, bias: tf.Variable): tf.Tensor3D {
  const { mean, variance } = tf.moments(x, 2, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gain), bias);
}

/** Exact GELU: x · Φ(x). */
function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

function transformer(init: Init, io: ItemIO, config: BenchModelConfig): BenchModel {
  const { dim, seqLen } = config;
  const heads = config.heads ?? 2;
  const rate = config.dropout ?? 0.1;
  if (dim % heads !== 0) throw new Error(`transformer: dim ${dim} is not divisible by heads ${heads}`);
  const headDim = dim / heads;
  // Fresh but reproducible dropout masks on every call.
  let dropoutSeed = (config.seed ?? 1) * 7919;
  const dropout = (x: tf.Tensor) => tf.dropout(x, rate, undefined, dropoutSeed++);
  const positions = init.normal([seqLen, dim], dim);
  const qkv = init.normal([dim, 3 * dim], dim);
  const proj = init.normal([dim, dim], dim);
  const ff1 = init.normal([dim, 4 * dim], dim);
  const ff1b = init.zeros([4 * dim]);
  const ff2 = init.normal([4 * dim, dim], 4 * dim);
  const ff2b = init.zeros([dim]);
  const norms = [0, 1, 2].map(() => [init.ones([dim]), init.zeros([dim])]);
  // Additive mask: position i may attend to j <= i. [seqLen, seqLen]
  const causal = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([seqLen, seqLen]), -1, 0)), -1e9));

  const dense = (x: tf.Tensor3D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor3D => {
    const [batch, len, inDim] = x.shape;
    const flat = tf.matMul(x.reshape([batch * len, inDim]), w);
    return (b ? tf.add(flat, b) : flat).reshape([batch, len, w.shape[1]!]);
  };
  /** [batch, seqLen, dim] → [batch, heads, seqLen, headDim] */
  const splitHeads = (x: tf.Tensor3D) =>
    x.reshape([x.shape[0], seqLen, heads, headDim]).transpose([0, 2, 1, 3]) as tf.Tensor4D;

  const attention = (x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D => {
    const batch = x.shape[0];
    const [q, k, v] = tf.split(dense(x, qkv), 3, 2).map((t) => splitHeads(t as tf.Tensor3D));
    const scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(headDim)); // [batch, heads, seqLen, seqLen]
    const padding = tf.mul(tf.sub(1, mask), -1e9).reshape([batch, 1, 1, seqLen]); // no attention to padding keys
    const weights = dropout(tf.softmax(tf.add(tf.add(scores, causal), padding)));
    const context = tf.matMul(weights, v).transpose([0, 2, 1, 3]).reshape([batch, seqLen, dim]);
    return dense(context as tf.Tensor3D, proj);
  };

  const variables = [...io.variables, positions, qkv, proj, ff1, ff1b, ff2, ff2b, ...norms.flat()];
  return {
    kind: "transformer",
    variables,
    dispose: () => tf.dispose([...variables, causal]),
    loss: (items, targets) => {
      const mask = realEvents(items);
      let x = tf.add(io.embed(items), positions) as tf.Tensor3D;
      x = tf.add(x, dropout(attention(layerNorm(x, norms[0][0], norms[0][1]), mask)));
      const ff = dense(gelu(dense(layerNorm(x, norms[1][0], norms[1][1]), ff1, ff1b)) as tf.Tensor3D, ff2, ff2b);
      x = tf.add(x, dropout(ff));
      const hidden = atLastEvent(layerNorm(x, norms[2][0], norms[2][1]), mask);
      return io.loss(hidden, targets);
    },
  };
}

/** Builds one bench model with fresh weights. */
export function buildBenchModel(kind: BenchModelKind, config: BenchModelConfig): BenchModel {
  const seed = config.seed ?? 1;
  const init = new Init(seed);
  const io = itemIO(init, config.numItems, config.dim);
  switch (kind) {
    case "mlp":
      return mlp(init, io, config.dim);
    case "gru":
    case "lstm":
      return recurrent(kind, io, config.dim, seed);
    case "transformer":
      return transformer(init, io, config);
  }
}

/** A deterministic synthetic batch: right-padded sessions of random length whose next item depends on the last. */
export function syntheticBatch(
  config: BenchModelConfig,
  batch: number,
  seed = 7,
): { items: tf.Tensor2D; targets: tf.Tensor1D } {
  let state = seed >>> 0;
  const random = () => {
    // mulberry32: small, fast and good enough for test data.
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const { numItems, seqLen } = config;
  const items = new Int32Array(batch * seqLen);
  const targets = new Int32Array(batch);
  for (let row = 0; row < batch; row++) {
    const length = 1 + Math.floor(random() * seqLen);
    let last = 0;
    for (let pos = 0; pos < length; pos++) {
      last = 1 + Math.floor(random() * (numItems - 1));
      items[row * seqLen + pos] = last;
    }
    targets[row] = 1 + (last % (numItems - 1)); // learnable: next item = a function of the last one
  }
  return { items: tf.tensor2d(items, [batch, seqLen], "int32"), targets: tf.tensor1d(targets, "int32") };
}
