// lib/train/adam.ts: tfjs's Adam with each variable's update as one kernel (lib/compute/kernels/adam-update.ts) on wasm. It
// must give tfjs's AdamOptimizer's results bit for bit — weights and both moments — and fall back to it elsewhere.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { ADAM_UPDATE, adamUpdateSupported } from "../lib/compute/kernels/adam-update";
import { registerWasmKernels } from "../lib/compute/kernels/index";
import { adam } from "../lib/train/adam";

beforeAll(async () => {
  registerWasmKernels();
  expect(await tf.setBackend("wasm")).toBe(true);
});

/** Trains two copies of the same weights with tf.train.adam and ours on the same gradients; returns both optimizers'
 *  weights, then moments, as arrays. */
async function trainBoth(
  backend: "wasm" | "cpu",
  shapes: number[][],
  steps: number,
  config: [number, number?, number?, number?],
) {
  await tf.setBackend(backend);
  const init = shapes.map((shape, i) => tf.randomNormal(shape, 0, 1, "float32", 100 + i));
  const theirs = init.map((t) => tf.variable(t.clone()));
  const ours = init.map((t) => tf.variable(t.clone()));
  const [tfAdam, ourAdam]: tf.Optimizer[] = [tf.train.adam(...config), adam(...config)];
  for (let step = 0; step < steps; step++) {
    const grads = shapes.map((shape, i) => tf.randomNormal(shape, 0, 1, "float32", 1000 * step + i));
    tfAdam.applyGradients(Object.fromEntries(theirs.map((v, i) => [v.name, grads[i]])));
    ourAdam.applyGradients(Object.fromEntries(ours.map((v, i) => [v.name, grads[i]])));
    tf.dispose(grads);
  }
  const read = async (variables: tf.Variable[], optimizer: tf.Optimizer) => [
    ...variables.map((v) => Array.from(v.dataSync())),
    ...(await optimizer.getWeights()).slice(1).map((w) => Array.from(w.tensor.dataSync())),
  ];
  const result = { theirs: await read(theirs, tfAdam), ours: await read(ours, ourAdam) };
  tf.dispose([...init, ...theirs, ...ours]);
  tfAdam.dispose();
  ourAdam.dispose();
  return result;
}

describe("Adam with a fused update (lib/train/adam.ts)", () => {
  it("gives tf.train.adam's weights and moments bit for bit on wasm, a SIMD remainder and a scalar included", async () => {
    expect(adamUpdateSupported()).toBe(true); // Node 20 runs WebAssembly SIMD: the fused kernel is what is tested
    // 43 x 5 = 215 floats: 53 SIMD steps of 4 and 3 left over; [3]: no SIMD step at all.
    const { theirs, ours } = await trainBoth("wasm", [[43, 5], [3], [16]], 7, [0.01, 0.8, 0.95, 1e-6]);
    expect(ours).toHaveLength(9); // 3 weights, 3 first moments, 3 second moments
    ours.forEach((values, i) => expect(values).toEqual(theirs[i]));
    expect(ours[0]).not.toEqual((await trainBoth("wasm", [[43, 5], [3], [16]], 6, [0.01, 0.8, 0.95, 1e-6])).ours[0]); // the steps did move them
  });

  it("keeps the learning rate set between steps (fit's schedule writes `learningRate`)", async () => {
    await tf.setBackend("wasm");
    const [a, b] = [tf.variable(tf.ones([6])), tf.variable(tf.ones([6]))];
    const [theirs, ours]: tf.Optimizer[] = [tf.train.adam(0.1), adam(0.1)];
    for (const rate of [0.1, 0.05, 0.5]) {
      (theirs as unknown as { learningRate: number }).learningRate = rate;
      (ours as unknown as { learningRate: number }).learningRate = rate;
      const g = tf.tensor1d([1, -2, 3, -4, 5, 0]);
      theirs.applyGradients({ [a.name]: g });
      ours.applyGradients({ [b.name]: g });
      g.dispose();
    }
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b]);
  });

  it("moves each weight by −lr · sign(g) on its first step, as Adam does (m̂ = g, v̂ = g²)", async () => {
    await tf.setBackend("wasm");
    const w = tf.variable(tf.zeros([5]));
    const optimizer = adam(0.1);
    optimizer.applyGradients({ [w.name]: tf.tensor1d([2, -3, 0.5, -0.25, 7]) });
    Array.from(w.dataSync()).forEach((value, i) => expect(value).toBeCloseTo([-0.1, 0.1, -0.1, 0.1, -0.1][i], 5));
    w.dispose();
    optimizer.dispose();
  });

  it("is tfjs's own Adam where the backend has no fused kernel (cpu)", async () => {
    expect(tf.getKernel(ADAM_UPDATE, "cpu")).toBeUndefined();
    const { theirs, ours } = await trainBoth("cpu", [[4, 3]], 3, [0.01]);
    ours.forEach((values, i) => expect(values).toEqual(theirs[i]));
    await tf.setBackend("wasm");
  });
});
