// The wasm backend's matmuls take a naive slow path whenever an operand is transposed (transposeA/transposeB),
// ~8-12x slower than the XNNPACK path on [1024, 64] x [64, 20000]. Every matmul gradient transposes an operand
// (dW = xᵀ·dy, dx = dy·Wᵀ), so this wrapper transposes such operands explicitly and calls the original kernel
// with plain operands.
// XNNPACK repacks the right operand ("weights") on every call with a new tensor, and that packing is slow (~15 ns
// per element, strided reads). A weight gradient dW = xᵀ·dy has a tall x [K, M] and a tall, wider dy [K, N]; packing
// dy costs more than transposing it, so such products are computed as (dyᵀ·x)ᵀ, which packs the narrower x:
// ~2x faster for the [5129, 64]ᵀ·[5129, 1024] of a sampled softmax or the [10240, 64]ᵀ·[10240, 192] of a GRU.
import * as tf from "@tensorflow/tfjs";
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

/** The kernel config `original` with transposed operands materialised before it runs. */
function withExplicitTranspose(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return original.kernelFunc({ inputs, backend, attrs });
    const wasm = backend as WasmBackend;
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    const plainAttrs = { ...attrs, transposeA: false, transposeB: false };
    // Only a plain product may swap: a fused bias or activation applies to the unswapped result.
    if (transposeA && !transposeB && original.kernelName === tf.BatchMatMul && swapOperands(a, b)) {
      const plainB = transposeLastTwo(b, wasm); // [N, K]
      const swapped = original.kernelFunc({ inputs: { a: plainB, b: a }, backend, attrs: plainAttrs }) as tf.TensorInfo; // [N, M]
      const out = transposeLastTwo(swapped, wasm);
      wasm.disposeData(plainB.dataId);
      wasm.disposeData(swapped.dataId);
      return out;
    }
    const plainA = transposeA ? transposeLastTwo(a, wasm) : a;
    const plainB = transposeB ? transposeLastTwo(b, wasm) : b;
    const out = original.kernelFunc({ inputs: { ...inputs, a: plainA, b: plainB }, backend, attrs: plainAttrs });
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
