// The contract between the loader, the training schemes, the models and `fit`.
// Sequences are right-padded: real events first (oldest → newest), then padding id 0.
import type * as tf from "@tensorflow/tfjs";

/** One batch of sessions as the loader yields it. Every tensor is owned by the batch: call `disposeBatch`. */
export interface SessionBatch {
  /** Item id sequences, int32 [batch, seqLen]; 0 = padding, 1 = out-of-vocabulary. */
  items: tf.Tensor2D;
  /** Other categorical sequence features by column name, int32 [batch, seqLen]. */
  categorical: Record<string, tf.Tensor2D>;
  /** Continuous sequence features by column name, float32 [batch, seqLen]. */
  continuous: Record<string, tf.Tensor2D>;
  /** Per-session context features by column name, float32 [batch] (continuous) or int32 [batch] (categorical). */
  context: Record<string, tf.Tensor1D>;
  /** 1 where `items` holds a real event, 0 on padding; float32 [batch, seqLen]. */
  mask: tf.Tensor2D;
  /** Number of real events per session, int32 [batch]. */
  lengths: tf.Tensor1D;
  /** Number of sessions in this batch (the last batch of an epoch may be smaller). */
  size: number;
}

/**
 * What a model is trained on after a target scheme (predict-last, causal next-item, masked-item) has been applied:
 * the model sees `inputs`; the loss is taken at every position where `targets` > 0.
 */
export interface TrainingExample {
  inputs: SessionBatch;
  /** Target item ids, int32 [batch, seqLen]; 0 = no loss at this position. */
  targets: tf.Tensor2D;
}

/** A next-item model: an encoder of sessions into hidden states plus the parameters it owns. */
export interface NextItemModel {
  readonly name: string;
  /** "sequence": `encode` returns one state per position [batch, seqLen, dim] and may train on any scheme.
   *  "pooled": `encode` returns one state per session [batch, dim] and predicts the item after the last event only. */
  readonly output: "sequence" | "pooled";
  /** Size of the hidden state fed to the output head. */
  readonly dim: number;
  /** Every variable, by a stable unique name (used by save/load; the optimizer updates the trainable ones): its
   *  weights, and buffers (`trainable` false) that `fitSessions` fills. */
  readonly variables: Record<string, tf.Variable>;
  /** Hidden states for a batch. `training` turns dropout on. */
  encode(batch: SessionBatch, training: boolean): tf.Tensor;
  /** Penalty to add to the training loss (e.g. L2 on the RNN weights); absent when the model has none. */
  regularization?(): tf.Scalar;
  /** Reads what the model needs of its training sessions (item id sequences, oldest click first) into its buffers:
   *  the item graph of a globalNeighbours block. `fit` calls it before the first epoch; absent when the model needs
   *  nothing. */
  fitSessions?(sessions: readonly Int32Array[]): void;
}

/** Turns hidden states into item scores; shared by every model (full softmax, tied or not, or sampled). */
export interface OutputHead {
  readonly variables: Record<string, tf.Variable>;
  /** Item scores over the whole catalogue for hidden states [n, dim] → [n, nItems]. */
  logits(hidden: tf.Tensor2D): tf.Tensor2D;
  /** Mean training loss of hidden states [n, dim] against target item ids int32 [n]. */
  loss(hidden: tf.Tensor2D, targets: tf.Tensor1D, training: boolean): tf.Scalar;
}

/** A target scheme (predict-last, causal next-item, masked-item) maps a batch to what the model trains on. */
export type TargetScheme = (batch: SessionBatch) => TrainingExample;
