// Our wasm kernels (lib/kernels) must give the cpu backend's answers, and values worked out by hand.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { registerCpuKernels, registerWasmKernels } from "../lib/kernels/index";
import { sparseSoftmaxCrossEntropy } from "../lib/kernels/sparse-softmax-cross-entropy";

type Backend = "cpu" | "wasm";

// The stock cpu kernel, captured before anything replaces it: the wasm kernels are checked against it.
const stockCpuSegmentSum = tf.getKernel("UnsortedSegmentSum", "cpu");

/** Runs `compute` on one backend and returns its values, shape and dtype (tensors are disposed). */
async function on(backend: Backend, compute: () => tf.Tensor) {
  await tf.setBackend(backend);
  const result = tf.tidy(compute);
  const out = { values: Array.from(result.dataSync()), shape: result.shape, dtype: result.dtype };
  result.dispose();
  return out;
}

/** Runs `compute` on wasm and cpu and checks both give the same values and shape. */
async function expectWasmEqualsCpu(compute: () => tf.Tensor, precision = 5) {
  const cpu = await on("cpu", compute);
  const wasm = await on("wasm", compute);
  expect(wasm.shape).toEqual(cpu.shape);
  expect(wasm.values.length).toBe(cpu.values.length);
  wasm.values.forEach((value, i) => expect(value).toBeCloseTo(cpu.values[i], precision));
  return wasm;
}

/** Number of tensors the wasm backend holds: our kernels must free their intermediates. */
function wasmDataIds(): number {
  return (tf.findBackend("wasm") as unknown as { numDataIds(): number }).numDataIds();
}

beforeAll(async () => {
  registerWasmKernels();
  expect(await tf.setBackend("wasm")).toBe(true);
});

describe("registerWasmKernels", () => {
  it("installs each kernel exactly once, however often it is called", () => {
    const names = registerWasmKernels();
    const kernelFuncs = names.map((name) => tf.getKernel(name, "wasm").kernelFunc);
    expect(registerWasmKernels()).toEqual([
      ...["UnsortedSegmentSum", "OneHot"], // ours
      ...["BatchMatMul", "_FusedMatMul", "Slice", "Unpack", "SplitV"], // wrapped
    ]);
    expect(names.map((name) => tf.getKernel(name, "wasm").kernelFunc)).toEqual(kernelFuncs);
  });
});

describe("UnsortedSegmentSum on wasm", () => {
  // rows:            0        1       2       3        4        5
  const x = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]];

  it("sums duplicate ids, leaves empty segments at 0 and drops negative and too-large ids, like cpu", async () => {
    const ids = [2, 0, 2, -1, 4, 2]; // segment 1 and 3 empty; -1 and 4 (>= numSegments) dropped
    const result = await expectWasmEqualsCpu(() =>
      tf.unsortedSegmentSum(tf.tensor2d(x), tf.tensor1d(ids, "int32"), 4),
    );
    expect(result.values).toEqual([3, 4, 0, 0, 1 + 5 + 11, 2 + 6 + 12, 0, 0]);
    expect(result.dtype).toBe("float32");
  });

  it("sums int32 values to the cpu's numbers but keeps dtype int32 (the cpu backend returns float32)", async () => {
    const result = await expectWasmEqualsCpu(() =>
      tf.unsortedSegmentSum(tf.tensor2d(x, undefined, "int32"), tf.tensor1d([1, 1, 0, 1, 0, 5], "int32"), 2),
    );
    expect(result.values).toEqual([5 + 9, 6 + 10, 1 + 3 + 7, 2 + 4 + 8]);
    expect(result.dtype).toBe("int32");
  });

  it("matches cpu on a larger random case with many duplicates", async () => {
    await expectWasmEqualsCpu(() => {
      const values = tf.randomNormal([300, 5], 0, 1, "float32", 3);
      const ids = tf.randomUniform([300], -5, 60, "int32", 4); // some ids negative, some >= 50
      return tf.unsortedSegmentSum(values, ids as tf.Tensor1D, 50);
    });
  });

  it("follows TensorFlow for multi-dimensional ids: they index x's leading dimensions", async () => {
    // The op's typings say 1-D, but it passes any rank through to the kernel.
    const ids = () => tf.tensor2d([[1, 0], [1, 1]], [2, 2], "int32") as unknown as tf.Tensor1D;
    const result = await on("wasm", () => tf.unsortedSegmentSum(tf.tensor3d([[[1], [2]], [[3], [4]]]), ids(), 2));
    expect(result.shape).toEqual([2, 1]);
    expect(result.values).toEqual([2, 1 + 3 + 4]);
  });

  it("returns an empty tensor for zero segments (the cpu backend crashes there)", async () => {
    const ids = () => tf.tensor1d([0, 0, 0, 0, 0, 0], "int32");
    const result = await on("wasm", () => tf.unsortedSegmentSum(tf.tensor2d(x), ids(), 0));
    expect(result.shape).toEqual([0, 2]);
  });

  it("rejects bool input with a clear message", async () => {
    await tf.setBackend("wasm");
    expect(() =>
      tf.unsortedSegmentSum(tf.tensor1d([true, false], "bool"), tf.tensor1d([0, 1], "int32"), 2),
    ).toThrow(/UnsortedSegmentSum: x must be float32 or int32, got bool/);
  });

  it("frees its intermediates", async () => {
    await tf.setBackend("wasm");
    const before = wasmDataIds();
    tf.tidy(() => {
      tf.unsortedSegmentSum(tf.tensor2d(x), tf.tensor1d([0, -1, 1, 9, 1, 0], "int32"), 3); // invalid ids: extra row
      tf.unsortedSegmentSum(tf.tensor2d(x), tf.tensor1d([0, 1, 1, 2, 1, 0], "int32"), 3);
    });
    expect(wasmDataIds()).toBe(before);
  });
});

describe("gradient of tf.gather (embedding lookup) on wasm", () => {
  const table = () => tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]);

  it("scatters the upstream gradient back to the gathered rows, adding duplicates, like cpu", async () => {
    // loss = sum(gather(table, ids) * weights): d loss / d table[r] = sum of weights where ids == r.
    const ids = [[3, 1], [3, 3]];
    const weights = [[[1, 1, 1], [2, 2, 2]], [[3, 3, 3], [4, 4, 4]]];
    const result = await expectWasmEqualsCpu(() =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor2d(ids, [2, 2], "int32")), weights)))(table()),
    );
    expect(result.values).toEqual([0, 0, 0, 2, 2, 2, 0, 0, 0, 8, 8, 8]);
  });

  it("works along axis 1 too", async () => {
    const result = await expectWasmEqualsCpu(() =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([2, 0, 2], "int32"), 1)))(table()),
    );
    expect(result.values).toEqual([1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2]);
  });
});

describe("matmuls with transposed operands on wasm", () => {
  const normal = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
  const a = () => normal([2, 5, 3], 11);
  const b = () => normal([2, 3, 4], 12);
  const cases: [string, () => tf.Tensor][] = [
    ["2-D a·b", () => tf.matMul(normal([5, 3], 1), normal([3, 4], 2))],
    ["2-D aᵀ·b", () => tf.matMul(normal([3, 5], 1), normal([3, 4], 2), true)],
    ["2-D a·bᵀ", () => tf.matMul(normal([5, 3], 1), normal([4, 3], 2), false, true)],
    ["batched aᵀ·bᵀ", () => tf.matMul(a().transpose([0, 2, 1]), b().transpose([0, 2, 1]), true, true)],
    ["broadcast batch a·bᵀ", () => tf.matMul(a(), normal([1, 4, 3], 5), false, true)],
    ["4-D attention q·kᵀ", () => tf.matMul(normal([2, 2, 4, 3], 6), normal([2, 2, 4, 3], 7), false, true)],
    [
      "fused aᵀ·bᵀ + bias, relu",
      () =>
        tf.fused.matMul({
          a: normal([3, 5], 1),
          b: normal([4, 3], 2),
          transposeA: true,
          transposeB: true,
          bias: tf.tensor1d([0.5, -0.5, 1, -1]),
          activation: "relu",
        }),
    ],
  ];
  it.each(cases)("%s equals cpu", async (_name, compute) => {
    await expectWasmEqualsCpu(compute, 4);
  });

  it("gives the hand-computed product and frees the transposed copies", async () => {
    await tf.setBackend("wasm");
    const before = wasmDataIds();
    const product = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]), true, true));
    // aᵀ = [[1,3],[2,4]], bᵀ = [[5,7],[6,8]]
    expect(Array.from(product.dataSync())).toEqual([1 * 5 + 3 * 6, 1 * 7 + 3 * 8, 2 * 5 + 4 * 6, 2 * 7 + 4 * 8]);
    product.dispose();
    expect(wasmDataIds()).toBe(before);
  });
});

describe("OneHot on wasm", () => {
  // The stock wasm kernel writes int32 bit patterns: a float32 "1" reads as 1.4e-45.
  it("writes float32 ones and custom on/off values, like cpu", async () => {
    const ids = () => tf.tensor2d([[2, 0], [-1, 3]], [2, 2], "int32"); // -1 and 3 (>= depth) give all-off rows
    const plain = await expectWasmEqualsCpu(() => tf.oneHot(ids(), 3, 1, 0, "float32"));
    expect(plain.values).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(plain.dtype).toBe("float32");
    const smoothed = await expectWasmEqualsCpu(() => tf.oneHot(ids(), 3, 0.9, 0.05, "float32"));
    expect(smoothed.values.slice(0, 3)).toEqual([0.05, 0.05, 0.9].map(Math.fround));
    const ints = await expectWasmEqualsCpu(() => tf.oneHot(tf.tensor1d([1, 0], "int32"), 2));
    expect(ints).toMatchObject({ values: [0, 1, 1, 0], dtype: "int32" });
  });
});

describe("Slice, Unpack and SplitV on wasm", () => {
  const x = () => tf.range(0, 2 * 3 * 4, 1, "float32").reshape([2, 3, 4]); // x[i, j, k] = 12i + 4j + k
  const cases: [string, () => tf.Tensor][] = [
    ["a middle block", () => tf.slice(x(), [0, 1, 1], [2, 2, 2])],
    ["whole trailing axes", () => tf.slice(x(), [1, 0, 0], [1, -1, -1])],
    ["one column", () => tf.slice(x(), [0, 0, 3], [-1, -1, 1])],
    ["int32", () => tf.slice(x().cast("int32"), [0, 2, 0], [2, 1, 3])],
    ["bool", () => tf.slice(tf.greater(x(), 10), [1, 1, 1], [1, 2, 3]).cast("int32")],
    ["empty", () => tf.slice(x(), [0, 0, 0], [2, 0, 4])],
    ["a 1-D range", () => tf.slice(tf.range(0, 10), [3], [4])],
    ["unstack axis 0", () => tf.stack(tf.unstack(x(), 0), 2)],
    ["unstack axis 2", () => tf.stack(tf.unstack(x(), 2), 0)],
    ["unstack 1-D to scalars", () => tf.stack(tf.unstack(tf.range(0, 5)).map((s) => tf.mul(s, 2)))],
    ["split even", () => tf.concat(tf.split(x(), 2, 2).map((part, i) => tf.mul(part, i + 1)), 1)],
    ["split sizes", () => tf.concat(tf.split(x(), [1, -1], 1).map((part, i) => tf.mul(part, i + 1)), 1)],
  ];
  it.each(cases)("%s equals cpu", async (_name, compute) => {
    await expectWasmEqualsCpu(compute);
  });

  it("takes the hand-computed values and passes string tensors to the stock kernel", async () => {
    expect((await on("wasm", () => tf.slice(x(), [1, 2, 1], [1, 1, 2]))).values).toEqual([12 + 8 + 1, 12 + 8 + 2]);
    await tf.setBackend("wasm");
    expect(tf.slice(tf.tensor1d(["a", "b", "c"]), [1], [2]).arraySync()).toEqual(["b", "c"]);
  });
});

describe("sparseSoftmaxCrossEntropy", () => {
  const logits = () => tf.tensor2d([[1, 2, 3], [0.5, -1, 4], [2, 2, 2]]);
  const targets = () => tf.tensor1d([2, 0, 1], "int32");
  const reference = (scores: tf.Tensor) =>
    tf.losses.softmaxCrossEntropy(tf.oneHot(targets(), 3), scores) as tf.Scalar;
  const ours = (scores: tf.Tensor) => sparseSoftmaxCrossEntropy(scores as tf.Tensor2D, targets());

  it.each<Backend>(["cpu", "wasm"])("equals tf.losses.softmaxCrossEntropy and its gradient on %s", async (backend) => {
    const value = await on(backend, () => ours(logits()));
    const expected = [[1, 2, 3, 3], [0.5, -1, 4, 0.5], [2, 2, 2, 2]] // the row's logits, then its target's logit
      .map(([a, b, c, target]) => Math.log(Math.exp(a) + Math.exp(b) + Math.exp(c)) - target);
    expect(value.values[0]).toBeCloseTo(expected.reduce((sum, v) => sum + v) / 3, 5);
    expect(value.values[0]).toBeCloseTo((await on(backend, () => reference(logits()))).values[0], 5);
    const gradient = await on(backend, () => tf.grad(ours)(logits()));
    const expectedGradient = await on(backend, () => tf.grad(reference)(logits()));
    gradient.values.forEach((g, i) => expect(g).toBeCloseTo(expectedGradient.values[i], 6));
  });

  it("stays finite and exact when the target logit is far below the others", async () => {
    const value = await on("wasm", () => sparseSoftmaxCrossEntropy(tf.tensor2d([[0, 200]]), tf.tensor1d([0], "int32")));
    expect(value.values[0]).toBeCloseTo(200, 3);
  });

  it("rejects targets that do not match the rows", () => {
    expect(() => sparseSoftmaxCrossEntropy(logits(), tf.tensor1d([0], "int32"))).toThrow(/1 targets for 3 rows/);
  });
});

describe("UnsortedSegmentSum on cpu (replaces the stock O(numSegments · size) kernel)", () => {
  it("gives the stock kernel's values, one pass over x", async () => {
    await tf.setBackend("cpu");
    const x = tf.randomNormal([200, 4], 0, 1, "float32", 21);
    const ids = tf.randomUniform([200], -3, 40, "int32", 22) as tf.Tensor1D;
    const cpu = tf.findBackend("cpu") as unknown as { readSync(dataId: tf.DataId): Float32Array };
    const inputs = { x, segmentIds: ids };
    const stock = stockCpuSegmentSum.kernelFunc({ inputs, backend: cpu, attrs: { numSegments: 30 } });
    const expected = Array.from(cpu.readSync((stock as tf.TensorInfo).dataId));
    expect(registerCpuKernels()).toEqual(["UnsortedSegmentSum"]);
    const ours = tf.unsortedSegmentSum(x, ids, 30);
    expect(ours.shape).toEqual([30, 4]);
    Array.from(ours.dataSync()).forEach((value, i) => expect(value).toBeCloseTo(expected[i], 5));
    tf.dispose([x, ids, ours]);
  });

  it("sums int32 and drops invalid ids, by hand", async () => {
    registerCpuKernels();
    const result = await on("cpu", () =>
      tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4], "int32"), tf.tensor1d([1, 7, 1, -2], "int32"), 3),
    );
    expect(result).toEqual({ values: [0, 4, 0], shape: [3], dtype: "int32" });
  });
});
