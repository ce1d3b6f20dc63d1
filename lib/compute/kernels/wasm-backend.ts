// What our wasm kernels need from the wasm backend, and a way to run its own kernels from inside ours.
import * as tf from "@tensorflow/tfjs";

/** The parts of `BackendWasm` (from @tensorflow/tfjs-backend-wasm) our kernels use; declared structurally so
 *  lib/ does not depend on that package's internal typings. */
export interface WasmBackend {
  /** Copies a tensor's values out of the wasm heap. */
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  /** Allocates an output on the wasm heap, copying `values` in when given. */
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
  /** A view of a tensor's values on the wasm heap. Take it after the last allocation: growing the heap
   *  detaches earlier views. */
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
  /** Byte offset of a tensor's values in the wasm memory. */
  getMemoryOffset(dataId: tf.DataId): number;
  /** Adds a reference to a tensor's memory (a second tensor sharing it). */
  incRef(dataId: tf.DataId): void;
  /** Drops one reference; frees the memory when none is left. */
  disposeData(dataId: tf.DataId): boolean;
}

export const WASM = "wasm";

/** Runs the kernel currently registered for `name` on the wasm backend. The caller owns the result. */
export function runWasmKernel(
  name: string,
  inputs: tf.NamedTensorInfoMap,
  backend: WasmBackend,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(name, WASM);
  if (kernel == null) throw new Error(`sessionrec kernels: the wasm backend has no '${name}' kernel`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

/** `kernelFunc` for tensors on the wasm heap, `original` for strings (which live outside it). */
export function exceptStrings(original: tf.KernelConfig, input: string, kernelFunc: tf.KernelFunc): tf.KernelConfig {
  return {
    ...original,
    kernelFunc: (args) =>
      (args.inputs[input] as tf.TensorInfo).dtype === "string" ? original.kernelFunc(args) : kernelFunc(args),
  };
}
