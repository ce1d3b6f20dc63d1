// Exp for the wasm backend. The stock kernel calls the C library's exp per element (scalar, ~12 ns per element: the
// log-softmax of a sampled or full softmax and its gradient run it over every logit), while Sigmoid is a vectorised
// XNNPACK kernel (~2 ns). exp(x) = σ(x) / σ(−x) exactly, and XNNPACK computes σ from exp(−|x|) to ~1 ulp on both
// sides: the ratio is within 5e-7 relative of exp(x) on [−87, 87] (checked in tests). Outside it σ over- or
// underflows: below −87 the result is 0 instead of a float32 denormal (< 1.2e-38), and when any x exceeds 87
// the stock kernel runs (log-softmax only ever exponentiates x ≤ 0).
import * as tf from "@tensorflow/tfjs";
import { runWasmKernel, type WasmBackend } from "./wasm-backend";

/** Largest x the sigmoid route takes: σ(−x) is still a normal float32 there. */
export const MAX_FAST_EXP_INPUT = 87;

function exp(args: Parameters<tf.KernelFunc>[0], original: tf.KernelConfig): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== "float32" || tf.util.sizeFromShape(x.shape) === 0) return original.kernelFunc(args) as tf.TensorInfo;
  const wasm = args.backend as WasmBackend;
  const largest = runWasmKernel(tf.Max, { x }, wasm, {
    reductionIndices: x.shape.map((_, axis) => axis),
    keepDims: false,
  });
  const tooLarge = (wasm.readSync(largest.dataId) as Float32Array)[0] > MAX_FAST_EXP_INPUT;
  wasm.disposeData(largest.dataId);
  if (tooLarge) return original.kernelFunc(args) as tf.TensorInfo;
  const negated = runWasmKernel(tf.Neg, { x }, wasm);
  const numerator = runWasmKernel(tf.Sigmoid, { x }, wasm);
  const denominator = runWasmKernel(tf.Sigmoid, { x: negated }, wasm);
  const out = runWasmKernel(tf.RealDiv, { a: numerator, b: denominator }, wasm);
  for (const temporary of [negated, numerator, denominator]) wasm.disposeData(temporary.dataId);
  return out;
}

export const EXP_REPLACEMENTS: Record<string, (original: tf.KernelConfig) => tf.KernelConfig> = {
  [tf.Exp]: (original) => ({ ...original, kernelFunc: (args) => exp(args, original) }),
};
