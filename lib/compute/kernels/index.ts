// Kernels for the wasm and cpu backends: the ones they lack or get wrong, and faster replacements of slow ones.
// `registerWasmKernels` must run after @tensorflow/tfjs-backend-wasm is imported (some of its kernels are
// wrapped); lib/compute/backend.ts calls it before selecting the wasm backend, `registerCpuKernels` for cpu and
// `registerWebGpuKernels` (WGSL kernels of our own ops) for webgpu.
import * as tf from "@tensorflow/tfjs";
import { adamUpdateWasmConfig } from "./adam-update";
import { COMPARE_REPLACEMENTS } from "./compare";
import { EXP_REPLACEMENTS } from "./exp";
import { GATHER_REPLACEMENTS } from "./gather";
import { IDENTITY_REPLACEMENTS } from "./identity";
import { MATMUL_REPLACEMENTS } from "./matmul-explicit-transpose";
import { oneHotConfig } from "./one-hot";
import { SLICE_REPLACEMENTS } from "./slice";
import { TRANSPOSE_REPLACEMENTS } from "./transpose";
import { unsortedSegmentSumCpu, unsortedSegmentSumWasm } from "./unsorted-segment-sum";
import { WASM } from "./wasm-backend";
import { WEBGPU_SCAN_KERNELS } from "./webgpu-recurrent";

/** Kernels of our own on wasm: UnsortedSegmentSum is missing, OneHot is wrong for non-int32 dtypes, Adam's update
 *  as one pass. */
const OWN_WASM_KERNELS: readonly tf.KernelConfig[] = [unsortedSegmentSumWasm, oneHotConfig, adamUpdateWasmConfig];

/** Faster versions of wasm kernels, built around (and falling back to) the original kernel. */
const WASM_REPLACEMENTS: Record<string, (original: tf.KernelConfig) => tf.KernelConfig> = {
  ...MATMUL_REPLACEMENTS,
  ...SLICE_REPLACEMENTS,
  ...IDENTITY_REPLACEMENTS,
  ...GATHER_REPLACEMENTS,
  ...TRANSPOSE_REPLACEMENTS,
  ...COMPARE_REPLACEMENTS,
  ...EXP_REPLACEMENTS,
};

/** Kernels of our own on cpu: its UnsortedSegmentSum is O(numSegments · size). */
const OWN_CPU_KERNELS: readonly tf.KernelConfig[] = [unsortedSegmentSumCpu];

/** Kernel functions installed by this module, so that a second call does not wrap a wrapper. */
const installed = new WeakSet<tf.KernelFunc>();

function isInstalled(name: string, backendName: string): boolean {
  const current = tf.getKernel(name, backendName);
  return current != null && installed.has(current.kernelFunc);
}

function install(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName) != null) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
  installed.add(config.kernelFunc);
}

function installOwn(configs: readonly tf.KernelConfig[]): string[] {
  for (const config of configs) {
    if (!isInstalled(config.kernelName, config.backendName)) install(config);
  }
  return configs.map((config) => config.kernelName);
}

/**
 * Registers our kernels on the wasm backend; idempotent. Returns the names of the kernels it added or replaced
 * (for logs and tests). Throws when the wasm backend's own kernels are not registered yet.
 */
export function registerWasmKernels(): string[] {
  const own = installOwn(OWN_WASM_KERNELS);
  for (const [name, replace] of Object.entries(WASM_REPLACEMENTS)) {
    const original = tf.getKernel(name, WASM);
    if (original == null) {
      throw new Error(`registerWasmKernels: no wasm '${name}' kernel; import @tensorflow/tfjs-backend-wasm first`);
    }
    if (!isInstalled(name, WASM)) install(replace(original));
  }
  return [...own, ...Object.keys(WASM_REPLACEMENTS)];
}

/** Registers our kernels on the cpu backend; idempotent. Returns the names of the kernels it replaced. */
export function registerCpuKernels(): string[] {
  return installOwn(OWN_CPU_KERNELS);
}

/** Registers our WGSL kernels on the webgpu backend; idempotent. Returns their names. */
export function registerWebGpuKernels(): string[] {
  return installOwn(WEBGPU_SCAN_KERNELS);
}
