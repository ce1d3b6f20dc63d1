// A GRU or LSTM layer's recurrence over a whole sequence as one differentiable op, with backpropagation through
// time written out by hand. Built from tf ops, so it runs on every backend.
// Why: differentiated step by step by tfjs, a GRU step is ~20 recorded ops forward and ~50 backward, each saving
// its inputs and paying the tape's bookkeeping; here the forward records nothing, the backward is ~20 ops per step
// using the gate values saved by the forward, and the recurrent kernel's gradient is one [units, b·L] × [b·L, G·units]
// matmul over all steps instead of one per step.
// The input part of the gates (x_t·W + b) is computed by the caller for all positions at once and comes in as
// `inputGates`. Padding (mask 0) leaves the state unchanged: h_t = h_{t−1} + m_t·(h'_t − h_{t−1}).
// `gruSequenceReference` / `lstmSequenceReference` are the same forward differentiated by tfjs's autograd: the
// definition the tests check the hand-written gradients against. On WebGPU, forward and backward scans run as
// WGSL kernels instead (lib/compute/kernels/webgpu-recurrent.ts), one dispatch each.
import * as tf from "@tensorflow/tfjs";
import { GRU_SCAN, GRU_SCAN_GRAD, LSTM_SCAN, LSTM_SCAN_GRAD, runScan, webGpuScanAvailable } from "./webgpu-recurrent";

/** Per-step slices of a [b, L, d] tensor along the time axis: L × [b, d]. */
function steps(x: tf.Tensor3D): tf.Tensor2D[] {
  return tf.unstack(x, 1) as tf.Tensor2D[];
}

/** Per-step masks as columns: mask [b, L] → L × [b, 1]. */
function maskColumns(mask: tf.Tensor2D): tf.Tensor2D[] {
  return tf.unstack(tf.expandDims(mask, 2), 1) as tf.Tensor2D[];
}

/** previous + m ⊙ (next − previous): the new state on real events, the previous one on padding. */
function keepOnPadding(next: tf.Tensor2D, previous: tf.Tensor2D, m: tf.Tensor2D): tf.Tensor2D {
  return tf.add(previous, tf.mul(m, tf.sub(next, previous)));
}

/** σ(x) ⊙ (1 − σ(x)) given s = σ(x): the derivative of the sigmoid. */
function sigmoidSlope(s: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(s, tf.sub(1, s));
}

/** 1 − t², given t = tanh(x): the derivative of tanh. */
function tanhSlope(t: tf.Tensor2D): tf.Tensor2D {
  return tf.sub(1, tf.square(t));
}

function checkShapes(
  name: string,
  inputGates: tf.Tensor3D,
  mask: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  gates: number,
): void {
  const [batch, seqLen, width] = inputGates.shape;
  const units = recurrentKernel.shape[0];
  if (recurrentKernel.shape[1] !== gates * units || width !== gates * units) {
    throw new Error(
      `${name}: recurrentKernel [${recurrentKernel.shape}] and inputGates [${inputGates.shape}] must be [units, ${gates}·units] ` +
        `and [batch, seqLen, ${gates}·units]`,
    );
  }
  if (mask.shape[0] !== batch || mask.shape[1] !== seqLen) {
    throw new Error(`${name}: mask [${mask.shape}] must be [batch, seqLen] = [${batch}, ${seqLen}]`);
  }
}

/**
 * The recurrent weights' gradients once the per-step gradients of the gate pre-activations are known:
 * dRecurrentKernel [u, G·u] = Σ_t h_{t−1}ᵀ · dRecurrent_t, as one matmul over all steps; dRecurrentBias [G·u] =
 * Σ_t Σ_rows dRecurrent_t. previous [b, L, u] = h_{t−1}, dRecurrent [b, L, G·u].
 */
function recurrentGradients(previous: tf.Tensor3D, dRecurrent: tf.Tensor3D) {
  const [units, width] = [previous.shape[2], dRecurrent.shape[2]];
  const dRecurrentAll = tf.reshape(dRecurrent, [-1, width]) as tf.Tensor2D; // [b·L, G·u]
  return {
    dRecurrentKernel: tf.matMul(
      tf.reshape(previous, [-1, units]) as tf.Tensor2D,
      dRecurrentAll,
      true,
      false,
    ) as tf.Tensor2D,
    dRecurrentBias: tf.sum(dRecurrentAll, 0) as tf.Tensor1D,
  };
}

/** h_{t−1} [b, L, u] from the states h_t [b, L, u]: zeros, then all but the last step. */
function previousStates(states: tf.Tensor3D): tf.Tensor3D {
  const [batch, seqLen, units] = states.shape;
  return tf.concat([tf.zeros([batch, 1, units]), tf.slice(states, [0, 0, 0], [-1, seqLen - 1, -1])], 1) as tf.Tensor3D;
}

/** Units [from, from + count) of the last axis of x [b, L, ·]. */
function unitSlice(x: tf.Tensor3D, from: number, count: number): tf.Tensor3D {
  return tf.slice(x, [0, 0, from], [-1, -1, count]) as tf.Tensor3D;
}

/** What the GRU forward keeps per step for the backward pass. */
interface GruTrace {
  states: tf.Tensor2D[]; // h_t, L × [b, u]
  updateReset: tf.Tensor2D[]; // [z, r] after the sigmoid, L × [b, 2u]
  candidates: tf.Tensor2D[]; // n, L × [b, u]
  recurrentCandidates: tf.Tensor2D[]; // h_{t−1}·U_n + b'_n, L × [b, u]
}

/**
 * GRU forward (reset gate after the recurrent product, as cuDNN and Keras' reset_after):
 *   [z, r] = σ(x_zr + h·U_zr + b'_zr), n = tanh(x_n + r ⊙ (h·U_n + b'_n)), h' = (1 − z) ⊙ n + z ⊙ h
 */
function gruForward(
  inputGates: tf.Tensor3D,
  mask: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  recurrentBias: tf.Tensor1D,
): GruTrace {
  const [batch, seqLen] = mask.shape;
  const units = recurrentKernel.shape[0];
  const inputUpdateReset = steps(tf.slice(inputGates, [0, 0, 0], [-1, -1, 2 * units])); // L × [b, 2u]
  const inputCandidate = steps(tf.slice(inputGates, [0, 0, 2 * units], [-1, -1, units])); // L × [b, u]
  const masks = maskColumns(mask);
  const trace: GruTrace = { states: [], updateReset: [], candidates: [], recurrentCandidates: [] };
  let h = tf.zeros([batch, units]) as tf.Tensor2D;
  for (let t = 0; t < seqLen; t++) {
    const recurrentGates = tf.fused.matMul({ a: h, b: recurrentKernel, bias: recurrentBias }) as tf.Tensor2D; // [b, 3u]
    const [recurrentUpdateReset, recurrentCandidate] = tf.split(recurrentGates, [2 * units, units], 1) as tf.Tensor2D[];
    const updateReset = tf.sigmoid(tf.add(inputUpdateReset[t], recurrentUpdateReset)) as tf.Tensor2D; // [b, 2u]
    const [z, r] = tf.split(updateReset, 2, 1) as tf.Tensor2D[];
    const n = tf.tanh(tf.add(inputCandidate[t], tf.mul(r, recurrentCandidate))) as tf.Tensor2D;
    const next = tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D; // (1 − z)·n + z·h
    h = keepOnPadding(next, h, masks[t]);
    trace.states.push(h);
    trace.updateReset.push(updateReset);
    trace.candidates.push(n);
    trace.recurrentCandidates.push(recurrentCandidate);
  }
  return trace;
}

/** GRU states [b, L, u] for inputGates [b, L, 3u] (x·W + b, gates z r n), mask [b, L], U [u, 3u], b' [3u]. */
export function gruSequence(
  inputGates: tf.Tensor3D,
  mask: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  recurrentBias: tf.Tensor1D,
): tf.Tensor3D {
  checkShapes("gruSequence", inputGates, mask, recurrentKernel, 3);
  if (mask.shape[1] === 0) throw new Error("gruSequence: seqLen must be at least 1");
  const units = recurrentKernel.shape[0];
  const op = tf.customGrad((...args) => {
    const [gates, m, kernel, bias, save] = args as [
      tf.Tensor3D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor1D,
      tf.GradSaveFunc,
    ];
    if (webGpuScanAvailable(inputGates.shape[0], units)) {
      const packed = runScan(GRU_SCAN, { gates, stepMask: m, recurrentKernel: kernel, recurrentBias: bias }); // [b, L, 5u]
      save([m, kernel, packed]);
      return {
        value: unitSlice(packed, 0, units),
        gradFunc: (dy, saved) => {
          const [savedMask, savedKernel, savedPacked] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor3D];
          const d = runScan(GRU_SCAN_GRAD, {
            dStates: dy as tf.Tensor3D,
            trace: savedPacked,
            stepMask: savedMask,
            recurrentKernel: savedKernel,
          }); // [b, L, 4u]
          const dRecurrent = tf.concat([unitSlice(d, 0, 2 * units), unitSlice(d, 3 * units, units)], 2) as tf.Tensor3D; // dz̃, dr̃, dc
          const grads = recurrentGradients(previousStates(unitSlice(savedPacked, 0, units)), dRecurrent);
          return [unitSlice(d, 0, 3 * units), tf.zerosLike(savedMask), grads.dRecurrentKernel, grads.dRecurrentBias];
        },
      };
    }
    const trace = gruForward(gates, m, kernel, bias);
    const seqLen = m.shape[1];
    save([m, kernel, ...trace.states, ...trace.updateReset, ...trace.candidates, ...trace.recurrentCandidates]);
    return {
      value: tf.stack(trace.states, 1) as tf.Tensor3D,
      gradFunc: (dy, saved) => {
        const [savedMask, savedKernel, ...perStep] = saved as tf.Tensor2D[];
        const at = (group: number) => perStep.slice(group * seqLen, (group + 1) * seqLen);
        const [states, updateReset, candidates, recurrentCandidates] = [at(0), at(1), at(2), at(3)];
        const previous = [tf.zerosLike(states[0]) as tf.Tensor2D, ...states.slice(0, -1)]; // h_{t−1}
        const masks = maskColumns(savedMask);
        const dStates = steps(dy as tf.Tensor3D);
        const kernelT = tf.transpose(savedKernel) as tf.Tensor2D; // [3u, u]
        const dInputs: tf.Tensor2D[] = [];
        const dRecurrent: tf.Tensor2D[] = [];
        let carry: tf.Tensor2D | null = null; // dLoss/dh_t through h_{t+1}
        for (let t = seqLen - 1; t >= 0; t--) {
          const dState = carry === null ? dStates[t] : (tf.add(dStates[t], carry) as tf.Tensor2D);
          const dNext = tf.mul(masks[t], dState) as tf.Tensor2D; // into h'
          let dPrevious = tf.sub(dState, dNext) as tf.Tensor2D; // straight through on padding
          const [z, r] = tf.split(updateReset[t], 2, 1) as tf.Tensor2D[];
          const n = candidates[t];
          // h' = n + z·(h − n)
          const dNextZ = tf.mul(dNext, z) as tf.Tensor2D;
          dPrevious = tf.add(dPrevious, dNextZ);
          const dz = tf.mul(dNext, tf.sub(previous[t], n)) as tf.Tensor2D;
          // n = tanh(x_n + r·c), c = h·U_n + b'_n
          const dCandidate = tf.mul(tf.sub(dNext, dNextZ), tanhSlope(n)) as tf.Tensor2D; // through tanh
          const dr = tf.mul(dCandidate, recurrentCandidates[t]) as tf.Tensor2D;
          const dRecurrentCandidate = tf.mul(dCandidate, r) as tf.Tensor2D;
          const dUpdateReset = tf.mul(tf.concat([dz, dr], 1), sigmoidSlope(updateReset[t])) as tf.Tensor2D; // through σ
          const dRecurrentGates = tf.concat([dUpdateReset, dRecurrentCandidate], 1) as tf.Tensor2D; // [b, 3u]
          dInputs.unshift(tf.concat([dUpdateReset, dCandidate], 1) as tf.Tensor2D);
          dRecurrent.unshift(dRecurrentGates);
          carry = tf.add(dPrevious, tf.matMul(dRecurrentGates, kernelT)) as tf.Tensor2D;
        }
        const grads = recurrentGradients(tf.stack(previous, 1) as tf.Tensor3D, tf.stack(dRecurrent, 1) as tf.Tensor3D);
        return [tf.stack(dInputs, 1), tf.zerosLike(savedMask), grads.dRecurrentKernel, grads.dRecurrentBias];
      },
    };
  });
  return op(inputGates, mask, recurrentKernel, recurrentBias) as tf.Tensor3D;
}

/** The GRU forward of `gruSequence` without the hand-written gradient (tfjs differentiates it step by step). */
export function gruSequenceReference(
  inputGates: tf.Tensor3D,
  mask: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  recurrentBias: tf.Tensor1D,
): tf.Tensor3D {
  checkShapes("gruSequenceReference", inputGates, mask, recurrentKernel, 3);
  return tf.tidy(() => tf.stack(gruForward(inputGates, mask, recurrentKernel, recurrentBias).states, 1) as tf.Tensor3D);
}

/** What the LSTM forward keeps per step for the backward pass. */
interface LstmTrace {
  states: tf.Tensor2D[]; // h_t, L × [b, u]
  cells: tf.Tensor2D[]; // c_t, L × [b, u]
  gates: tf.Tensor2D[]; // [σ(i), σ(f), tanh(g), σ(o)], L × [b, 4u]
  cellTanh: tf.Tensor2D[]; // tanh(c'_t), L × [b, u]
}

/** LSTM forward: [i, f, g, o] = x + h·U, c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c'). */
function lstmForward(inputGates: tf.Tensor3D, mask: tf.Tensor2D, recurrentKernel: tf.Tensor2D): LstmTrace {
  const [batch, seqLen] = mask.shape;
  const units = recurrentKernel.shape[0];
  const inputs = steps(inputGates);
  const masks = maskColumns(mask);
  const trace: LstmTrace = { states: [], cells: [], gates: [], cellTanh: [] };
  let h = tf.zeros([batch, units]) as tf.Tensor2D;
  let c = h;
  for (let t = 0; t < seqLen; t++) {
    const preActivations = tf.add(inputs[t], tf.matMul(h, recurrentKernel)) as tf.Tensor2D; // [b, 4u]
    const [inputForget, cellInput, output] = tf.split(preActivations, [2 * units, units, units], 1) as tf.Tensor2D[];
    const activated = tf.concat([tf.sigmoid(inputForget), tf.tanh(cellInput), tf.sigmoid(output)], 1) as tf.Tensor2D;
    const [i, f, g, o] = tf.split(activated, 4, 1) as tf.Tensor2D[];
    const nextC = tf.add(tf.mul(f, c), tf.mul(i, g)) as tf.Tensor2D;
    const nextCTanh = tf.tanh(nextC) as tf.Tensor2D;
    h = keepOnPadding(tf.mul(o, nextCTanh) as tf.Tensor2D, h, masks[t]);
    c = keepOnPadding(nextC, c, masks[t]);
    trace.states.push(h);
    trace.cells.push(c);
    trace.gates.push(activated);
    trace.cellTanh.push(nextCTanh);
  }
  return trace;
}

/** LSTM states [b, L, u] for inputGates [b, L, 4u] (x·W + b, gates i f g o), mask [b, L], U [u, 4u]. */
export function lstmSequence(inputGates: tf.Tensor3D, mask: tf.Tensor2D, recurrentKernel: tf.Tensor2D): tf.Tensor3D {
  checkShapes("lstmSequence", inputGates, mask, recurrentKernel, 4);
  if (mask.shape[1] === 0) throw new Error("lstmSequence: seqLen must be at least 1");
  const units = recurrentKernel.shape[0];
  const op = tf.customGrad((...args) => {
    const [gates, m, kernel, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    if (webGpuScanAvailable(inputGates.shape[0], units)) {
      const packed = runScan(LSTM_SCAN, { gates, stepMask: m, recurrentKernel: kernel }); // [b, L, 7u]
      save([m, kernel, packed]);
      return {
        value: unitSlice(packed, 0, units),
        gradFunc: (dy, saved) => {
          const [savedMask, savedKernel, savedPacked] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor3D];
          const dGates = runScan(LSTM_SCAN_GRAD, {
            dStates: dy as tf.Tensor3D,
            trace: savedPacked,
            stepMask: savedMask,
            recurrentKernel: savedKernel,
          }); // [b, L, 4u]
          return [
            dGates,
            tf.zerosLike(savedMask),
            recurrentGradients(previousStates(unitSlice(savedPacked, 0, units)), dGates).dRecurrentKernel,
          ];
        },
      };
    }
    const trace = lstmForward(gates, m, kernel);
    const seqLen = m.shape[1];
    save([m, kernel, ...trace.states, ...trace.cells, ...trace.gates, ...trace.cellTanh]);
    return {
      value: tf.stack(trace.states, 1) as tf.Tensor3D,
      gradFunc: (dy, saved) => {
        const [savedMask, savedKernel, ...perStep] = saved as tf.Tensor2D[];
        const at = (group: number) => perStep.slice(group * seqLen, (group + 1) * seqLen);
        const [states, cells, activated, cellTanh] = [at(0), at(1), at(2), at(3)];
        const zeros = tf.zerosLike(states[0]) as tf.Tensor2D;
        const previous = [zeros, ...states.slice(0, -1)]; // h_{t−1}
        const previousCells = [zeros, ...cells.slice(0, -1)]; // c_{t−1}
        const masks = maskColumns(savedMask);
        const dStates = steps(dy as tf.Tensor3D);
        const kernelT = tf.transpose(savedKernel) as tf.Tensor2D; // [4u, u]
        const dGates: tf.Tensor2D[] = [];
        let carryH: tf.Tensor2D | null = null; // dLoss/dh_t through step t+1
        let carryC: tf.Tensor2D | null = null; // dLoss/dc_t through step t+1
        for (let t = seqLen - 1; t >= 0; t--) {
          const dState = carryH === null ? dStates[t] : (tf.add(dStates[t], carryH) as tf.Tensor2D);
          const dNextH = tf.mul(masks[t], dState) as tf.Tensor2D;
          const [i, f, g, o] = tf.split(activated[t], 4, 1) as tf.Tensor2D[];
          // h' = o·tanh(c'); c_t = c_{t−1} + m·(c' − c_{t−1})
          let dNextC = tf.mul(tf.mul(dNextH, o), tanhSlope(cellTanh[t])) as tf.Tensor2D;
          let dPreviousC: tf.Tensor2D | null = null;
          if (carryC !== null) {
            const dCellFromPad = tf.mul(masks[t], carryC) as tf.Tensor2D;
            dNextC = tf.add(dNextC, dCellFromPad);
            dPreviousC = tf.sub(carryC, dCellFromPad) as tf.Tensor2D;
          }
          // c' = f·c_{t−1} + i·g
          const dPre = tf.mul(
            tf.concat(
              [tf.mul(dNextC, g), tf.mul(dNextC, previousCells[t]), tf.mul(dNextC, i), tf.mul(dNextH, cellTanh[t])],
              1,
            ),
            tf.concat([sigmoidSlope(tf.concat([i, f], 1) as tf.Tensor2D), tanhSlope(g), sigmoidSlope(o)], 1),
          ) as tf.Tensor2D; // [b, 4u], through σ / tanh of each gate
          const dThroughF = tf.mul(dNextC, f) as tf.Tensor2D;
          carryC = dPreviousC === null ? dThroughF : (tf.add(dPreviousC, dThroughF) as tf.Tensor2D);
          dGates.unshift(dPre);
          carryH = tf.add(tf.sub(dState, dNextH), tf.matMul(dPre, kernelT)) as tf.Tensor2D;
        }
        const stacked = tf.stack(dGates, 1) as tf.Tensor3D;
        return [
          stacked,
          tf.zerosLike(savedMask),
          recurrentGradients(tf.stack(previous, 1) as tf.Tensor3D, stacked).dRecurrentKernel,
        ];
      },
    };
  });
  return op(inputGates, mask, recurrentKernel) as tf.Tensor3D;
}

/** The LSTM forward of `lstmSequence` without the hand-written gradient (tfjs differentiates it step by step). */
export function lstmSequenceReference(
  inputGates: tf.Tensor3D,
  mask: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
): tf.Tensor3D {
  checkShapes("lstmSequenceReference", inputGates, mask, recurrentKernel, 4);
  return tf.tidy(() => tf.stack(lstmForward(inputGates, mask, recurrentKernel).states, 1) as tf.Tensor3D);
}
