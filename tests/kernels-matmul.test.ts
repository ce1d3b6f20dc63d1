// Our SIMD matmul kernels on wasm (lib/compute/kernels/matmul-in-place.ts and matmul-batched.ts) must give
// tfjs's results bit for bit: each element summed in the order of k, from +0, with float32 multiplies and adds,
// over blocks of k where the path they replace sums in blocks. The references below do exactly that in JavaScript
// (Math.fround after every operation).
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { registerWasmKernels } from "../lib/compute/kernels/index";
import { transposedLeftProduct } from "../lib/compute/kernels/matmul-in-place";
import type { WasmBackend } from "../lib/compute/kernels/wasm-backend";

const f = Math.fround;

/** Σ_k x(i, k)·y(k, j) for k < K, in blocks of `block` rows: each block from +0, added to the result in order. */
function referenceProduct(
  rows: number,
  columns: number,
  inner: number,
  x: (i: number, k: number) => number,
  y: (k: number, j: number) => number,
  block = inner,
): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      let total = 0;
      for (let k0 = 0; k0 < inner; k0 += block) {
        let sum = 0;
        for (let k = k0; k < Math.min(k0 + block, inner); k++) sum = f(sum + f(x(i, k) * y(k, j)));
        total = k0 === 0 ? sum : f(total + sum);
      }
      out[i * columns + j] = total;
    }
  }
  return out;
}

/** The indices where two arrays differ bit for bit (Object.is: -0 and +0 differ, NaN equals NaN). */
function differences(actual: ArrayLike<number>, expected: ArrayLike<number>): number[] {
  expect(actual.length).toBe(expected.length);
  const out: number[] = [];
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) out.push(i);
  return out;
}

const random = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
const wasmDataIds = () => (tf.findBackend("wasm") as unknown as { numDataIds(): number }).numDataIds();

beforeAll(async () => {
  registerWasmKernels();
  expect(await tf.setBackend("wasm")).toBe(true);
});

describe("aᵀ·b read in place (weight gradients)", () => {
  /** aᵀ·b's reference for a [K, M], b [K, N]. */
  function reference(a: tf.Tensor, b: tf.Tensor, block?: number): Float32Array {
    const [k, m] = a.shape.slice(-2);
    const n = b.shape[b.shape.length - 1];
    const [av, bv] = [a.dataSync(), b.dataSync()];
    return referenceProduct(
      m,
      n,
      k,
      (i, kk) => av[kk * m + i],
      (kk, j) => bv[kk * n + j],
      block,
    );
  }

  it.each([
    ["one tile, one row of k", 1, 4, 8],
    ["an odd number of rows (the unrolled loop's last row)", 37, 12, 16],
    ["several panels of b's rows (b 512 wide: 64 rows a panel)", 200, 8, 512],
    ["a wide a, read from packed copies of 64 columns (the last one 4 wide)", 33, 260, 8],
    ["a layer's weight gradient", 640, 64, 192],
  ])("%s: tf.matMul(a, b, true) equals the reference bit for bit", (_name, k, m, n) => {
    const a = random([k, m], k + m);
    const b = random([k, n], k + n);
    const product = tf.matMul(a, b, true, false);
    expect(product.shape).toEqual([m, n]);
    expect(differences(product.dataSync(), reference(a, b))).toEqual([]);
    tf.dispose([a, b, product]);
  });

  it("sums in blocks of rows when asked, as the blocked path for a tall right operand does", () => {
    const backend = tf.backend() as unknown as WasmBackend;
    const a = random([101, 8], 1);
    const b = random([101, 16], 2);
    for (const block of [1, 10, 48, 100, 101]) {
      const info = transposedLeftProduct(a, b, block, backend);
      const out = tf.engine().makeTensorFromTensorInfo(info);
      expect(differences(out.dataSync(), reference(a, b, block))).toEqual([]);
      out.dispose();
    }
    // Different blocks give different roundings: the test can tell them apart.
    expect(differences(reference(a, b, 10), reference(a, b)).length).toBeGreaterThan(0);
    tf.dispose([a, b]);
  });

  it("keeps the blocks of the path it replaces: aᵀ [128, 9000] beside a tall b [9000, 128]", () => {
    // Not swapped (128 · (9000 + 128) ≥ 9000 · 128) and b over 2^20 floats with few rows: blocks of 2^18 / 128 rows.
    const a = random([9000, 128], 3);
    const b = random([9000, 128], 4);
    const product = tf.matMul(a, b, true, false);
    expect(differences(product.dataSync(), reference(a, b, 2048))).toEqual([]);
    tf.dispose([a, b, product]);
  });

  it("gives the hand-computed product and frees what it allocates", () => {
    // a = [[1, 2, 3, 4]] repeated on 3 rows, b[k] = k + 1 on 8 columns: (aᵀ·b)[i][j] = (i + 1) · (1 + 2 + 3) = 6 (i + 1).
    const a = tf.tensor2d([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4], [3, 4]);
    const b = tf.tensor2d(
      Array.from({ length: 24 }, (_, i) => Math.floor(i / 8) + 1),
      [3, 8],
    );
    const before = wasmDataIds();
    const product = tf.matMul(a, b, true, false);
    expect(Array.from(product.dataSync())).toEqual([6, 12, 18, 24].flatMap((v) => Array(8).fill(v)));
    product.dispose();
    expect(wasmDataIds()).toBe(before);
    // A wide a takes the packed path, which allocates a scratch copy: freed too.
    const wide = random([5, 300], 5);
    const right = random([5, 8], 6);
    const before2 = wasmDataIds();
    tf.matMul(wide, right, true, false).dispose();
    expect(wasmDataIds()).toBe(before2);
    tf.dispose([a, b, wide, right]);
  });

  it("leaves other shapes to the other paths (M not a multiple of 4, N not of 8), which still give the product", () => {
    const a = random([9, 5], 7);
    const b = random([9, 6], 8);
    const product = tf.matMul(a, b, true, false);
    const expected = reference(a, b);
    product.dataSync().forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    // Empty results: no column or no row to tile.
    const noColumns = tf.matMul(random([5, 8], 11), tf.zeros([5, 0]), true, false);
    const noRows = tf.matMul(tf.zeros([5, 0]), random([5, 8], 12), true, false);
    expect([noColumns.shape, noRows.shape]).toEqual([
      [8, 0],
      [0, 8],
    ]);
    tf.dispose([a, b, product, noColumns, noRows]);
  });
});

describe("a·b read in place (few rows, a large right operand: the catalogue softmax's dh)", () => {
  function reference(a: tf.Tensor, b: tf.Tensor, block?: number): Float32Array {
    const [m, k] = a.shape;
    const n = b.shape[1] as number;
    const [av, bv] = [a.dataSync(), b.dataSync()];
    return referenceProduct(
      m,
      n,
      k,
      (i, kk) => av[i * k + kk],
      (kk, j) => bv[kk * n + j],
      block,
    );
  }

  it.each([
    // [M, K, N, the block of k of the path replaced (K: one sum)]
    ["4 rows, b of 2^16 floats", 4, 8192, 8, 8192],
    ["6 rows: 4 in place, 2 through a 4-row copy", 6, 8192, 8, 8192],
    ["3 rows only, several panels of b (512 wide: 64 rows a panel)", 3, 200, 512, 200],
    ["a tall b (over 2^20 floats, 5 rows): blocks of 2^18 / 128 rows", 5, 9000, 128, 2048],
    ["the catalogue's dh over 43,000 items (12 rows)", 12, 43000, 128, 2048],
  ])("%s: tf.matMul(a, b) equals the reference bit for bit", (_name, m, k, n, block) => {
    const a = random([m, k], m + n);
    const b = random([k, n], k + n);
    const product = tf.matMul(a, b);
    expect(product.shape).toEqual([m, n]);
    expect(differences(product.dataSync(), reference(a, b, block))).toEqual([]);
    tf.dispose([a, b, product]);
  });

  it("gives the hand-computed product and frees what it allocates, the 4-row copies included", () => {
    // a = [[1 … 1], [2 … 2], [3 … 3]] over 8192 columns, b = ones [8192, 8]: row i of the product is 8192 (i + 1).
    const a = tf.tidy(() => tf.mul(tf.ones([3, 8192]), tf.tensor2d([[1], [2], [3]])));
    const b = tf.ones([8192, 8]);
    const before = wasmDataIds();
    const product = tf.matMul(a, b);
    expect(Array.from(product.dataSync())).toEqual([1, 2, 3].flatMap((v) => Array(8).fill(8192 * v)));
    product.dispose();
    expect(wasmDataIds()).toBe(before);
    tf.dispose([a, b]);
  });
});

describe("batches of small products (attention)", () => {
  /** a · b's reference for a [batch, M, K], b [batch, K, N]. */
  function reference(a: tf.Tensor, b: tf.Tensor, block: number): Float32Array {
    const [batch, m, k] = a.shape;
    const n = b.shape[2] as number;
    const [av, bv] = [a.dataSync(), b.dataSync()];
    const out = new Float32Array(batch * m * n);
    for (let e = 0; e < batch; e++) {
      const part = referenceProduct(
        m,
        n,
        k,
        (i, kk) => av[e * m * k + i * k + kk],
        (kk, j) => bv[e * k * n + kk * n + j],
        block,
      );
      out.set(part, e * m * n);
    }
    return out;
  }

  it.each([
    // [batch, M, K, N]: below 2^14 multiply-adds per matrix, tfjs's loop summed k in blocks of 48 (its kBlockSize)
    ["K over one block of 48, N = 5 (a vector and a partial one)", 3, 2, 100, 5, 48],
    ["N = 23 (four vectors, one vector, three lanes)", 4, 3, 50, 23, 48],
    ["attention's weights·v, L = 10", 64, 10, 10, 16, 48],
    ["attention's q·kᵀ, L = 10", 64, 10, 16, 10, 48],
    ["N = 1, 2, 3 lanes only", 2, 3, 7, 3, 48],
    // from 2^14 on, XNNPACK per matrix summed all of k at once
    ["larger matrices, K = 60 in one sum", 2, 30, 60, 20, 60],
  ])("%s: equals the reference bit for bit", (_name, batch, m, k, n, block) => {
    const a = random([batch, m, k], batch + m);
    const b = random([batch, k, n], k + n);
    const product = tf.matMul(a, b);
    expect(product.shape).toEqual([batch, m, n]);
    expect(differences(product.dataSync(), reference(a, b, block))).toEqual([]);
    tf.dispose([a, b, product]);
  });

  it("serves 4-D attention with a transposed operand, and tells the two summation orders apart", () => {
    const q = random([2, 2, 10, 60], 9);
    const k = random([2, 2, 10, 60], 10);
    const scores = tf.matMul(q, k, false, true);
    expect(scores.shape).toEqual([2, 2, 10, 10]);
    const kT = tf.transpose(k, [0, 1, 3, 2]);
    const expected = reference(q.reshape([4, 10, 60]), kT.reshape([4, 60, 10]), 48);
    expect(differences(scores.dataSync(), expected)).toEqual([]);
    expect(
      differences(expected, reference(q.reshape([4, 10, 60]), kT.reshape([4, 60, 10]), 60)).length,
    ).toBeGreaterThan(0);
    tf.dispose([q, k, scores, kT]);
  });

  it("gives the hand-computed products and frees what it allocates", () => {
    // a[e] = (e + 1) everywhere [2, 3], b[e] = ones [3, 5]: every entry of product e is 3 (e + 1).
    const a = tf.tidy(() => tf.mul(tf.ones([2, 2, 3]), tf.reshape(tf.tensor1d([1, 2]), [2, 1, 1])));
    const b = tf.ones([2, 3, 5]);
    const before = wasmDataIds();
    const product = tf.matMul(a, b);
    expect(Array.from(product.dataSync())).toEqual([...Array(10).fill(3), ...Array(10).fill(6)]);
    product.dispose();
    expect(wasmDataIds()).toBe(before);
    tf.dispose([a, b]);
  });
});
