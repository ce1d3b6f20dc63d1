// Comparisons and logical ops for the wasm backend (Equal, Less, LogicalAnd, ...) when an input is broadcast along
// some axes. The stock kernels then compute a broadcast index per element in scalar C++: ~130 ns per element,
// e.g. 0.7 s for int32 Equal of [5129, 1] against [1, 1024], the "is this negative the target?" test of a sampled
// softmax. Here one loop runs along the output's last axis with a fixed step (0 or 1) in each input, ~20x faster.
// Same shapes, or a scalar operand, keep the stock kernel: it is fast there.
import * as tf from "@tensorflow/tfjs";
import { exceptStrings, type WasmBackend } from "./wasm-backend";

type Values = tf.backend_util.TypedArray;
/** out[o + k] = x[i + k·di] OP y[j + k·dj] for k < n (1 or 0). One function per op, each with its own loop: a loop
 *  calling a comparison passed in as a function runs several times slower (the call is not inlined). */
type CompareRun = (
  x: Values,
  i: number,
  di: number,
  y: Values,
  j: number,
  dj: number,
  out: Values,
  o: number,
  n: number,
) => void;

/** Strides of `shape` as broadcast to `outShape` (0 along broadcast axes), aligned to outShape's axes. */
function broadcastStrides(shape: number[], outShape: number[]): number[] {
  const offset = outShape.length - shape.length;
  return outShape.map((_, axis) => {
    const own = axis - offset;
    if (own < 0 || shape[own] === 1) return 0;
    return tf.util.sizeFromShape(shape.slice(own + 1));
  });
}

/** out = a OP b element-wise with broadcasting, as bool. */
function comparisonKernel(compareRun: CompareRun, original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { inputs, backend } = args;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (
      tf.util.arraysEqual(a.shape, b.shape) ||
      tf.util.sizeFromShape(a.shape) === 1 ||
      tf.util.sizeFromShape(b.shape) === 1
    ) {
      return original.kernelFunc(args);
    }
    const wasm = backend as WasmBackend;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = wasm.makeOutput(outShape, "bool");
    const total = tf.util.sizeFromShape(outShape);
    if (total === 0) return out;
    // Views taken after the allocation: growing the heap detaches earlier views.
    const x = wasm.typedArrayFromHeap(a);
    const y = wasm.typedArrayFromHeap(b);
    const result = wasm.typedArrayFromHeap(out);
    const rank = outShape.length; // >= 1: neither input is a scalar
    const aStrides = broadcastStrides(a.shape, outShape);
    const bStrides = broadcastStrides(b.shape, outShape);
    const run = outShape[rank - 1];
    const index = outShape.slice(0, -1).map(() => 0); // odometer over the leading axes
    for (let written = 0; written < total; written += run) {
      let i = 0;
      let j = 0;
      index.forEach((at, axis) => {
        i += at * aStrides[axis];
        j += at * bStrides[axis];
      });
      compareRun(x, i, aStrides[rank - 1], y, j, bStrides[rank - 1], result, written, run);
      for (let axis = rank - 2; axis >= 0; axis--) {
        if (++index[axis] < outShape[axis]) break;
        index[axis] = 0;
      }
    }
    return out;
  };
}

const COMPARISONS: Record<string, CompareRun> = {
  [tf.Equal]: (x, i, di, y, j, dj, out, o, n) => {
    for (let k = 0; k < n; k++, i += di, j += dj) out[o + k] = x[i] === y[j] ? 1 : 0;
  },
  [tf.NotEqual]: (x, i, di, y, j, dj, out, o, n) => {
    for (let k = 0; k < n; k++, i += di, j += dj) out[o + k] = x[i] !== y[j] ? 1 : 0;
  },
  [tf.Less]: (x, i, di, y, j, dj, out, o, n) => {
    for (let k = 0; k < n; k++, i += di, j += dj) out[o + k] = x[i] < y[j] ? 1 : 0;
  },
  [tf.LessEqual]: (x, i, di, y, j, dj, out, o, n) => {
    for (let k = 0; k < n; k++, i += di, j += dj) out[o + k] = x[i] <= y[j] ? 1 : 0;
  },
  [tf.Greater]: (x, i, di, y, j, dj, out, o, n) => {
    for (let k = 0; k < n; k++, i += di, j += dj) out[o + k] = x[i] > y[j] ? 1 : 0;
  },
  [tf.GreaterEqual]: (x, i, di, y, j, dj, out, o, n) => {
    for (let k = 0; k < n; k++, i += di, j += dj) out[o + k] = x[i] >= y[j] ? 1 : 0;
  },
  [tf.LogicalAnd]: (x, i, di, y, j, dj, out, o, n) => {
    for (let k = 0; k < n; k++, i += di, j += dj) out[o + k] = x[i] !== 0 && y[j] !== 0 ? 1 : 0;
  },
  [tf.LogicalOr]: (x, i, di, y, j, dj, out, o, n) => {
    for (let k = 0; k < n; k++, i += di, j += dj) out[o + k] = x[i] !== 0 || y[j] !== 0 ? 1 : 0;
  },
};

export const COMPARE_REPLACEMENTS: Record<string, (original: tf.KernelConfig) => tf.KernelConfig> = Object.fromEntries(
  Object.entries(COMPARISONS).map(([name, compareRun]) => [
    name,
    (original: tf.KernelConfig) => exceptStrings(original, "a", comparisonKernel(compareRun, original)),
  ]),
);
