// OneHot for the wasm backend. Its own kernel writes int32 bit patterns whatever the requested dtype, so
// tf.oneHot(ids, n, 1, 0, "float32") yields 1.4e-45 instead of 1 on wasm (tfjs 4.22). Plain JS: a native fill
// plus one store per index.
import * as tf from "@tensorflow/tfjs";
import { WASM, type WasmBackend } from "./wasm-backend";

/** out[..., j] = onValue where j == indices[...], offValue elsewhere; indices outside [0, depth) give a row of
 *  offValue, as on the cpu backend. */
function oneHot({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { indices } = inputs as { indices: tf.TensorInfo };
  const { dtype, depth, onValue, offValue } = attrs as unknown as tf.OneHotAttrs;
  const wasm = backend as WasmBackend;
  const ids = wasm.readSync(indices.dataId) as Int32Array;
  const out = wasm.makeOutput([...indices.shape, depth], dtype);
  // Viewed only after allocating: growing the wasm heap detaches earlier views.
  const values = wasm.typedArrayFromHeap(out);
  values.fill(offValue);
  ids.forEach((id, row) => {
    if (id >= 0 && id < depth) values[row * depth + id] = onValue;
  });
  return out;
}

export const oneHotConfig: tf.KernelConfig = {
  kernelName: tf.OneHot,
  backendName: WASM,
  kernelFunc: oneHot,
};
