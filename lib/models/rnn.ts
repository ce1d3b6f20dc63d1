// Recurrent next-item model: a GRU or LSTM run over the session's positions, then an MLP; one state per position
// ("sequence"), the state at position t having seen events 0..t only.
// Padding: a padded step leaves the state unchanged (h_t = m_t·h_new + (1 − m_t)·h_{t−1}), so the state at and
// after the last real event is the same, and nothing at a padded position reaches a real one.
// The input part of every gate is computed for all positions at once (one matmul); the recurrence over time is one
// op per layer with a hand-written backward pass (lib/kernels/recurrent-sequence.ts, where the cell equations are).
import * as tf from "@tensorflow/tfjs";
import { gruSequence, lstmSequence } from "../kernels/recurrent-sequence";
import { ParameterFactory, SeedSequence } from "./init";
import { createInputBlock, type InputConfig, type ModelSchema } from "./inputs";
import { type Activation, dropout, l2Penalty, mlpBlock } from "./layers";
import type { SessionModel } from "./model";

export type RnnCell = "gru" | "lstm";

export interface RnnConfig {
  inputs?: InputConfig;
  /** Default "gru". */
  cell?: RnnCell;
  /** State size. Default 64. */
  units?: number;
  /** L2 penalty scale on the input and recurrent kernels, returned by `regularization()`. Default 0 (none). */
  l2?: number;
  /** Dropout on the recurrent layer's outputs when training. Default 0. */
  dropout?: number;
  /** MLP widths after the recurrent layer ([] for none). Default [64]. */
  mlp?: number[];
  /** Activation of the MLP layers. Default "relu". */
  mlpActivation?: Activation;
  /** Seed of the initial weights and dropout masks. Default 1. */
  seed?: number;
}

export type ResolvedRnnConfig = Required<RnnConfig>;

export function resolveRnnConfig(config: RnnConfig = {}): ResolvedRnnConfig {
  return {
    inputs: config.inputs ?? {},
    cell: config.cell ?? "gru",
    units: config.units ?? 64,
    l2: config.l2 ?? 0,
    dropout: config.dropout ?? 0,
    mlp: config.mlp ?? [64],
    mlpActivation: config.mlpActivation ?? "relu",
    seed: config.seed ?? 1,
  };
}

export interface RecurrentLayer {
  readonly kernels: tf.Variable[];
  /** x [batch, seqLen, inDim], mask [batch, seqLen] → states [batch, seqLen, units]. */
  apply(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D;
}

/** A GRU or LSTM layer with variables `<name>.kernel` [inDim, G·u], `<name>.recurrentKernel` [u, G·u], `<name>.bias`
 *  (and the GRU's `<name>.recurrentBias`); G = 3 (GRU, gates z r n) or 4 (LSTM, gates i f g o). */
export function recurrentLayer(params: ParameterFactory, name: string, cell: RnnCell, inDim: number, units: number): RecurrentLayer {
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

export function createRnnModel(schema: ModelSchema, config: RnnConfig = {}): SessionModel<ResolvedRnnConfig> {
  const resolved = resolveRnnConfig(config);
  const params = new ParameterFactory(resolved.seed);
  const seeds = new SeedSequence(resolved.seed);
  const inputs = createInputBlock(params.scope("input"), schema, resolved.inputs);
  const rnn = recurrentLayer(params, resolved.cell, resolved.cell, inputs.dim, resolved.units);
  const mlp = mlpBlock(params, "mlp", resolved.units, { units: resolved.mlp, activation: resolved.mlpActivation }, seeds);
  return {
    kind: resolved.cell,
    name: resolved.cell,
    output: "sequence",
    dim: mlp.outDim,
    config: resolved,
    inputs,
    variables: params.variables,
    encode: (batch, training) =>
      tf.tidy(() => {
        const states = rnn.apply(inputs.apply(batch), batch.mask); // [b, L, units]
        return mlp.apply(dropout(states, resolved.dropout, training, seeds), training); // [b, L, dim]
      }),
    regularization: resolved.l2 > 0 ? () => l2Penalty(rnn.kernels, resolved.l2) : undefined,
  };
}
