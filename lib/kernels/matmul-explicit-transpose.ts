// The wasm backend's matmuls take a naive slow path whenever an operand is transposed (transposeA/transposeB),
// ~8-12x slower than the XNNPACK path on [1024, 64] x [64, 20000]. Every matmul gradient transposes an operand
// (dW = xᵀ·dy, dx = dy·Wᵀ), so this wrapper transposes such operands explicitly and calls the original kernel
// with plain operands.
import * as tf from "@tensorflow/tfjs";
import { runWasmKernel, type WasmBackend } from "./wasm-backend";

/** Swaps the last two axes: [..., m, n] → [..., n, m]. The caller owns the result. */
function transposeLastTwo(x: tf.TensorInfo, backend: WasmBackend): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  return runWasmKernel("Transpose", { x }, backend, { perm });
}

/** The kernel config `original` with transposed operands materialised before it runs. */
function withExplicitTranspose(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return original.kernelFunc({ inputs, backend, attrs });
    const wasm = backend as WasmBackend;
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    const plainA = transposeA ? transposeLastTwo(a, wasm) : a;
    const plainB = transposeB ? transposeLastTwo(b, wasm) : b;
    const out = original.kernelFunc({
      inputs: { ...inputs, a: plainA, b: plainB },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
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
