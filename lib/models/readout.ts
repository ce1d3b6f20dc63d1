// Attention readouts: a session vector from the states of a session's positions.
//
// `attentionReadout`, SR-GNN's (Wu et al. 2019, CRIPAC-DIG/SR-GNN model.py `compute_scores`; NARM, Li et al. 2017, is
// the same with a GRU underneath and a bilinear decoder):
//   e_j  = qᵀ σ(W1 h_last + W2 h_j + c)          one score per real position j
//   α_j  = softmax over the real positions of e   (padding gets exactly 0)
//   s_g  = Σ_j α_j h_j                              the global (attention-weighted) part
//   out  = W3 [h_last; s_g] + b3                    the hybrid session vector
// Deviation: SR-GNN and NARM use e_j as the weight unnormalised; here the weights are softmax-normalised over the
// real positions (weights that sum to 1, as issue 19 asks; GCE-GNN and CORE normalise too), so their scale cannot
// drift with the session's length. W1 has no bias, W2 carries c (SR-GNN gives both a bias, which is one bias).
//
// "sequence" output: one vector per position t, the readout of the prefix 0..t (h_last = h_t, j ≤ t), so a causal
// encoder stays causal and trains at every position ("next" scheme) like the models without a readout. It costs a
// [batch, L, L, d] tensor for σ(·). "pooled": one vector per session (h_last = the last real position's state).
import * as tf from "@tensorflow/tfjs";
import type { ParameterFactory } from "./init";
import { dense } from "./layers";

/** Added to the score of a position that must get no weight; finite so that a row without any stays finite. */
const BLOCKED = -1e9;

export interface AttentionReadout {
  readonly inDim: number;
  readonly outDim: number;
  /** Attention weights: "sequence" [batch, L(t), L(j)] (row t over positions j ≤ t, real ones only); "pooled"
   *  [batch, L] (over the real positions). h [batch, L, inDim], mask [batch, L]. */
  weights(h: tf.Tensor3D, mask: tf.Tensor2D, output: "sequence" | "pooled"): tf.Tensor;
  /** Session vectors: "sequence" [batch, L, outDim]; "pooled" [batch, outDim]. */
  apply(h: tf.Tensor3D, mask: tf.Tensor2D, output: "sequence" | "pooled"): tf.Tensor;
}

/**
 * Softmax of position scores over the real positions: "pooled" e [b, L] → [b, L]; "sequence" e [b, L(t), L(j)] or
 * [b, 1, L(j)] (one score per position, whatever t) → [b, L(t), L(j)], row t over the real positions j <= t. A padded or
 * later position gets exactly 0 (its exp underflows).
 */
export function maskedSoftmax(e: tf.Tensor, mask: tf.Tensor2D, mode: "sequence" | "pooled"): tf.Tensor {
  return tf.tidy(() => {
    const blockedPadding = tf.mul(tf.sub(1, mask), BLOCKED); // [b, L(j)]
    if (mode === "pooled") return tf.softmax(tf.add(e, blockedPadding));
    const seqLen = mask.shape[1];
    const allowed = tf.linalg.bandPart(tf.ones([seqLen, seqLen]), -1, 0); // [t, j]: 1 where j <= t
    const blockedLater = tf.mul(tf.sub(1, allowed), BLOCKED); // [t, j]
    return tf.softmax(tf.add(tf.add(e, tf.expandDims(blockedPadding, 1)), blockedLater)); // [b, t, j]
  });
}

/** The state of each session's last real position: h [b, L, d], mask [b, L] → [b, d] (position 0 for an empty one). */
export function lastRealState(h: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const seqLen = h.shape[1];
    if (seqLen === 1) return tf.squeeze(h, [1]) as tf.Tensor2D; // tf.oneHot needs a depth of 2 or more
    const last = tf.maximum(tf.sub(tf.sum(mask, 1), 1), 0).toInt() as tf.Tensor1D; // [b]
    const pick = tf.expandDims(tf.oneHot(last, seqLen).toFloat(), 2); // [b, L, 1]
    return tf.sum(tf.mul(h, pick), 1) as tf.Tensor2D;
  });
}

/** SR-GNN's readout (`<name>.last.kernel`, `<name>.position.kernel|bias`, `<name>.score.kernel`,
 *  `<name>.output.kernel|bias`); `outDim` the width of the session vector. */
export function attentionReadout(
  params: ParameterFactory,
  name: string,
  inDim: number,
  outDim: number,
): AttentionReadout {
  const scope = params.scope(name);
  const lastKernel = scope.scope("last").glorotUniform("kernel", [inDim, inDim]); // W1
  const position = dense(scope, "position", inDim, inDim); // W2, c
  const score = scope.scope("score").glorotUniform("kernel", [inDim, 1]); // q
  const output = dense(scope, "output", 2 * inDim, outDim); // W3, b3

  const weights = (h: tf.Tensor3D, mask: tf.Tensor2D, mode: "sequence" | "pooled"): tf.Tensor =>
    tf.tidy(() => {
      const [batchSize, seqLen] = mask.shape;
      const keys = position.apply(h) as tf.Tensor3D; // [b, L(j), d]: W2 h_j + c
      if (mode === "pooled") {
        const query = tf.matMul(lastRealState(h, mask), lastKernel); // [b, d]
        const hiddenScores = tf.sigmoid(tf.add(keys, tf.expandDims(query, 1))); // [b, L, d]
        const e = tf.sum(tf.mul(hiddenScores, tf.reshape(score, [inDim])), 2); // [b, L]: q·σ(...)
        return maskedSoftmax(e, mask, "pooled");
      }
      const queries = tf.reshape(tf.matMul(tf.reshape(h, [-1, inDim]), lastKernel), [batchSize, seqLen, 1, inDim]); // [b, L(t), 1, d]
      const hiddenScores = tf.sigmoid(tf.add(queries, tf.expandDims(keys, 1))); // [b, L(t), L(j), d]
      // q·σ(...) as a product and a sum over the last axis of the 4-D scores (no reshape to 2-D and back).
      const e = tf.sum(tf.mul(hiddenScores, tf.reshape(score, [inDim])), 3); // [b, t, j]
      return maskedSoftmax(e, mask, "sequence");
    });

  return {
    inDim,
    outDim,
    weights,
    apply: (h, mask, mode) =>
      tf.tidy(() => {
        const alpha = weights(h, mask, mode);
        if (mode === "pooled") {
          const global = tf.sum(tf.mul(tf.expandDims(alpha, 2), h), 1); // [b, d]
          return output.apply(tf.concat([lastRealState(h, mask), global], 1));
        }
        const global = tf.matMul(alpha as tf.Tensor3D, h); // [b, L(t), d]: Σ_j α_tj h_j
        return output.apply(tf.concat([h, global], 2)); // [b, L, outDim]
      }),
  };
}
