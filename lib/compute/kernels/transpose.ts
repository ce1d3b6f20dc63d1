// Transpose for the wasm backend, and Sum over any axes built on it. The stock Transpose computes each element's
// position from the full stride vector: ~15 ns per element, 0.6 s for a [1024, 40000] gradient. This one first
// merges axes that stay neighbours (so most transposes become 2-D or a copy of contiguous runs), then copies in
// cache-sized blocks. The stock Sum transposes the reduced axes to the end
// with its own (stock) transpose before reducing, so it is rebuilt here on the fast one: e.g. every bias gradient
// sums [rows, units] over the rows.
import * as tf from "@tensorflow/tfjs";
import { exceptStrings, runWasmKernel, type WasmBackend } from "./wasm-backend";

/** Columns per band of `transposeBlock`: 8 rows × 256 floats read stay in L1 while their columns are written. */
const COLUMN_BAND = 256;
/** Runs of at least this many values are copied with TypedArray.set; shorter runs stay with the stock kernel. */
const MIN_SET_RUN = 64;
/** 2-D blocks of at least this many values (1 MB) are transposed here: smaller ones fit in cache and the stock
 *  kernel is as fast or faster. */
const MIN_LARGE_BLOCK = 1 << 18;

/** The same transpose on fewer axes: size-1 axes dropped, and input axes that stay adjacent and in order in the
 *  output merged into one. */
export function simplifyTranspose(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((axis) => shape[axis] !== 1); // output order of the non-trivial input axes
  const groups: number[][] = []; // runs of consecutive input axes, in output order
  for (const axis of kept) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1] + 1 === axis) last.push(axis);
    else groups.push([axis]);
  }
  const inputOrder = groups.map((_, g) => g).sort((a, b) => groups[a][0] - groups[b][0]); // groups in input order
  return {
    shape: inputOrder.map((g) => groups[g].reduce((size, axis) => size * shape[axis], 1)),
    perm: groups.map((_, g) => inputOrder.indexOf(g)),
  };
}

/**
 * out[outBase + c·outColStride + r] = in[inBase + r·inRowStride + c] for r < rows, c < cols. Eight input rows at a
 * time, over a band of COLUMN_BAND columns: the eight rows' reads stream and each output run of eight is one cache
 * line or two (~1.5x faster than square tiles in V8).
 */
function transposeBlock(
  source: tf.backend_util.TypedArray,
  inBase: number,
  inRowStride: number,
  target: tf.backend_util.TypedArray,
  outBase: number,
  outColStride: number,
  rows: number,
  cols: number,
): void {
  const s = inRowStride;
  for (let c0 = 0; c0 < cols; c0 += COLUMN_BAND) {
    const c1 = Math.min(c0 + COLUMN_BAND, cols);
    let r = 0;
    for (; r + 8 <= rows; r += 8) {
      const rowStart = inBase + r * s;
      for (let c = c0; c < c1; c++) {
        const to = outBase + c * outColStride + r;
        const from = rowStart + c;
        target[to] = source[from];
        target[to + 1] = source[from + s];
        target[to + 2] = source[from + 2 * s];
        target[to + 3] = source[from + 3 * s];
        target[to + 4] = source[from + 4 * s];
        target[to + 5] = source[from + 5 * s];
        target[to + 6] = source[from + 6 * s];
        target[to + 7] = source[from + 7 * s];
      }
    }
    for (; r < rows; r++) {
      const from = inBase + r * s;
      for (let c = c0; c < c1; c++) target[outBase + c * outColStride + r] = source[from + c];
    }
  }
}

/** Writes x (shape, values `source`) transposed by `perm` into `target`. */
function transposeValues(
  shape: number[],
  perm: number[],
  source: tf.backend_util.TypedArray,
  target: tf.backend_util.TypedArray,
): void {
  const rank = shape.length;
  const inStrides = shape.map((_, axis) => tf.util.sizeFromShape(shape.slice(axis + 1)));
  const outShape = perm.map((axis) => shape[axis]);
  const outStrides = outShape.map((_, axis) => tf.util.sizeFromShape(outShape.slice(axis + 1)));
  // The input's last axis lands at output axis `q`; the output's last axis comes from input axis `b`. After
  // simplification they differ (else the two axes would have merged), so each (outer index) is a 2-D transpose of
  // a [rows = size of b, cols = size of the input's last axis] block.
  const q = perm.indexOf(rank - 1);
  const b = perm[rank - 1];
  const rows = shape[b];
  const cols = shape[rank - 1];
  const inRowStride = inStrides[b];
  const outColStride = outStrides[q];
  const outer = outShape.map((_, axis) => axis).filter((axis) => axis !== q && axis !== rank - 1); // output axes
  const index = outer.map(() => 0);
  const outerCount = outer.reduce((count, axis) => count * outShape[axis], 1);
  for (let n = 0; n < outerCount; n++) {
    let inBase = 0;
    let outBase = 0;
    outer.forEach((axis, i) => {
      inBase += index[i] * inStrides[perm[axis]];
      outBase += index[i] * outStrides[axis];
    });
    transposeBlock(source, inBase, inRowStride, target, outBase, outColStride, rows, cols);
    for (let i = outer.length - 1; i >= 0; i--) {
      if (++index[i] < outShape[outer[i]]) break;
      index[i] = 0;
    }
  }
}

/** Copies x with its axes permuted when the last input axis stays last: contiguous runs, in output order. */
function copyRuns(
  shape: number[],
  perm: number[],
  source: tf.backend_util.TypedArray,
  target: tf.backend_util.TypedArray,
): void {
  const rank = shape.length;
  const run = shape[rank - 1];
  const inStrides = shape.map((_, axis) => tf.util.sizeFromShape(shape.slice(axis + 1)));
  const outShape = perm.map((axis) => shape[axis]).slice(0, rank - 1);
  const steps = outShape.map((_, axis) => inStrides[perm[axis]]); // input offset per step along each output axis
  const index = outShape.map(() => 0);
  const total = tf.util.sizeFromShape(shape);
  let from = 0; // input offset of the current run, kept in step with the odometer `index`
  for (let written = 0; written < total; written += run) {
    target.set(source.subarray(from, from + run), written);
    for (let axis = rank - 2; axis >= 0; axis--) {
      from += steps[axis];
      if (++index[axis] < outShape[axis]) break;
      from -= outShape[axis] * steps[axis];
      index[axis] = 0;
    }
  }
}

/**
 * x transposed by `perm` as a new tensor on the wasm heap; the caller owns it. A transpose that moves no data (e.g.
 * the identity permutation the gradient of tf.gather applies to a whole embedding table) shares x's memory, also in
 * another shape, as Reshape does (qᵀ of a one-column q: matmul-explicit-transpose.ts copies it where XNNPACK kept q
 * packed for its first shape). The stock kernel keeps the cases it does well: short runs, and blocks small enough to
 * stay in cache.
 */
function transposeOnHeap(x: tf.TensorInfo, perm: number[], wasm: WasmBackend, stock: tf.KernelFunc): tf.TensorInfo {
  const outShape = perm.map((axis) => x.shape[axis]);
  const simple = simplifyTranspose(x.shape, perm);
  const rank = simple.shape.length;
  if (rank <= 1) {
    wasm.incRef(x.dataId);
    return { dataId: x.dataId, shape: outShape, dtype: x.dtype };
  }
  const lastStays = simple.perm[rank - 1] === rank - 1;
  const ours = lastStays
    ? simple.shape[rank - 1] >= MIN_SET_RUN
    : simple.shape[rank - 1] * simple.shape[simple.perm[rank - 1]] >= MIN_LARGE_BLOCK;
  if (!ours)
    return stock({ inputs: { x }, backend: wasm as unknown as tf.KernelBackend, attrs: { perm } }) as tf.TensorInfo;
  const out = wasm.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(x.shape) === 0) return out;
  // Views taken after the allocation above: growing the heap detaches earlier views.
  const source = wasm.typedArrayFromHeap(x);
  const target = wasm.typedArrayFromHeap(out);
  if (lastStays) copyRuns(simple.shape, simple.perm, source, target);
  else transposeValues(simple.shape, simple.perm, source, target);
  return out;
}

/** float32 x [rows, ...outShape] summed over its rows → outShape, one pass in row order, accumulated in float64. */
function sumRows(x: tf.TensorInfo, rows: number, outShape: number[], wasm: WasmBackend): tf.TensorInfo {
  const inner = tf.util.sizeFromShape(outShape);
  const sums = new Float64Array(inner);
  const source = wasm.typedArrayFromHeap(x);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    // Four rows per pass over `sums`: a quarter of the read-modify-writes of the running sums.
    const a = r * inner;
    const b = a + inner;
    const c = b + inner;
    const d = c + inner;
    for (let k = 0; k < inner; k++) sums[k] += source[a + k] + source[b + k] + source[c + k] + source[d + k];
  }
  for (; r < rows; r++) {
    const row = r * inner;
    for (let k = 0; k < inner; k++) sums[k] += source[row + k];
  }
  const out = wasm.makeOutput(outShape, x.dtype);
  wasm.typedArrayFromHeap(out).set(sums);
  return out;
}

/**
 * Sum over any axes. Leading axes of a float32 tensor (bias gradients: [rows, units] over the rows) are summed
 * row by row; otherwise the reduced axes are moved last by the fast transpose and the stock kernel, which reduces
 * innermost axes, finishes.
 */
function sum(args: Parameters<tf.KernelFunc>[0], original: tf.KernelConfig): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const perm = tf.backend_util.getAxesPermutation(axes, x.shape.length);
  if (perm === null) return original.kernelFunc(args) as tf.TensorInfo;
  const wasm = backend as WasmBackend;
  const leading = axes.every((a) => a < axes.length);
  let out: tf.TensorInfo;
  if (leading && x.dtype === "float32") {
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    out = sumRows(x, rows, x.shape.slice(axes.length), wasm);
  } else {
    const moved = runWasmKernel(tf.Transpose, { x }, wasm, { perm });
    const innermost = tf.backend_util.getInnerMostAxes(axes.length, x.shape.length);
    out = original.kernelFunc({
      inputs: { x: moved },
      backend,
      attrs: { axis: innermost, keepDims: false },
    }) as tf.TensorInfo;
    wasm.disposeData(moved.dataId);
  }
  // keepDims: the reduced axes come back as size 1 where they were (a reshape: same data).
  return keepDims ? { ...out, shape: tf.backend_util.expandShapeToKeepDim(out.shape, axes) } : out;
}

export const TRANSPOSE_REPLACEMENTS: Record<string, (original: tf.KernelConfig) => tf.KernelConfig> = {
  [tf.Transpose]: (original) =>
    exceptStrings(original, "x", ({ inputs, backend, attrs }) =>
      transposeOnHeap(
        inputs.x as tf.TensorInfo,
        (attrs as unknown as tf.TransposeAttrs).perm,
        backend as WasmBackend,
        original.kernelFunc,
      ),
    ),
  [tf.Sum]: (original) => ({ ...original, kernelFunc: (args) => sum(args, original) }),
};
