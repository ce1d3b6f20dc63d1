// The wasm backend's matmuls take a naive slow path whenever an operand is transposed (transposeA/transposeB),
// ~8-12x slower than the XNNPACK path on [1024, 64] x [64, 20000]. Every matmul gradient transposes an operand
// (dW = xᵀ·dy, dx = dy·Wᵀ), so this wrapper transposes such operands explicitly and calls the original kernel
// with plain operands.
// XNNPACK repacks the right operand ("weights") on every call with a new tensor, and that packing is slow (~15 ns
// per element, strided reads). A weight gradient dW = xᵀ·dy has a tall x [K, M] and a tall, wider dy [K, N]; packing
// dy costs more than transposing it, so such products are computed as (dyᵀ·x)ᵀ, which packs the narrower x:
// ~2x faster for the [5129, 64]ᵀ·[5129, 1024] of a sampled softmax or the [10240, 64]ᵀ·[10240, 192] of a GRU.
// XNNPACK serves only a single matrix: a batch of products (attention's q·kᵀ and weights·v) takes a scalar loop at
// ~0.7 GFLOP/s. A batch of matrices up to 2^20 multiply-adds each is computed by our SIMD loop (matmul-batched.ts;
// 3-9x on attention's shapes), a batch of larger ones as one XNNPACK product per element.
// A transposed left operand (aᵀ·b: every weight gradient), and a plain product of few rows with a large right operand
// (the catalogue softmax's dh), are read in place by a kernel of our own (matmul-in-place.ts): nothing is transposed
// or packed.
// That packing also slows down steeply once the right operand outgrows the cache: a fresh [43000, 128] packs in
// ~100 ms, ten [4300, 128] row blocks of it in ~25 ms together. A product with a tall right operand (the catalogue
// softmax's dh = G·W over the whole item table) is therefore summed over blocks of the inner dimension (2.3x on
// [96, 43000]·[43000, 128]); the sum in another order changes the last bits of the result.
// The XNNPACK operator of a plain product (b packed once) is kept by tfjs-backend-wasm under b's memory, not b's
// shape (batch_mat_mul_impl.cc: the cache key is b's id, the bias's id and the activation). A tensor that shares that
// memory in another shape — any tf.reshape, or qᵀ of a one-column q, which our Transpose returns without moving data —
// got the operator packed for the first shape: after x·q, the gradient dy·qᵀ read and wrote out of bounds (wrong
// values, NaN or an abort). Every product here therefore goes through `runOriginal`, which copies such an operand.
import * as tf from "@tensorflow/tfjs";
import { TFJS_LOOP_BLOCK_ROWS, batchedProduct, batchedProductSupported } from "./matmul-batched";
import {
  plainInPlaceSupported,
  plainProductInPlace,
  transposedLeftProduct,
  transposedLeftSupported,
} from "./matmul-in-place";
import { runWasmKernel, type WasmBackend } from "./wasm-backend";

/** Swaps the last two axes: [..., m, n] → [..., n, m]. The caller owns the result. */
function transposeLastTwo(x: tf.TensorInfo, backend: WasmBackend): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  return runWasmKernel("Transpose", { x }, backend, { perm });
}

/**
 * Whether aᵀ·b (a [(1,) K, M], b [(1,) K, N], a single matrix each) is cheaper as (bᵀ·a)ᵀ. Counting a transpose as
 * 1 per element and a packing as 2: aᵀ·b costs K·M + 2·K·N, (bᵀ·a)ᵀ costs K·N + 2·K·M + M·N; the second wins when
 * M·(K + N) < K·N.
 */
function swapOperands(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  const single = (x: tf.TensorInfo) => x.shape.length >= 2 && tf.util.sizeFromShape(x.shape.slice(0, -2)) === 1;
  if (!single(a) || !single(b)) return false;
  const [k, m] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  return m * (k + n) < k * n;
}

/** Above this many result columns aᵀ·b goes through XNNPACK: our kernel's panels of b get too short. */
const MAX_IN_PLACE_RESULT_COLUMNS = 4096;

/**
 * Whether aᵀ·b is computed in place (matmul-in-place.ts) rather than transposed and packed for XNNPACK:
 * XNNPACK's multiply-adds are faster than ours, but the transposes and the packing cost more than that difference
 * on every weight gradient measured — CPU time per product, ours against tfjs's path, one process, two trainings
 * beside it: [10240, 64]ᵀ·[10240, 64] 4.8 vs 6.4 ms, [10240, 64]ᵀ·[10240, 256] 13 vs 22, [5129, 64]ᵀ·[5129, 1024] 31
 * vs 37, the catalogue's [419, 40000]ᵀ·[419, 64] 85 vs 110 and [96, 43000]ᵀ·[96, 128] 48 vs 54 — and not on a
 * result as wide as a catalogue ([96, 128]ᵀ·[96, 43000] 336 vs 291).
 */
function transposedLeftInPlace(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  return transposedLeftSupported(a, b) && b.shape[b.shape.length - 1] <= MAX_IN_PLACE_RESULT_COLUMNS;
}

/** Up to this many rows, a plain product with a right operand of at least MIN_IN_PLACE_RIGHT floats is computed in
 *  place: XNNPACK would pack that operand for so few rows. CPU time per product, ours against tfjs's path (one
 *  process, a training beside it): [96, 43000]·[43000, 128] 44 vs 74 ms, [416, 40000]·[40000, 64] 90 vs 154,
 *  [1024, 40000]·[40000, 64] 227 vs 252, [1024, 64]·[64, 1024] 9.4 vs 12.2; with more rows or a smaller operand ours
 *  loses ([10240, 256]·[256, 64] 20 vs 15, [1024, 128]·[128, 384] 6.2 vs 5.1). */
const MAX_IN_PLACE_ROWS = 1024;
const MIN_IN_PLACE_RIGHT = 2 ** 16;

/** Whether a plain single-matrix product a [M, K] · b [K, N] is computed in place. */
function plainInPlace(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  return m <= MAX_IN_PLACE_ROWS && k * n >= MIN_IN_PLACE_RIGHT && plainInPlaceSupported(a, b);
}

/** Number of matrices in a batch of shape [..., m, n]. */
const matrices = (x: tf.TensorInfo): number => tf.util.sizeFromShape(x.shape.slice(0, -2));

/** The [K, N] each memory (a dataId) was first used as, as the right operand of a product XNNPACK packs. */
const packedShapes = new WeakMap<tf.DataId, string>();

/**
 * Runs the original kernel on plain operands (no transpose attributes), and on a copy of b where b's memory already
 * has an XNNPACK operator packed for another [K, N]. The wasm backend packs b (and caches the operator) only for a
 * product of two single matrices; other products take its loop, which caches nothing.
 */
function runOriginal(
  original: tf.KernelConfig,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
  wasm: WasmBackend,
): tf.TensorInfo {
  const run = (operands: tf.NamedTensorInfoMap) =>
    original.kernelFunc({ inputs: operands, backend: wasm as never, attrs }) as tf.TensorInfo;
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  if (matrices(a) !== 1 || matrices(b) !== 1) return run(inputs);
  const shape = b.shape.slice(-2).join("x");
  const packed = packedShapes.get(b.dataId);
  if (packed === undefined) packedShapes.set(b.dataId, shape);
  if (packed === undefined || packed === shape) return run(inputs);
  const copy = wasm.makeOutput(b.shape.slice(), b.dtype); // fresh memory: packed for this shape, freed below
  wasm.typedArrayFromHeap(copy).set(wasm.typedArrayFromHeap(b));
  const out = run({ ...inputs, b: copy });
  wasm.disposeData(copy.dataId);
  return out;
}

/**
 * a [...batch, M, K] · b [...batch, K, N] (plain operands, equal batch shapes or one of them a single matrix) as one
 * single-matrix product per batch element, written into one [...batch, M, N] output.
 */
function productPerMatrix(
  original: tf.KernelConfig,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
  wasm: WasmBackend,
): tf.TensorInfo {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const batchShape = matrices(a) >= matrices(b) ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  const out = wasm.makeOutput([...batchShape, m, n], "float32");
  /** Element i of x as a [1, rows, columns] tensor of its own (x itself when x is a single matrix). */
  const element = (x: tf.TensorInfo, i: number, rows: number, columns: number): tf.TensorInfo => {
    if (matrices(x) === 1) return x;
    const copy = wasm.makeOutput([1, rows, columns], "float32");
    const size = rows * columns;
    wasm.typedArrayFromHeap(copy).set(wasm.typedArrayFromHeap(x).subarray(i * size, (i + 1) * size));
    return copy;
  };
  for (let i = 0; i < tf.util.sizeFromShape(batchShape); i++) {
    const ai = element(a, i, m, k);
    const bi = element(b, i, k, n);
    const product = runOriginal(original, { a: ai, b: bi }, attrs, wasm);
    // Views taken after the allocations above: growing the wasm heap detaches earlier views.
    wasm.typedArrayFromHeap(out).set(wasm.typedArrayFromHeap(product), i * m * n);
    for (const t of [ai, bi]) if (t !== a && t !== b) wasm.disposeData(t.dataId);
    wasm.disposeData(product.dataId);
  }
  return out;
}

/** Per-matrix products cost ~14 µs each in calls; below this many multiply-adds per matrix the scalar loop wins. */
const MIN_PRODUCT_PER_MATRIX = 2 ** 14;

/** Whether a plain product of a and b is better computed per matrix: a batch (equal batch shapes or one single
 *  matrix) of products large enough to repay the calls. */
function batchOfProducts(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  const [batchA, batchB] = [matrices(a), matrices(b)];
  if (Math.max(batchA, batchB) <= 1 || a.dtype !== "float32" || b.dtype !== "float32") return false;
  const [m, k] = a.shape.slice(-2);
  if (m * k * b.shape[b.shape.length - 1] < MIN_PRODUCT_PER_MATRIX) return false;
  return batchA === 1 || batchB === 1 || tf.util.arraysEqual(a.shape.slice(0, -2), b.shape.slice(0, -2));
}

/** Above this many multiply-adds per matrix, one XNNPACK call per matrix beats our batch loop. */
const MAX_PRODUCT_IN_BATCH_LOOP = 2 ** 20;

/** Whether a batch of products of equal batch shapes is small enough per matrix for our loop (matmul-batched.ts). */
function batchInPlace(a: tf.TensorInfo, b: tf.TensorInfo, wasm: WasmBackend): boolean {
  if (matrices(a) <= 1 || !batchedProductSupported(a, b, wasm)) return false;
  const [m, k] = a.shape.slice(-2);
  return m * k * b.shape[b.shape.length - 1] <= MAX_PRODUCT_IN_BATCH_LOOP;
}

/** Right operands with more elements than this are packed in inner-dimension blocks (4 MiB of float32). */
const MAX_PACKED_ELEMENTS = 2 ** 20;
/** Elements per block of the right operand (1 MiB). */
const PACKED_BLOCK_ELEMENTS = 2 ** 18;

/** Whether a plain single-matrix product a [M, K] · b [K, N] has a right operand too large to pack in one piece, and
 *  few enough rows M that the packing is what costs (with many rows, the copies of a's blocks cost more). */
export function tallRightOperand(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  if (matrices(a) !== 1 || matrices(b) !== 1 || a.dtype !== "float32" || b.dtype !== "float32") return false;
  const m = a.shape[a.shape.length - 2];
  const [k, n] = b.shape.slice(-2);
  return k * n > MAX_PACKED_ELEMENTS && k >= 2 * Math.floor(PACKED_BLOCK_ELEMENTS / n) && m <= 2 * n;
}

/** Rows of b [K, N] in one block of the inner dimension. */
const innerBlockRows = (b: tf.TensorInfo): number =>
  Math.max(1, Math.floor(PACKED_BLOCK_ELEMENTS / b.shape[b.shape.length - 1]));

/**
 * a [M, K] · b [K, N] (plain single matrices, any leading 1s) as Σ over blocks of K of a[:, block] · b[block, :], so
 * that each packed block of b stays in the cache. The result has the shape the original kernel gives.
 */
function productOverInnerBlocks(
  original: tf.KernelConfig,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
  wasm: WasmBackend,
): tf.TensorInfo {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const rows = innerBlockRows(b);
  let out: tf.TensorInfo | null = null;
  for (let start = 0; start < k; start += rows) {
    const size = Math.min(rows, k - start);
    const aBlock = wasm.makeOutput([...a.shape.slice(0, -2), m, size], "float32");
    const bBlock = wasm.makeOutput([...b.shape.slice(0, -2), size, n], "float32");
    // Views taken after the allocations: growing the wasm heap detaches earlier views.
    const aValues = wasm.typedArrayFromHeap(a);
    const aBlockValues = wasm.typedArrayFromHeap(aBlock);
    for (let row = 0; row < m; row++)
      aBlockValues.set(aValues.subarray(row * k + start, row * k + start + size), row * size);
    wasm.typedArrayFromHeap(bBlock).set(wasm.typedArrayFromHeap(b).subarray(start * n, (start + size) * n));
    const product = runOriginal(original, { a: aBlock, b: bBlock }, attrs, wasm);
    wasm.disposeData(aBlock.dataId);
    wasm.disposeData(bBlock.dataId);
    if (out === null) {
      out = product;
    } else {
      const sum = wasm.typedArrayFromHeap(out);
      const part = wasm.typedArrayFromHeap(product);
      for (let i = 0; i < sum.length; i++) sum[i] += part[i]; // float32 stores: one rounding per add, as a float32 add
      wasm.disposeData(product.dataId);
    }
  }
  return out as tf.TensorInfo;
}

/** A plain BatchMatMul (no transposed operand): per matrix, over inner blocks, or as the original kernel computes it. */
function plainProduct(
  original: tf.KernelConfig,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
  wasm: WasmBackend,
): tf.TensorInfo {
  if (batchInPlace(a, b, wasm)) {
    // In the order of the path it replaces: tfjs's loop below MIN_PRODUCT_PER_MATRIX, XNNPACK's per matrix above.
    const [m, k] = a.shape.slice(-2);
    const small = m * k * b.shape[b.shape.length - 1] < MIN_PRODUCT_PER_MATRIX;
    return batchedProduct(a, b, small ? TFJS_LOOP_BLOCK_ROWS : k, wasm);
  }
  if (batchOfProducts(a, b)) return productPerMatrix(original, a, b, attrs, wasm);
  if (plainInPlace(a, b)) {
    // In the order of the path it replaces: over blocks of k for a tall b, else one sum.
    return plainProductInPlace(a, b, tallRightOperand(a, b) ? innerBlockRows(b) : a.shape[a.shape.length - 1], wasm);
  }
  if (tallRightOperand(a, b)) return productOverInnerBlocks(original, a, b, attrs, wasm);
  return runOriginal(original, { a, b }, attrs, wasm);
}

/** The kernel config `original` with transposed operands materialised before it runs. */
function withExplicitTranspose(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    const wasm = backend as WasmBackend;
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    const plainAttrs = { ...attrs, transposeA: false, transposeB: false };
    if (!transposeA && !transposeB) {
      return original.kernelName === tf.BatchMatMul
        ? plainProduct(original, a, b, plainAttrs, wasm)
        : runOriginal(original, inputs, plainAttrs, wasm);
    }
    if (transposeA && !transposeB && original.kernelName === tf.BatchMatMul && transposedLeftInPlace(a, b)) {
      // In the order of the path below: one sum over k, or blocks of k where aᵀ is [M, K] beside a tall b.
      const [k, m] = a.shape.slice(-2);
      const aT = { ...a, shape: [...a.shape.slice(0, -2), m, k] };
      const blocked = !swapOperands(a, b) && tallRightOperand(aT, b);
      return transposedLeftProduct(a, b, blocked ? innerBlockRows(b) : k, wasm);
    }
    // Only a plain product may swap: a fused bias or activation applies to the unswapped result.
    if (transposeA && !transposeB && original.kernelName === tf.BatchMatMul && swapOperands(a, b)) {
      const plainB = transposeLastTwo(b, wasm); // [N, K]
      const swapped = runOriginal(original, { a: plainB, b: a }, plainAttrs, wasm); // [N, M]
      const out = transposeLastTwo(swapped, wasm);
      wasm.disposeData(plainB.dataId);
      wasm.disposeData(swapped.dataId);
      return out;
    }
    const plainA = transposeA ? transposeLastTwo(a, wasm) : a;
    const plainB = transposeB ? transposeLastTwo(b, wasm) : b;
    const out =
      original.kernelName === tf.BatchMatMul
        ? plainProduct(original, plainA, plainB, plainAttrs, wasm)
        : runOriginal(original, { ...inputs, a: plainA, b: plainB }, plainAttrs, wasm);
    if (transposeA) wasm.disposeData(plainA.dataId);
    if (transposeB) wasm.disposeData(plainB.dataId);
    return out;
  };
  return { ...original, kernelFunc };
}

/** Both matmul kernels take operands `a`, `b` and attributes `transposeA`, `transposeB`. */
export const MATMUL_REPLACEMENTS: Record<string, (original: tf.KernelConfig) => tf.KernelConfig> = {
  [tf.BatchMatMul]: withExplicitTranspose,
  [tf._FusedMatMul]: withExplicitTranspose,
};
