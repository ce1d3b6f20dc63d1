// UnsortedSegmentSum, the gradient of `tf.gather`: every embedding table needs it to train.
// - wasm has no such kernel at all.
// - cpu has one that loops over the segments, each pass touching all of x: O(numSegments · x.size). For the
//   gradient of a 20,000-row embedding that is minutes per step (38 s already for 500 rows of [5120, 64]).
// This plain-JS version is one pass over x, with the same semantics, for both backends.
import * as tf from "@tensorflow/tfjs";
import { WASM, type WasmBackend } from "./wasm-backend";

/** The parts of the cpu backend (MathBackendCPU) used here. */
interface CpuBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  /** Stores `values` by reference as the tensor's data. */
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** A zero-filled output tensor and its writable values, on one backend. */
type Allocate = (
  backend: {},
  shape: number[],
  dtype: "float32" | "int32",
) => {
  info: tf.TensorInfo;
  values: Float32Array | Int32Array;
};

const allocateOnWasm: Allocate = (backend, shape, dtype) => {
  const wasm = backend as WasmBackend;
  const info = wasm.makeOutput(shape, dtype);
  const values = wasm.typedArrayFromHeap(info) as Float32Array | Int32Array; // the heap is not zeroed
  values.fill(0);
  return { info, values };
};

const allocateOnCpu: Allocate = (backend, shape, dtype) => {
  const size = tf.util.sizeFromShape(shape);
  const values = dtype === "float32" ? new Float32Array(size) : new Int32Array(size);
  return { info: (backend as CpuBackend).makeTensorInfo(shape, dtype, values), values };
};

/**
 * out[s, ...] = sum of x[i, ...] over every i with segmentIds[i] == s; out has shape [numSegments, ...inner].
 * As in TensorFlow and the stock cpu kernel, ids outside [0, numSegments) (negative or too large) are dropped and
 * empty segments are 0. `segmentIds` may have any rank r: it indexes the first r dimensions of x. Unlike the stock
 * cpu kernel (float32 for int32 x), the output keeps x's dtype, as TensorFlow does.
 */
function unsortedSegmentSum(allocate: Allocate): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const numSegments = (attrs as unknown as tf.UnsortedSegmentSumAttrs).numSegments;
    const dtype = x.dtype;
    if (dtype !== "float32" && dtype !== "int32") {
      throw new Error(`UnsortedSegmentSum: x must be float32 or int32, got ${dtype}`);
    }
    if (segmentIds.shape.some((size, axis) => size !== x.shape[axis])) {
      throw new Error(
        `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
      );
    }
    const reader = backend as { readSync(dataId: tf.DataId): tf.backend_util.BackendValues };
    // Read before allocating: on wasm, growing the heap would detach views taken earlier.
    const ids = reader.readSync(segmentIds.dataId) as Int32Array;
    const values = reader.readSync(x.dataId) as Float32Array | Int32Array;
    const inner = x.shape.slice(segmentIds.shape.length);
    const rowSize = tf.util.sizeFromShape(inner);
    const out = allocate(backend, [numSegments, ...inner], dtype);
    ids.forEach((id, row) => {
      if (id < 0 || id >= numSegments) return;
      const from = row * rowSize;
      const to = id * rowSize;
      for (let k = 0; k < rowSize; k++) out.values[to + k] += values[from + k];
    });
    return out.info;
  };
}

export const unsortedSegmentSumWasm: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: WASM,
  kernelFunc: unsortedSegmentSum(allocateOnWasm),
};

export const unsortedSegmentSumCpu: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: "cpu",
  kernelFunc: unsortedSegmentSum(allocateOnCpu),
};
