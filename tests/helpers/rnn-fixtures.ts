// The fused GRU/LSTM sequence ops and their autograd references, and the padding pattern their tests share.
import * as tf from "@tensorflow/tfjs";
import {
  gruSequence,
  gruSequenceReference,
  lstmSequence,
  lstmSequenceReference,
} from "../../lib/compute/kernels/recurrent-sequence";

export type Cell = "gru" | "lstm";

// Right-padded sessions of 5, 3 and 1 events, and one with a hole (padding between real events).
export const MASK = [
  [1, 1, 1, 1, 1],
  [1, 1, 1, 0, 0],
  [1, 0, 0, 0, 0],
  [1, 0, 1, 1, 0],
];

/** One op's arguments: inputGates, mask, recurrentKernel (and recurrentBias for the GRU). */
export type SequenceOp = (...args: tf.Tensor[]) => tf.Tensor3D;
export const FUSED: Record<Cell, SequenceOp> = {
  gru: (g, m, k, b) => gruSequence(g as tf.Tensor3D, m as tf.Tensor2D, k as tf.Tensor2D, b as tf.Tensor1D),
  lstm: (g, m, k) => lstmSequence(g as tf.Tensor3D, m as tf.Tensor2D, k as tf.Tensor2D),
};
export const REFERENCE: Record<Cell, SequenceOp> = {
  gru: (g, m, k, b) => gruSequenceReference(g as tf.Tensor3D, m as tf.Tensor2D, k as tf.Tensor2D, b as tf.Tensor1D),
  lstm: (g, m, k) => lstmSequenceReference(g as tf.Tensor3D, m as tf.Tensor2D, k as tf.Tensor2D),
};
