// Small building blocks shared by the models: dense layers, layer norm, dropout, GELU and the MLP stack.
// Each block is a function of its sizes that creates its named variables and returns an `apply` function.
import * as tf from "@tensorflow/tfjs";
import type { ParameterFactory, SeedSequence } from "./init";

export type Activation = "relu" | "gelu" | "tanh" | "linear";

/** GELU, exact form 0.5·x·(1 + erf(x/√2)) (the one BERT uses). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case "relu":
      return tf.relu(x);
    case "gelu":
      return gelu(x);
    case "tanh":
      return tf.tanh(x);
    case "linear":
      return x;
  }
}

export interface Dense {
  readonly inDim: number;
  readonly outDim: number;
  readonly kernel: tf.Variable; // [inDim, outDim]
  /** x [..., inDim] → [..., outDim]. */
  apply(x: tf.Tensor): tf.Tensor;
}

/** Affine map x·W + b on the last axis (variables `<name>.kernel`, `<name>.bias`). */
export function dense(params: ParameterFactory, name: string, inDim: number, outDim: number): Dense {
  const scope = params.scope(name);
  const kernel = scope.glorotUniform("kernel", [inDim, outDim]);
  const bias = scope.constant("bias", [outDim], 0);
  return {
    inDim,
    outDim,
    kernel,
    apply: (x) =>
      tf.tidy(() => {
        const lead = x.shape.slice(0, -1);
        const flat = tf.reshape(x, [-1, inDim]); // [rows, inDim]
        const y = tf.add(tf.matMul(flat, kernel), bias); // [rows, outDim]
        return tf.reshape(y, [...lead, outDim]);
      }),
  };
}

/** Layer normalisation over the last axis with learned gain and shift (`<name>.gamma`, `<name>.beta`). */
export function layerNorm(
  params: ParameterFactory,
  name: string,
  dim: number,
  epsilon = 1e-5,
): (x: tf.Tensor) => tf.Tensor {
  const scope = params.scope(name);
  const gamma = scope.constant("gamma", [dim], 1);
  const beta = scope.constant("beta", [dim], 0);
  return (x) =>
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normalised = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon)));
      return tf.add(tf.mul(normalised, gamma), beta);
    });
}

/** Inverted dropout, active only when training; the mask comes from the next seed of `seeds`. */
export function dropout(x: tf.Tensor, rate: number, training: boolean, seeds: SeedSequence): tf.Tensor {
  if (!training || rate <= 0) return x;
  return tf.dropout(x, rate, undefined, seeds.next());
}

export interface MlpConfig {
  /** Width of each layer, in order; [] makes the block the identity. */
  units: number[];
  /** Activation after every layer (Merlin's MLPBlock default: relu). */
  activation?: Activation;
  /** Dropout rate after every layer when training. Default 0. */
  dropout?: number;
}

export interface MlpLayers {
  readonly outDim: number;
  readonly kernels: tf.Variable[];
  /** x [..., inDim] → [..., outDim]. */
  apply(x: tf.Tensor, training: boolean): tf.Tensor;
}

/** A stack of dense layers (`<name>.layer<i>.kernel|bias`), each followed by the activation and dropout. */
export function mlpLayers(
  params: ParameterFactory,
  name: string,
  inDim: number,
  config: MlpConfig,
  seeds: SeedSequence,
): MlpLayers {
  const activation = config.activation ?? "relu";
  const rate = config.dropout ?? 0;
  const scope = params.scope(name);
  const layers: Dense[] = [];
  let width = inDim;
  config.units.forEach((units, i) => {
    if (!(Number.isInteger(units) && units > 0))
      throw new Error(`${scope.prefix}: layer ${i} width must be a positive integer, got ${units}`);
    layers.push(dense(scope, `layer${i}`, width, units));
    width = units;
  });
  return {
    outDim: width,
    kernels: layers.map((layer) => layer.kernel),
    apply: (x, training) =>
      tf.tidy(() =>
        layers.reduce((h, layer) => dropout(activate(layer.apply(h), activation), rate, training, seeds), x),
      ),
  };
}

/** Sum of squares of the given weights times `scale`: an L2 penalty term for the trainer to add to the loss. */
export function l2Penalty(weights: tf.Variable[], scale: number): tf.Scalar {
  if (weights.length === 0) return tf.scalar(0);
  return tf.tidy(() => tf.mul(tf.addN(weights.map((w) => tf.sum(tf.square(w)))), scale) as tf.Scalar);
}

/** Mean over real positions: features [batch, seqLen, d], mask [batch, seqLen] → [batch, d] (0 for an empty session). */
export function maskedMean(features: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const weights = tf.expandDims(mask, 2); // [b, L, 1]
    const counts = tf.maximum(tf.sum(weights, 1), 1); // [b, 1]
    return tf.div(tf.sum(tf.mul(features, weights), 1), counts) as tf.Tensor2D;
  });
}
