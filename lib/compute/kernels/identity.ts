// Identity for the wasm backend without a copy. tfjs clones every tensor a gradient will need (the inputs and
// outputs each op saves for backprop, and everything tf.customGrad saves) through Identity, and the stock wasm
// kernel copies the data each time: ~300 copies per GRU training step, and a full copy of every [rows, numItems]
// logits chunk the loss saves. Tensors are immutable, so the clone can share the data and take a reference, as
// the wasm Reshape and the cpu backend's Identity do.
import * as tf from "@tensorflow/tfjs";
import { exceptStrings, type WasmBackend } from "./wasm-backend";

function identity({ inputs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  (backend as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

export const IDENTITY_REPLACEMENTS: Record<string, (original: tf.KernelConfig) => tf.KernelConfig> = {
  [tf.Identity]: (original) => exceptStrings(original, "x", identity),
};
