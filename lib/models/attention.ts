// Multi-head self-attention and its additive mask (padding keys and, when causal, later keys), used by the
// Transformer block of ./blocks.ts.
import * as tf from "@tensorflow/tfjs";
import type { ParameterFactory, SeedSequence } from "./init";
import { dense, dropout } from "./layers";

/** Added to the score of a key that must not be attended; finite so a row with no allowed key stays finite. */
const BLOCKED = -1e9;

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
          tf.reshape(tf.transpose(tf.reshape(t, [batchSize, seqLen, heads, headDim]), [0, 2, 1, 3]), [
            batchSize * heads,
            seqLen,
            headDim,
          ]);
        const q = splitHeads(query.apply(x));
        const k = splitHeads(key.apply(x));
        const v = splitHeads(value.apply(x));
        const scores = tf.reshape(tf.matMul(q, k, false, true), [batchSize, heads, seqLen, seqLen]); // [b, h, L(query), L(key)]
        const weights = tf.softmax(tf.add(tf.div(scores, Math.sqrt(headDim)), bias)); // softmax over keys
        const attended = tf.matMul(
          tf.reshape(dropout(weights, dropoutRate, training, seeds), [batchSize * heads, seqLen, seqLen]),
          v,
        ); // [b·h, L, headDim]
        const merged = tf.reshape(
          tf.transpose(tf.reshape(attended, [batchSize, heads, seqLen, headDim]), [0, 2, 1, 3]),
          [batchSize, seqLen, dModel],
        );
        return output.apply(merged) as tf.Tensor3D;
      }),
  };
}
