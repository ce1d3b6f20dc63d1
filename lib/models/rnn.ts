// Recurrent next-item model: a GRU or LSTM run over the session's positions, then an MLP; one state per position
// ("sequence"), the state at position t having seen events 0..t only.
// Padding: a padded step leaves the state unchanged (h_t = m_t·h_new + (1 − m_t)·h_{t−1}), so the state at and
// after the last real event is the same, and nothing at a padded position reaches a real one.
// The recurrence is a plain loop of tf ops over time, one readable step function per cell; the input part of every
// gate is computed for all positions at once beforehand.
import * as tf from "@tensorflow/tfjs";
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

/** Recurrent state: h [batch, units], plus the LSTM's cell c [batch, units]. */
interface RnnState {
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
}

/**
 * One step of a cell. `inputGates` [batch, gates·units] is x_t·W + b for this step; `recurrent` U [units, gates·units].
 * GRU (reset gate applied after the recurrent product, as cuDNN/Keras reset_after):
 *   z = σ(x_z + h·U_z + b'_z), r = σ(x_r + h·U_r + b'_r), n = tanh(x_n + r ⊙ (h·U_n + b'_n)), h' = (1 − z) ⊙ n + z ⊙ h
 * LSTM:
 *   [i, f, g, o] = x + h·U, c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c')
 */
type StepFunction = (inputGates: tf.Tensor2D, state: RnnState) => RnnState;

function gruStep(recurrent: tf.Variable, recurrentBias: tf.Variable): StepFunction {
  return (inputGates, { h }) => {
    const [xz, xr, xn] = tf.split(inputGates, 3, 1);
    const [hz, hr, hn] = tf.split(tf.add(tf.matMul(h, recurrent), recurrentBias), 3, 1);
    const z = tf.sigmoid(tf.add(xz, hz));
    const r = tf.sigmoid(tf.add(xr, hr));
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    return { h: tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D };
  };
}

function lstmStep(recurrent: tf.Variable): StepFunction {
  return (inputGates, { h, c }) => {
    const [i, f, g, o] = tf.split(tf.add(inputGates, tf.matMul(h, recurrent)), 4, 1);
    const nextC = tf.add(tf.mul(tf.sigmoid(f), c as tf.Tensor2D), tf.mul(tf.sigmoid(i), tf.tanh(g))) as tf.Tensor2D;
    return { h: tf.mul(tf.sigmoid(o), tf.tanh(nextC)) as tf.Tensor2D, c: nextC };
  };
}

/** m ⊙ next + (1 − m) ⊙ previous, written previous + m ⊙ (next − previous); m [batch, 1] is 1 on real events. */
function keepOnPadding(next: tf.Tensor2D, previous: tf.Tensor2D, m: tf.Tensor2D): tf.Tensor2D {
  return tf.add(previous, tf.mul(m, tf.sub(next, previous))) as tf.Tensor2D;
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
  const step = cell === "gru" ? gruStep(recurrent, scope.constant("recurrentBias", [gates * units], 0)) : lstmStep(recurrent);
  return {
    kernels: [kernel, recurrent],
    apply: (x, mask) =>
      tf.tidy(() => {
        const [batchSize, seqLen] = mask.shape;
        const inputGates = tf.add(tf.matMul(tf.reshape(x, [-1, inDim]), kernel), bias); // [b·L, G·u]
        const perStep = tf.unstack(tf.reshape(inputGates, [batchSize, seqLen, gates * units]), 1) as tf.Tensor2D[]; // L × [b, G·u]
        const masks = tf.unstack(tf.expandDims(mask, 2), 1) as tf.Tensor2D[]; // L × [b, 1]
        const zeros = tf.zeros([batchSize, units]) as tf.Tensor2D;
        let state: RnnState = cell === "lstm" ? { h: zeros, c: zeros } : { h: zeros };
        const outputs: tf.Tensor2D[] = [];
        for (let t = 0; t < seqLen; t++) {
          const next = step(perStep[t], state);
          state = {
            h: keepOnPadding(next.h, state.h, masks[t]),
            c: next.c === undefined ? undefined : keepOnPadding(next.c, state.c as tf.Tensor2D, masks[t]),
          };
          outputs.push(state.h);
        }
        return tf.stack(outputs, 1) as tf.Tensor3D; // [b, L, u]
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
