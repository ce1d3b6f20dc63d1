// The fused GRU/LSTM sequence ops (lib/compute/kernels/recurrent-sequence.ts) against their reference, the same forward
// differentiated by tfjs's autograd, on cpu and wasm; plus central finite differences of the hand-written backward
// pass, and properties worked out by hand (padded steps receive no gradient, state held on padding).
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { gruSequence, lstmSequence } from "../lib/compute/kernels/recurrent-sequence";
import { registerCpuKernels, registerWasmKernels } from "../lib/compute/kernels/index";
import { type Cell, FUSED, MASK, REFERENCE, type SequenceOp } from "./helpers/rnn-fixtures";

type Backend = "cpu" | "wasm";

const BATCH = 4;
const SEQ_LEN = 5;
const UNITS = 3;

/** The op's inputs for one cell: inputGates [b, L, G·u], mask [b, L], U [u, G·u] (and b' [G·u] for the GRU). */
function inputsFor(cell: Cell): tf.Tensor[] {
  const gates = cell === "gru" ? 3 : 4;
  const inputGates = tf.randomNormal([BATCH, SEQ_LEN, gates * UNITS], 0, 1, "float32", 1);
  const kernel = tf.randomNormal([UNITS, gates * UNITS], 0, 0.7, "float32", 2);
  const mask = tf.tensor2d(MASK);
  return cell === "gru"
    ? [inputGates, mask, kernel, tf.randomNormal([gates * UNITS], 0, 0.3, "float32", 3)]
    : [inputGates, mask, kernel];
}

/** A scalar that weighs every state differently, so that every state's gradient matters. */
const WEIGHTS = () => tf.randomUniform([BATCH, SEQ_LEN, UNITS], -1, 1, "float32", 4);
function lossOf(op: SequenceOp, inputs: tf.Tensor[]): tf.Scalar {
  return tf.sum(tf.mul(op(...inputs), WEIGHTS()));
}

/** Gradients of the loss with respect to every differentiable input (all but the mask), as arrays. */
function gradients(op: SequenceOp, cell: Cell): number[][] {
  return tf.tidy(() => {
    const inputs = inputsFor(cell);
    const differentiable = inputs.filter((_, i) => i !== 1);
    const grads = tf.grads((...xs: tf.Tensor[]) => {
      const all = [xs[0], inputs[1], ...xs.slice(1)];
      return lossOf(op, all);
    })(differentiable);
    return grads.map((g) => Array.from(g.dataSync()));
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

beforeAll(() => {
  registerWasmKernels();
  registerCpuKernels();
});

describe.each<[Cell, Backend]>([
  ["gru", "cpu"],
  ["gru", "wasm"],
  ["lstm", "cpu"],
  ["lstm", "wasm"],
])("fused %s sequence on %s", (cell, backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it("gives the reference states", () => {
    const [fused, reference] = tf.tidy(() => {
      const inputs = inputsFor(cell);
      return [FUSED[cell](...inputs).dataSync(), REFERENCE[cell](...inputs).dataSync()];
    });
    expect(maxAbsDiff(fused, reference)).toBeLessThan(1e-6);
  });

  it("gives the reference gradients for the input gates, the recurrent kernel (and the GRU's recurrent bias)", () => {
    const fused = gradients(FUSED[cell], cell);
    const reference = gradients(REFERENCE[cell], cell);
    expect(fused.length).toBe(cell === "gru" ? 3 : 2);
    fused.forEach((g, i) => {
      expect(maxAbsDiff(g, reference[i])).toBeLessThan(1e-5);
      expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(1e-2); // not trivially zero
    });
  });

  it("sends no gradient into padded steps' input gates and holds the state there", () => {
    const [dInputGates] = gradients(FUSED[cell], cell);
    const width = (cell === "gru" ? 3 : 4) * UNITS;
    const states = tf.tidy(() => FUSED[cell](...inputsFor(cell)).arraySync()) as number[][][];
    MASK.forEach((row, r) =>
      row.forEach((m, t) => {
        const slice = dInputGates.slice((r * SEQ_LEN + t) * width, (r * SEQ_LEN + t + 1) * width);
        if (m === 0) {
          expect(Math.max(...slice.map(Math.abs))).toBe(0);
          expect(states[r][t]).toEqual(states[r][t - 1]);
        } else {
          expect(Math.max(...slice.map(Math.abs))).toBeGreaterThan(0);
        }
      }),
    );
  });

  it("frees everything but its result and gradients", () => {
    const before = tf.memory().numTensors;
    gradients(FUSED[cell], cell);
    tf.tidy(() => {
      FUSED[cell](...inputsFor(cell));
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.each<Cell>(["gru", "lstm"])("fused %s backward pass against finite differences (cpu)", (cell) => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  it("matches central differences of the loss on sampled entries of every input", () => {
    const analytic = gradients(FUSED[cell], cell);
    const epsilon = 1e-2;
    const lossAt = (inputIndex: number, entry: number, delta: number): number =>
      tf.tidy(() => {
        const inputs = inputsFor(cell);
        const values = inputs[inputIndex].dataSync().slice();
        values[entry] += delta;
        inputs[inputIndex] = tf.tensor(values, inputs[inputIndex].shape);
        return lossOf(FUSED[cell], inputs).dataSync()[0];
      });
    const differentiable = cell === "gru" ? [0, 2, 3] : [0, 2];
    differentiable.forEach((inputIndex, g) => {
      const size = analytic[g].length;
      for (const entry of [0, Math.floor(size / 3), Math.floor((2 * size) / 3), size - 1]) {
        const numeric = (lossAt(inputIndex, entry, epsilon) - lossAt(inputIndex, entry, -epsilon)) / (2 * epsilon);
        expect(Math.abs(numeric - analytic[g][entry])).toBeLessThan(2e-3 * (1 + Math.abs(numeric)));
      }
    });
  });
});

describe("shape checks", () => {
  it("names the op and the expected shapes", () => {
    const gates = tf.zeros([2, 3, 9]) as tf.Tensor3D;
    expect(() => gruSequence(gates, tf.ones([2, 4]), tf.zeros([3, 9]), tf.zeros([9]))).toThrow(
      /gruSequence: mask \[2,4\] must be \[batch, seqLen\] = \[2, 3\]/,
    );
    expect(() => lstmSequence(gates, tf.ones([2, 3]), tf.zeros([3, 9]))).toThrow(
      /lstmSequence: recurrentKernel \[3,9\]/,
    );
  });
});
