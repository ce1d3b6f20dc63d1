// Slice, Unpack and SplitV for the wasm backend. Its own Slice starts with readSync(x), a copy of the WHOLE input,
// for every slice: taking one column of [256, 20000] costs ~20 ms, and tf.unstack over the time steps of an RNN
// copies the whole sequence once per step. These versions copy only the sliced values, straight between views of
// the wasm heap (strings, which live outside the heap, go to the original Slice).
import * as tf from "@tensorflow/tfjs";
import { exceptStrings, type WasmBackend } from "./wasm-backend";

/** x[begin : begin + size] as a new tensor of shape `outShape` (same number of elements as `size`). */
function copySlice(
  x: tf.TensorInfo,
  begin: number[],
  size: number[],
  outShape: number[],
  wasm: WasmBackend,
): tf.TensorInfo {
  const out = wasm.makeOutput(outShape, x.dtype);
  const total = tf.util.sizeFromShape(size);
  if (total === 0) return out;
  // Views taken after the allocation above: growing the wasm heap detaches earlier views.
  const source = wasm.typedArrayFromHeap(x);
  const target = wasm.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    target[0] = source[0];
    return out;
  }
  const strides = x.shape.map((_, axis) => tf.util.sizeFromShape(x.shape.slice(axis + 1)));
  // Trailing axes taken whole, plus the axis just before them, are one contiguous run per outer index.
  let runAxis = rank - 1;
  while (runAxis > 0 && size[runAxis] === x.shape[runAxis]) runAxis--;
  const run = tf.util.sizeFromShape(size.slice(runAxis));
  const outer = size.slice(0, runAxis);
  const index = outer.map(() => 0); // odometer over the outer axes
  for (let written = 0; written < total; written += run) {
    let offset = begin[runAxis] * strides[runAxis];
    for (let axis = 0; axis < runAxis; axis++) offset += (begin[axis] + index[axis]) * strides[axis];
    target.set(source.subarray(offset, offset + run), written);
    for (let axis = runAxis - 1; axis >= 0; axis--) {
      if (++index[axis] < outer[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

function slice({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const { begin, size } = attrs as unknown as tf.SliceAttrs;
  const [start, extent] = tf.slice_util.parseSliceParams(x, begin, size);
  return copySlice(x, start, extent, extent, backend as WasmBackend);
}

/** tf.unstack: one slice per index along `axis`, that axis dropped from the shape. */
function unpack({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const value = inputs.value as tf.TensorInfo;
  const axis = tf.util.parseAxisParam((attrs as unknown as tf.UnpackAttrs).axis, value.shape)[0];
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = value.shape.map(() => 0);
  const size = value.shape.slice();
  size[axis] = 1;
  return Array.from({ length: value.shape[axis] }, (_, i) => {
    begin[axis] = i;
    return copySlice(value, begin, size, outShape, backend as WasmBackend);
  });
}

/** tf.split: consecutive slices along `axis`. */
function splitV({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const x = inputs.x as tf.TensorInfo;
  const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
  const splitAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, splitAxis);
  const begin = x.shape.map(() => 0);
  return sizes.map((extent) => {
    const size = x.shape.slice();
    size[splitAxis] = extent;
    const piece = copySlice(x, begin, size, size, backend as WasmBackend);
    begin[splitAxis] += extent;
    return piece;
  });
}

/** Replacements for the wasm backend's slicing kernels, by kernel name, built from the original kernel. */
export const SLICE_REPLACEMENTS: Record<string, (original: tf.KernelConfig) => tf.KernelConfig> = {
  [tf.Slice]: (original) => exceptStrings(original, "x", slice),
  [tf.Unpack]: (original) => exceptStrings(original, "value", unpack),
  [tf.SplitV]: (original) => exceptStrings(original, "x", splitV),
};
