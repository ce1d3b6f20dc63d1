// A GRU or LSTM layer. The input part of every gate is computed for all positions at once (one matmul); the
// recurrence over time is one op per layer with a hand-written backward pass (lib/compute/kernels/recurrent-sequence.ts,
// where the cell equations are). A padded step leaves the state unchanged (h_t = m_t·h_new + (1 − m_t)·h_{t−1}), so
// the state at and after the last real event is the same, and nothing at a padded position reaches a real one.
import * as tf from "@tensorflow/tfjs";
import { gruSequence, lstmSequence } from "../compute/kernels/recurrent-sequence";
import type { ParameterFactory } from "./init";

export type RnnCell = "gru" | "lstm";

export interface RecurrentLayer {
  readonly kernels: tf.Variable[];
  /** x [batch, seqLen, inDim], mask [batch, seqLen] → states [batch, seqLen, units]. */
  apply(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D;
}

/** A GRU or LSTM layer with variables `<name>.kernel` [inDim, G·u], `<name>.recurrentKernel` [u, G·u], `<name>.bias`
 *  (and the GRU's `<name>.recurrentBias`); G = 3 (GRU, gates z r n) or 4 (LSTM, gates i f g o). */
export function recurrentLayer(
  params: ParameterFactory,
  name: string,
  cell: RnnCell,
  inDim: number,
  units: number,
): RecurrentLayer {
  const scope = params.scope(name);
  const gates = cell === "gru" ? 3 : 4;
  const kernel = scope.glorotUniform("kernel", [inDim, gates * units]);
  const recurrent = scope.glorotUniform("recurrentKernel", [units, gates * units]);
  // LSTM: forget-gate bias 1 (Jozefowicz et al. 2015, Keras' unit_forget_bias) so that early training remembers.
  const bias = scope.filled("bias", [gates * units], (i) => (cell === "lstm" && i >= units && i < 2 * units ? 1 : 0));
  const recurrentBias = cell === "gru" ? scope.constant("recurrentBias", [gates * units], 0) : null;
  return {
    kernels: [kernel, recurrent],
    apply: (x, mask) =>
      tf.tidy(() => {
        const [batchSize, seqLen] = mask.shape;
        const inputGates = tf.fused.matMul({ a: tf.reshape(x, [-1, inDim]), b: kernel, bias }); // [b·L, G·u]
        const perPosition = tf.reshape(inputGates, [batchSize, seqLen, gates * units]) as tf.Tensor3D;
        return recurrentBias === null
          ? lstmSequence(perPosition, mask, recurrent as tf.Tensor2D)
          : gruSequence(perPosition, mask, recurrent as tf.Tensor2D, recurrentBias as tf.Tensor1D); // [b, L, u]
      }),
  };
}
