// The WGSL GRU/LSTM scans (lib/compute/kernels/webgpu-recurrent.ts) against the reference forward differentiated by tfjs's
// autograd, computed on cpu: states and the gradients of every input, for unit counts below, at and above one
// workgroup (a thread owning one unit, several, or none). Needs a WebGPU adapter; a software one (Mesa's lavapipe,
// which .ci/run installs) is enough. Without one the file is skipped.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { isBackendAvailable, startBackend } from "../lib/compute/backend";
import { webGpuScanAvailable } from "../lib/compute/kernels/webgpu-recurrent";
import { type Cell, FUSED, MASK, REFERENCE, type SequenceOp } from "./helpers/rnn-fixtures";

const available = isBackendAvailable("webgpu", true);
if (!available)
  console.log("kernels-webgpu: SKIPPED: no WebGPU adapter here (install mesa-vulkan-drivers for lavapipe)");

beforeAll(async () => {
  if (available) await startBackend("webgpu");
}, 60_000);

const [BATCH, SEQ_LEN] = [MASK.length, MASK[0].length];

/** Host arrays of the op's inputs: gates [b, L, G·u], mask, U [u, G·u] with entries ~ 1/√u, b' [G·u] for the GRU. */
function inputArrays(cell: Cell, units: number) {
  const gates = cell === "gru" ? 3 : 4;
  let state = 12345;
  const uniform = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const values = (n: number, scale: number) => Float32Array.from({ length: n }, () => uniform() * scale);
  return {
    gates: values(BATCH * SEQ_LEN * gates * units, 1.5),
    kernel: values(units * gates * units, 1.5 / Math.sqrt(units)),
    bias: values(gates * units, 0.3),
    weights: values(BATCH * SEQ_LEN * units, 1), // the loss Σ w ⊙ h weighs every state differently
    width: gates * units,
  };
}

/** States and the gradients of Σ w ⊙ states with respect to gates, U (and b'), read back to the host. */
async function run(op: SequenceOp, cell: Cell, units: number) {
  const a = inputArrays(cell, units);
  const inputs: tf.Tensor[] = [
    tf.tensor3d(a.gates, [BATCH, SEQ_LEN, a.width]),
    tf.tensor2d(MASK),
    tf.tensor2d(a.kernel, [units, a.width]),
  ];
  if (cell === "gru") inputs.push(tf.tensor1d(a.bias));
  const weights = tf.tensor3d(a.weights, [BATCH, SEQ_LEN, units]);
  const differentiable = inputs.filter((_, i) => i !== 1);
  const states = op(...inputs);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(op(xs[0], inputs[1], ...xs.slice(1)), weights)))(
    differentiable,
  );
  const arrays = await Promise.all([states, ...grads].map(async (t) => Array.from(await t.data())));
  tf.dispose([...inputs, weights, states, ...grads]);
  return arrays;
}

/** Largest |a − b| over the largest |b| (at least 1e-3). */
function relativeError(a: number[], b: number[]): number {
  let [worst, scale] = [0, 1e-3];
  b.forEach((y, i) => {
    worst = Math.max(worst, Math.abs(a[i] - y));
    scale = Math.max(scale, Math.abs(y));
  });
  return worst / scale;
}

describe.skipIf(!available)("WGSL GRU/LSTM scans match the reference", () => {
  const cases = (["gru", "lstm"] as const).flatMap((cell) => [3, 37, 300].map((units) => [cell, units] as const));
  it.each(cases)(
    "%s with %i units: states and every gradient",
    async (cell, units) => {
      await tf.setBackend("webgpu");
      expect(webGpuScanAvailable(BATCH, units)).toBe(true);
      const fused = await run(FUSED[cell], cell, units);
      await tf.setBackend("cpu");
      const reference = await run(REFERENCE[cell], cell, units);
      await tf.setBackend("webgpu");
      const names = ["states", "dGates", "dKernel", "dBias"];
      reference.forEach((expected, i) => {
        expect(fused[i]).toHaveLength(expected.length);
        expect({ what: names[i], small: relativeError(fused[i], expected) < 1e-4 }).toEqual({
          what: names[i],
          small: true,
        });
      });
    },
    120_000,
  );

  it("falls back to the tf-op path on other backends and beyond the limits", async () => {
    await tf.setBackend("cpu");
    expect(webGpuScanAvailable(4, 3)).toBe(false);
    await tf.setBackend("webgpu");
    expect([webGpuScanAvailable(4, 801), webGpuScanAvailable(65536, 3)]).toEqual([false, false]); // too big for one dispatch
  });
});
