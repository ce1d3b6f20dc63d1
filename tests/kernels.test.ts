// Our wasm kernels (lib/compute/kernels) must give the cpu backend's answers, and values worked out by hand.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { registerCpuKernels, registerWasmKernels } from "../lib/compute/kernels/index";
import {
  catalogueSoftmaxCrossEntropy,
  catalogueSoftmaxCrossEntropyReference,
  logitsItemsFirst,
} from "../lib/compute/kernels/catalogue-cross-entropy";
import { MAX_FAST_EXP_INPUT } from "../lib/compute/kernels/exp";
import { tallRightOperand } from "../lib/compute/kernels/matmul-explicit-transpose";
import { sparseSoftmaxCrossEntropy } from "../lib/compute/kernels/sparse-softmax-cross-entropy";

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
      ...["UnsortedSegmentSum", "OneHot", "SessionrecAdamUpdate"], // ours
      ...["BatchMatMul", "_FusedMatMul", "Slice", "Unpack", "SplitV", "Identity", "GatherV2", "Transpose", "Sum"], // wrapped
      ...["Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr", "Exp"],
    ]);
    expect(names.map((name) => tf.getKernel(name, "wasm").kernelFunc)).toEqual(kernelFuncs);
  });
});

describe("UnsortedSegmentSum on wasm", () => {
  // rows:            0        1       2       3        4        5
  const x = [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
    [9, 10],
    [11, 12],
  ];

  it("sums duplicate ids, leaves empty segments at 0 and drops negative and too-large ids, like cpu", async () => {
    const ids = [2, 0, 2, -1, 4, 2]; // segment 1 and 3 empty; -1 and 4 (>= numSegments) dropped
    const result = await expectWasmEqualsCpu(() => tf.unsortedSegmentSum(tf.tensor2d(x), tf.tensor1d(ids, "int32"), 4));
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
    const ids = () =>
      tf.tensor2d(
        [
          [1, 0],
          [1, 1],
        ],
        [2, 2],
        "int32",
      ) as unknown as tf.Tensor1D;
    const result = await on("wasm", () =>
      tf.unsortedSegmentSum(
        tf.tensor3d([
          [[1], [2]],
          [[3], [4]],
        ]),
        ids(),
        2,
      ),
    );
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
    expect(() => tf.unsortedSegmentSum(tf.tensor1d([true, false], "bool"), tf.tensor1d([0, 1], "int32"), 2)).toThrow(
      /UnsortedSegmentSum: x must be float32 or int32, got bool/,
    );
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
  const table = () =>
    tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
      [10, 11, 12],
    ]);

  it("scatters the upstream gradient back to the gathered rows, adding duplicates, like cpu", async () => {
    // loss = sum(gather(table, ids) * weights): d loss / d table[r] = sum of weights where ids == r.
    const ids = [
      [3, 1],
      [3, 3],
    ];
    const weights = [
      [
        [1, 1, 1],
        [2, 2, 2],
      ],
      [
        [3, 3, 3],
        [4, 4, 4],
      ],
    ];
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
    const product = tf.tidy(() =>
      tf.matMul(
        tf.tensor2d([
          [1, 2],
          [3, 4],
        ]),
        tf.tensor2d([
          [5, 6],
          [7, 8],
        ]),
        true,
        true,
      ),
    );
    // aᵀ = [[1,3],[2,4]], bᵀ = [[5,7],[6,8]]
    expect(Array.from(product.dataSync())).toEqual([1 * 5 + 3 * 6, 1 * 7 + 3 * 8, 2 * 5 + 4 * 6, 2 * 7 + 4 * 8]);
    product.dispose();
    expect(wasmDataIds()).toBe(before);
  });
});

describe("matmuls with a one-column or one-row operand on wasm, the same memory in several shapes", () => {
  // tfjs-backend-wasm keeps the XNNPACK operator of a plain product (the right operand packed once) under that
  // operand's memory: a tensor sharing it in another shape (a reshape, or qᵀ of a one-column q, which moves no data)
  // got the operator packed for the first shape. x·q then dy·qᵀ (the gradient) gave wrong values, NaN, or an abort.
  const normal = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
  const combos: [boolean, boolean][] = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];

  /**
   * Forward and gradients (with respect to both operands, for a random upstream gradient) of a·b for plain shapes
   * [n, d]·[d, 1], [1, d]·[d, n] and [n, 1]·[1, d], each with every transpose combination, three times over, all
   * built from one q [d, 1] (reshaped where a [1, d] is needed) and one x [n, d], and fused x·q and y·qᵀ with a relu;
   * flattened into one tensor.
   */
  function oneColumnProducts(n: number, d: number, seed: number): tf.Tensor {
    const x = normal([n, d], seed); // [n, d]
    const q = normal([d, 1], seed + 1); // [d, 1]
    const y = normal([n, 1], seed + 2); // [n, 1]
    const stored = (t: tf.Tensor, transposed: boolean) => (transposed ? tf.transpose(t) : t);
    const qRow = () => tf.reshape(q, [1, d]); // shares q's memory
    const pairs: [() => tf.Tensor, () => tf.Tensor][] = [
      [() => x, () => q], // [n, d]·[d, 1]
      [qRow, () => tf.transpose(x)], // [1, d]·[d, n]
      [() => y, qRow], // [n, 1]·[1, d]
    ];
    const outputs: tf.Tensor[] = [];
    for (let call = 0; call < 3; call++) {
      for (const [plainA, plainB] of pairs) {
        for (const [transposeA, transposeB] of combos) {
          const a = stored(plainA(), transposeA);
          const b = stored(plainB(), transposeB);
          const product = tf.matMul(a, b, transposeA, transposeB);
          const dy = normal(product.shape, seed + 3 + call);
          const loss = (a0: tf.Tensor, b0: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a0, b0, transposeA, transposeB), dy));
          const [gradA, gradB] = tf.grads(loss)([a, b]);
          outputs.push(product, gradA, gradB);
        }
      }
      // The fused kernel shares the cache (an operator per right operand, bias and activation).
      outputs.push(tf.fused.matMul({ a: x, b: q, activation: "relu" }));
      outputs.push(tf.fused.matMul({ a: y, b: qRow(), activation: "relu" }));
    }
    return tf.concat(outputs.map((t) => tf.reshape(t, [-1])));
  }

  it.each([
    [5, 3],
    [40, 128],
    [200, 64],
  ])("forward and gradients equal cpu for n = %i, d = %i, every transpose, several calls", async (n, d) => {
    await expectWasmEqualsCpu(() => oneColumnProducts(n, d, 100 + d), 3);
  });

  it("gives the hand-computed product x·q and gradient qᵀ per row, x·q first", async () => {
    await tf.setBackend("wasm");
    const x = tf.tensor2d([
      [1, 0, 0],
      [0, 1, 1],
    ]);
    const q = tf.tensor2d([[1], [2], [3]]); // [3, 1]
    const product = tf.matMul(x, q); // packs q as [3, 1]
    const gradX = tf.grad((x0: tf.Tensor) => tf.sum(tf.matMul(x0, q)))(x); // dy·qᵀ: q's memory as [1, 3]
    const outer = tf.matMul(tf.ones([2, 1]), tf.reshape(q, [1, 3])); // the same through a reshape
    expect(Array.from(product.dataSync())).toEqual([1, 5]);
    expect(Array.from(gradX.dataSync())).toEqual([1, 2, 3, 1, 2, 3]);
    expect(Array.from(outer.dataSync())).toEqual([1, 2, 3, 1, 2, 3]);
    tf.dispose([x, q, product, gradX, outer]);
  });
});

describe("OneHot on wasm", () => {
  // The stock wasm kernel writes int32 bit patterns: a float32 "1" reads as 1.4e-45.
  it("writes float32 ones and custom on/off values, like cpu", async () => {
    const ids = () =>
      tf.tensor2d(
        [
          [2, 0],
          [-1, 3],
        ],
        [2, 2],
        "int32",
      ); // -1 and 3 (>= depth) give all-off rows
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
    [
      "split even",
      () =>
        tf.concat(
          tf.split(x(), 2, 2).map((part, i) => tf.mul(part, i + 1)),
          1,
        ),
    ],
    [
      "split sizes",
      () =>
        tf.concat(
          tf.split(x(), [1, -1], 1).map((part, i) => tf.mul(part, i + 1)),
          1,
        ),
    ],
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
  const logits = () =>
    tf.tensor2d([
      [1, 2, 3],
      [0.5, -1, 4],
      [2, 2, 2],
    ]);
  const targets = () => tf.tensor1d([2, 0, 1], "int32");
  const reference = (scores: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(targets(), 3), scores) as tf.Scalar;
  const ours = (scores: tf.Tensor) => sparseSoftmaxCrossEntropy(scores as tf.Tensor2D, targets());

  it.each<Backend>(["cpu", "wasm"])("equals tf.losses.softmaxCrossEntropy and its gradient on %s", async (backend) => {
    const value = await on(backend, () => ours(logits()));
    const expected = [
      [1, 2, 3, 3],
      [0.5, -1, 4, 0.5],
      [2, 2, 2, 2],
    ] // the row's logits, then its target's logit
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

describe("Identity on wasm (shares memory instead of copying)", () => {
  it("clones without a copy, and the clone outlives the original", async () => {
    await tf.setBackend("wasm");
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const before = wasmDataIds();
    const y = tf.clone(x);
    expect(wasmDataIds()).toBe(before); // same memory, one more reference
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(wasmDataIds()).toBe(before - 1);
  });
});

describe("GatherV2 on wasm", () => {
  const table = () => tf.range(0, 24, 1, "float32").reshape([6, 4]); // table[r, k] = 4r + k
  const cases: [string, () => tf.Tensor][] = [
    [
      "rows by a 2-D index",
      () =>
        tf.gather(
          table(),
          tf.tensor2d(
            [
              [5, 0],
              [2, 2],
            ],
            [2, 2],
            "int32",
          ),
        ),
    ],
    ["columns (axis 1)", () => tf.gather(table(), tf.tensor1d([3, 1], "int32"), 1)],
    [
      "int32 values, rows of 64 (TypedArray.set)",
      () => tf.gather(tf.range(0, 640, 1, "int32").reshape([10, 64]), tf.tensor1d([9, 0, 9], "int32")),
    ],
    ["bool values", () => tf.gather(tf.greater(table(), 10), tf.tensor1d([1, 4], "int32")).cast("int32")],
  ];
  it.each(cases)("%s equals cpu", async (_name, compute) => {
    await expectWasmEqualsCpu(compute);
  });

  it("takes the hand-computed rows and rejects an index outside the table", async () => {
    const rows = await on("wasm", () => tf.gather(table(), tf.tensor1d([2, 0], "int32")));
    expect(rows.values).toEqual([8, 9, 10, 11, 0, 1, 2, 3]);
    expect(() => tf.tidy(() => tf.gather(table(), tf.tensor1d([6], "int32")))).toThrow(
      /index value 6 is not in \[0, 5\]/,
    );
  });
});

describe("Transpose on wasm", () => {
  const normal = (shape: number[]) => tf.randomNormal(shape, 0, 1, "float32", 31);
  // Large 2-D blocks and long runs take our path; the rest stays with the stock kernel.
  const cases: [string, () => tf.Tensor][] = [
    ["a large 2-D matrix, rows not a multiple of 8", () => tf.transpose(normal([301, 1000]))],
    ["a batch of large matrices", () => tf.transpose(normal([2, 600, 500]), [0, 2, 1])],
    ["large matrices inside a 4-D tensor", () => tf.transpose(normal([2, 1, 520, 510]), [1, 0, 3, 2])],
    ["runs of 64 in a new order", () => tf.transpose(normal([8, 100, 64]), [1, 0, 2])],
    ["int32", () => tf.transpose(normal([600, 500]).mul(100).cast("int32"))],
    ["small (stock kernel)", () => tf.transpose(normal([3, 4, 5]), [2, 0, 1])],
  ];
  it.each(cases)("%s equals cpu", async (_name, compute) => {
    await expectWasmEqualsCpu(compute);
  });

  it("shares memory when no value moves", async () => {
    await tf.setBackend("wasm");
    const x = tf.tensor3d([[[1], [2], [3]]]); // [1, 3, 1]
    const before = wasmDataIds();
    const y = tf.transpose(x, [2, 1, 0]);
    expect(wasmDataIds()).toBe(before);
    expect(y.shape).toEqual([1, 3, 1]);
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([x, y]);
  });
});

describe("Sum on wasm", () => {
  const normal = (shape: number[]) => tf.randomNormal(shape, 0, 1, "float32", 41);
  const cases: [string, () => tf.Tensor][] = [
    ["over the rows (a bias gradient)", () => tf.sum(normal([1003, 7]), 0)],
    ["over two leading axes", () => tf.sum(normal([5, 6, 7]), [0, 1])],
    ["over leading axes, keepDims", () => tf.sum(normal([5, 6, 7]), 0, true)],
    ["over a middle axis", () => tf.sum(normal([5, 6, 7]), 1)],
    ["over the last axis", () => tf.sum(normal([5, 6, 7]), 2)],
    ["int32 over the rows", () => tf.sum(tf.range(0, 60, 1, "int32").reshape([10, 6]), 0)],
  ];
  it.each(cases)("%s equals cpu", async (_name, compute) => {
    await expectWasmEqualsCpu(compute, 4);
  });

  it("adds rows as float64 would, to float32 precision", async () => {
    // 1 + 8 rows of 1e-8: float32 running sums would stay at 1 after each add.
    const values = [1, ...Array(8).fill(1e-8)];
    const result = await on("wasm", () => tf.sum(tf.tensor2d(values, [9, 1]), 0));
    expect(result.values[0]).toBe(Math.fround(1 + 8e-8));
    expect(result.shape).toEqual([1]);
  });
});

describe("comparisons on wasm", () => {
  const column = () => tf.tensor2d([[1], [2], [3]], [3, 1], "int32");
  const row = () => tf.tensor2d([[3, 2, 1, 2]], [1, 4], "int32");
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ["equal", tf.equal],
    ["notEqual", tf.notEqual],
    ["less", tf.less],
    ["lessEqual", tf.lessEqual],
    ["greater", tf.greater],
    ["greaterEqual", tf.greaterEqual],
  ];
  it.each(ops)("%s broadcasts [3, 1] against [1, 4] like cpu", async (_name, op) => {
    const result = await expectWasmEqualsCpu(() => op(column(), row()).cast("int32"));
    expect(result.shape).toEqual([3, 4]);
  });

  it("gives the hand-computed equality table, also for float32 and 3-D broadcasting", async () => {
    const table = await on("wasm", () => tf.equal(column(), row()).cast("int32"));
    expect(table.values).toEqual([0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0]);
    const deep = await expectWasmEqualsCpu(() =>
      tf.less(tf.tensor3d([[[0.5, 1.5, 2.5]], [[3, 0, 1]]]), tf.tensor2d([[1], [2]])).cast("int32"),
    ); // [2, 1, 3] against [2, 1] → [2, 2, 3]
    expect(deep.values).toEqual([1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1]);
  });

  it("treats NaN as unequal to everything and runs logical ops on bool", async () => {
    const nan = await on("wasm", () => tf.equal(tf.tensor2d([[NaN], [1]]), tf.tensor2d([[NaN, 1]])).cast("int32"));
    expect(nan.values).toEqual([0, 0, 0, 1]);
    const both = await expectWasmEqualsCpu(() =>
      tf
        .logicalAnd(tf.tensor2d([[true], [false]], [2, 1], "bool"), tf.tensor2d([[true, false]], [1, 2], "bool"))
        .cast("int32"),
    );
    expect(both.values).toEqual([1, 0, 0, 0]);
    const either = await on("wasm", () =>
      tf
        .logicalOr(tf.tensor2d([[true], [false]], [2, 1], "bool"), tf.tensor2d([[true, false]], [1, 2], "bool"))
        .cast("int32"),
    );
    expect(either.values).toEqual([1, 1, 1, 0]);
  });
});

describe("Exp on wasm (through the vectorised sigmoid)", () => {
  it(`is within 5e-7 relative of exp on [-${MAX_FAST_EXP_INPUT}, ${MAX_FAST_EXP_INPUT}]`, async () => {
    const xs = Array.from({ length: 20_001 }, (_, i) =>
      Math.fround(-MAX_FAST_EXP_INPUT + (2 * MAX_FAST_EXP_INPUT * i) / 20_000),
    );
    const { values } = await on("wasm", () => tf.exp(tf.tensor1d(xs)));
    xs.forEach((x, i) => expect(Math.abs(values[i] - Math.exp(x)) / Math.exp(x)).toBeLessThan(5e-7));
  });

  it("hands inputs above the range to the stock kernel, and underflows and NaN stay as they should", async () => {
    const { values } = await on("wasm", () => tf.exp(tf.tensor1d([88, 0, 1])));
    expect(values[0] / Math.exp(88)).toBeCloseTo(1, 6); // finite, not Infinity
    const edges = await on("wasm", () => tf.exp(tf.tensor1d([-100, NaN, 0, -1])));
    expect(edges.values[0]).toBe(0);
    expect(edges.values[1]).toBeNaN();
    expect(edges.values[2]).toBe(1);
    expect(edges.values[3]).toBeCloseTo(Math.exp(-1), 7);
  });

  it("gives the cpu gradient of logSoftmax", async () => {
    const x = () => tf.randomNormal([30, 50], 0, 3, "float32", 51);
    const w = () => tf.randomNormal([30, 50], 0, 1, "float32", 52);
    await expectWasmEqualsCpu(() => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(z), w())))(x()));
  });
});

describe("batches of matmuls computed one matrix at a time on wasm", () => {
  // Products of >= 2^14 multiply-adds per matrix take the per-matrix path; smaller ones the stock loop.
  const normal = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
  it.each<[string, () => tf.Tensor]>([
    ["batched a·b", () => tf.matMul(normal([3, 40, 24], 81), normal([3, 24, 20], 82))],
    ["4-D attention weights·v", () => tf.matMul(normal([2, 3, 30, 30], 83), normal([2, 3, 30, 20], 84))],
    ["one a against a batch of b", () => tf.matMul(normal([1, 40, 24], 85), normal([3, 24, 20], 86))],
    ["a batch of a against one b", () => tf.matMul(normal([3, 40, 24], 87), normal([24, 20], 88))],
    ["batched aᵀ·b", () => tf.matMul(normal([3, 24, 40], 89), normal([3, 24, 20], 90), true, false)],
    ["small products (stock loop)", () => tf.matMul(normal([3, 5, 4], 91), normal([3, 4, 6], 92))],
  ])("%s equals cpu", async (_name, compute) => {
    await expectWasmEqualsCpu(compute, 3);
  });

  it("gives the hand-computed products and frees its intermediates", async () => {
    await tf.setBackend("wasm");
    // a[i] = (i + 1) everywhere [32, 32], b[i] = ones [32, 32]: every entry of product i is 32 (i + 1).
    const a = tf.tidy(() => tf.mul(tf.ones([3, 32, 32]), tf.reshape(tf.tensor1d([1, 2, 3]), [3, 1, 1])));
    const b = tf.ones([3, 32, 32]);
    const before = wasmDataIds();
    const product = tf.matMul(a, b);
    expect(product.shape).toEqual([3, 32, 32]);
    const values = product.dataSync();
    [0, 1, 2].forEach((i) =>
      expect(new Set(values.subarray(i * 1024, (i + 1) * 1024))).toEqual(new Set([32 * (i + 1)])),
    );
    product.dispose();
    expect(wasmDataIds()).toBe(before);
    tf.dispose([a, b]);
  });
});

describe("weight-gradient matmuls aᵀ·b computed as (bᵀ·a)ᵀ on wasm", () => {
  const normal = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
  it.each<[string, () => tf.Tensor]>([
    ["tall 2-D", () => tf.matMul(normal([300, 8], 61), normal([300, 50], 62), true, false)],
    ["tall, batch of one", () => tf.matMul(normal([1, 300, 8], 63), normal([1, 300, 50], 64), true, false)],
  ])("%s equals cpu", async (_name, compute) => {
    await expectWasmEqualsCpu(compute, 4);
  });

  it("frees its intermediates", async () => {
    await tf.setBackend("wasm");
    const a = normal([300, 8], 61);
    const b = normal([300, 50], 62);
    const before = wasmDataIds();
    tf.tidy(() => {
      tf.matMul(a, b, true, false);
    });
    expect(wasmDataIds()).toBe(before);
    tf.dispose([a, b]);
  });
});

describe("products with a tall right operand, summed over blocks of the inner dimension on wasm", () => {
  const info = (shape: number[]) => ({ dataId: {}, shape, dtype: "float32" as const });

  it("takes the blocks only for a right operand over 2^20 floats and a few rows", () => {
    expect(tallRightOperand(info([96, 43000]), info([43000, 128]))).toBe(true); // the catalogue softmax's dh = G·W
    expect(tallRightOperand(info([1, 96, 43000]), info([1, 43000, 128]))).toBe(true);
    expect(tallRightOperand(info([96, 8000]), info([8000, 128]))).toBe(false); // 2^20 floats or fewer: one piece
    expect(tallRightOperand(info([1024, 43000]), info([43000, 128]))).toBe(false); // many rows: the copies cost more
    expect(tallRightOperand(info([2, 96, 43000]), info([2, 43000, 128]))).toBe(false); // a batch: per matrix
  });

  it("gives the hand-computed product, and cpu's on random values, and frees its intermediates", async () => {
    await tf.setBackend("wasm");
    // a = ones [3, 9000], b[k][j] = (k + j) mod 4: every entry is 9000 / 4 · (0 + 1 + 2 + 3) = 13,500, exact in float32.
    const b = tf.tensor2d(
      Float32Array.from({ length: 9000 * 128 }, (_, i) => (Math.floor(i / 128) + (i % 128)) % 4),
      [9000, 128],
    );
    const a = tf.ones([3, 9000]);
    const before = wasmDataIds();
    const product = tf.matMul(a, b);
    expect(product.shape).toEqual([3, 128]);
    expect(new Set(product.dataSync())).toEqual(new Set([13500]));
    product.dispose();
    expect(wasmDataIds()).toBe(before);
    tf.dispose([a, b]);
    const normal = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
    const { values } = await expectWasmEqualsCpu(
      () => tf.div(tf.matMul(normal([5, 9000], 93), normal([9000, 128], 94)), 100),
      4,
    );
    expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(0.5);
  });
});

describe("catalogueSoftmaxCrossEntropy (scores h·Wᵀ + b over the whole catalogue, one op)", () => {
  const hidden = () => tf.randomNormal([7, 5], 0, 1, "float32", 71) as tf.Tensor2D;
  const vectors = () => tf.randomNormal([23, 5], 0, 1, "float32", 72) as tf.Tensor2D;
  const bias = () => tf.randomNormal([23], 0, 1, "float32", 73) as tf.Tensor1D;
  const targets = () => tf.tensor1d([0, 22, 5, 5, 11, 3, 17], "int32");
  // 7 rows of 23 items in chunks of at most 3 rows (69 / 23): three chunks, the last one short.
  const fusedIn = (itemsFirst?: boolean) => (h: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
    catalogueSoftmaxCrossEntropy(h as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, targets(), 69, itemsFirst);
  const fused = fusedIn();
  const reference = (h: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
    catalogueSoftmaxCrossEntropyReference(h as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, targets());

  it.each<[Backend, string, boolean | undefined]>([
    ["cpu", "", undefined],
    ["wasm", ", logits items-first (W·hᵀ)ᵀ", true],
    ["wasm", ", logits rows-first h·(Wᵀ)", false],
  ])(
    "gives the reference loss and gradients for h, W and b on %s%s, over several chunks",
    async (backend, _layout, itemsFirst) => {
      const ours = await on(backend, () => fusedIn(itemsFirst)(hidden(), vectors(), bias()));
      const expected = await on(backend, () => reference(hidden(), vectors(), bias()));
      expect(ours.values[0]).toBeCloseTo(expected.values[0], 5);
      for (let input = 0; input < 3; input++) {
        const gradient = (loss: typeof fused) => () => tf.grads(loss)([hidden(), vectors(), bias()])[input];
        const got = await on(backend, gradient(fusedIn(itemsFirst)));
        const want = await on(backend, gradient(reference));
        expect(got.shape).toEqual(want.shape);
        got.values.forEach((g, i) => expect(g).toBeCloseTo(want.values[i], 6));
        expect(Math.max(...got.values.map(Math.abs))).toBeGreaterThan(1e-3);
      }
    },
  );

  it("computes the logits items-first only on wasm, for few rows over a table of more than 2^20 floats", async () => {
    await tf.setBackend("wasm");
    expect(logitsItemsFirst(96, 128, 43_000)).toBe(true); // the YOOCHOOSE GRU: 5.5M floats, 96 targets
    expect(logitsItemsFirst(257, 128, 43_000)).toBe(false); // more rows than 2d
    expect(logitsItemsFirst(64, 64, 7_785)).toBe(false); // the course's MLP: 0.5M floats, the usual order
    expect(logitsItemsFirst(64, 64, 2 ** 14)).toBe(false); // exactly 2^20 floats
    expect(logitsItemsFirst(64, 64, 2 ** 14 + 1)).toBe(true);
    await tf.setBackend("cpu");
    expect(logitsItemsFirst(96, 128, 43_000)).toBe(false);
  });

  it("equals the hand-computed loss of one row", async () => {
    // h = [1, 0], W rows [1, 0], [0, 1], [2, 0], b = 0: scores [1, 0, 2], target 2.
    const { values } = await on("wasm", () =>
      catalogueSoftmaxCrossEntropy(
        tf.tensor2d([[1, 0]]),
        tf.tensor2d([
          [1, 0],
          [0, 1],
          [2, 0],
        ]),
        tf.zeros([3]),
        tf.tensor1d([2], "int32"),
      ),
    );
    expect(values[0]).toBeCloseTo(Math.log(Math.E + 1 + Math.E ** 2) - 2, 6);
  });

  it("frees everything but its result and gradients, and checks its inputs", async () => {
    await tf.setBackend("wasm");
    const inputs = [hidden(), vectors(), bias()];
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grads(fused)(inputs);
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(inputs);
    expect(() => catalogueSoftmaxCrossEntropy(hidden(), vectors(), tf.zeros([22]) as tf.Tensor1D, targets())).toThrow(
      /bias has 22 entries for 23 items/,
    );
    expect(() => catalogueSoftmaxCrossEntropy(hidden(), tf.zeros([23, 4]) as tf.Tensor2D, bias(), targets())).toThrow(
      /differ in width/,
    );
  });
});
