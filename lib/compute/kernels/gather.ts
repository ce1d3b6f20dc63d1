// GatherV2 for the wasm backend: the embedding lookup of every model. The stock kernel computes strides per
// element and takes ~50 ms to gather [1024, 10] rows of a [40000, 64] table; copying whole rows takes ~1 ms.
// batchDims > 0 (unused here) goes to the stock kernel.
import * as tf from "@tensorflow/tfjs";
import { exceptStrings, type WasmBackend } from "./wasm-backend";

/** Below this many values per row a plain loop beats creating a subarray for TypedArray.set. */
const MIN_SET_RUN = 16;

/** out[o, i, k] = x[o, indices[i], k], for o over the axes before `axis` and k over those after it. */
function gather(args: Parameters<tf.KernelFunc>[0], original: tf.KernelConfig): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
  if (batchDims !== 0) return original.kernelFunc(args) as tf.TensorInfo;
  const wasm = backend as WasmBackend;
  const gatherAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const dimSize = x.shape[gatherAxis];
  // A copy, read before allocating: growing the heap detaches earlier views.
  const ids = wasm.readSync(indices.dataId) as Int32Array;
  ids.forEach((id) => {
    if (!(id >= 0 && id < dimSize)) throw new Error(`GatherV2: the index value ${id} is not in [0, ${dimSize - 1}]`);
  });
  const outer = tf.util.sizeFromShape(x.shape.slice(0, gatherAxis));
  const inner = tf.util.sizeFromShape(x.shape.slice(gatherAxis + 1));
  const out = wasm.makeOutput(
    [...x.shape.slice(0, gatherAxis), ...indices.shape, ...x.shape.slice(gatherAxis + 1)],
    x.dtype,
  );
  if (outer * ids.length * inner === 0) return out;
  const source = wasm.typedArrayFromHeap(x);
  const target = wasm.typedArrayFromHeap(out);
  let to = 0;
  for (let o = 0; o < outer; o++) {
    const block = o * dimSize * inner;
    for (let i = 0; i < ids.length; i++, to += inner) {
      const from = block + ids[i] * inner;
      if (inner >= MIN_SET_RUN) target.set(source.subarray(from, from + inner), to);
      else for (let k = 0; k < inner; k++) target[to + k] = source[from + k];
    }
  }
  return out;
}

export const GATHER_REPLACEMENTS: Record<string, (original: tf.KernelConfig) => tf.KernelConfig> = {
  [tf.GatherV2]: (original) => exceptStrings(original, "x", (args) => gather(args, original)),
};
