// Adam's update of one variable as one kernel: value, first and second moment and gradient in, the three new tensors
// out. tfjs's AdamOptimizer runs 14 element-wise ops per variable, each a pass over memory: ~40 ms per step on the
// YOOCHOOSE GRU's [43000, 128] item table. On wasm the kernel is one SIMD loop in a small WebAssembly module of our
// own that shares the backend's memory (assembled below: the function is short, and a toolchain is not a dependency);
// it performs tfjs's float32 operations in tfjs's order (m' = m·β1 + g·(1−β1); v' = v·β2 + g²·(1−β2);
// value' = (m'/(1−β1^t)) / (√(v'/(1−β2^t)) + ε) · (−lr) + value), so its results are bit-identical. Used by
// lib/train/adam.ts.
import * as tf from "@tensorflow/tfjs";
import { WASM, type WasmBackend } from "./wasm-backend";
import {
  I32,
  F32,
  V128,
  get,
  set,
  i32,
  I32_ADD,
  BLOCK,
  LOOP,
  END,
  br,
  increment,
  exitWhenAtLeast,
  LOAD_ALIGNED as LOAD,
  STORE_ALIGNED as STORE,
  SPLAT,
  SQRT,
  ADD,
  MUL,
  DIV,
  moduleBytes,
  OwnWasmFunction,
} from "./wasm-module";

export const ADAM_UPDATE = "SessionrecAdamUpdate";

/** The per-step scalars of Adam (the kernel's attributes), each used as the float32 tfjs makes of it. */
export interface AdamScalars {
  beta1: number;
  beta2: number;
  /** 1 − beta1^t and 1 − beta2^t, as tfjs computes them from its float32 accumulators. */
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  learningRate: number;
}

// ---- The WebAssembly function: adam(valueOut, mOut, vOut, value, m, v, g, bytes, β1, 1−β1, β2, 1−β2, 1−β1^t,
// 1−β2^t, ε, −lr), byte offsets into the imported memory, `bytes` a multiple of 16 (4 floats per SIMD step).

/** The module's bytes: imports env.memory, exports adam. */
function adamModuleBytes(): Uint8Array {
  // Parameters 0–7: valueOut, mOut, vOut, value, m, v, g (byte offsets), bytes; 8–15: the f32 scalars.
  const [VALUE_OUT, M_OUT, V_OUT, VALUE, M, V, G, BYTES] = [0, 1, 2, 3, 4, 5, 6, 7];
  // Locals: 16 = i (i32); 17–24 the splatted scalars; 25–27 g, m', v' (v128).
  const I = 16;
  const [B1, C1, B2, C2, OMA1, OMA2, EPS, NLR] = [17, 18, 19, 20, 21, 22, 23, 24];
  const [GV, MV, VV] = [25, 26, 27];
  const at = (pointer: number) => [...get(pointer), ...get(I), ...I32_ADD]; // pointer + i
  const body = [
    ...[B1, C1, B2, C2, OMA1, OMA2, EPS, NLR].flatMap((local, k) => [...get(8 + k), ...SPLAT, ...set(local)]),
    ...BLOCK,
    ...LOOP,
    ...exitWhenAtLeast(I, get(BYTES)),
    ...at(G),
    ...LOAD,
    ...set(GV),
    // m' = m·β1 + g·(1−β1)
    ...at(M),
    ...LOAD,
    ...get(B1),
    ...MUL,
    ...get(GV),
    ...get(C1),
    ...MUL,
    ...ADD,
    ...set(MV),
    ...at(M_OUT),
    ...get(MV),
    ...STORE,
    // v' = v·β2 + (g·g)·(1−β2)
    ...at(V),
    ...LOAD,
    ...get(B2),
    ...MUL,
    ...get(GV),
    ...get(GV),
    ...MUL,
    ...get(C2),
    ...MUL,
    ...ADD,
    ...set(VV),
    ...at(V_OUT),
    ...get(VV),
    ...STORE,
    // value' = (m'/(1−β1^t)) / (√(v'/(1−β2^t)) + ε) · (−lr) + value
    ...at(VALUE_OUT),
    ...get(MV),
    ...get(OMA1),
    ...DIV,
    ...get(VV),
    ...get(OMA2),
    ...DIV,
    ...SQRT,
    ...get(EPS),
    ...ADD,
    ...DIV,
    ...get(NLR),
    ...MUL,
    ...at(VALUE),
    ...LOAD,
    ...ADD,
    ...STORE,
    ...increment(I, i32(16)),
    ...br(0), // to the loop
    ...END, // loop
    ...END, // block
  ];
  return moduleBytes(
    "adam",
    [...Array(8).fill(I32), ...Array(8).fill(F32)],
    [
      [1, I32],
      [11, V128],
    ],
    body,
  );
}

const adam = new OwnWasmFunction(ADAM_UPDATE, "adam", adamModuleBytes);

/** Whether this JavaScript engine runs the module (it needs WebAssembly SIMD, as tfjs's SIMD wasm build does). */
export function adamUpdateSupported(): boolean {
  return adam.supported();
}

function adamUpdateWasm({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const wasm = backend as WasmBackend;
  const { value, m, v, g } = inputs as Record<"value" | "m" | "v" | "g", tf.TensorInfo>;
  const s = attrs as unknown as AdamScalars;
  for (const t of [value, m, v, g]) {
    if (t.dtype !== "float32" || !tf.util.arraysEqual(t.shape, value.shape)) {
      throw new Error(
        `SessionrecAdamUpdate: value, moments and gradient must be float32 of one shape, got ${t.dtype} [${t.shape}] for [${value.shape}]`,
      );
    }
  }
  const outputs = [value, m, v].map(() => wasm.makeOutput(value.shape.slice(), "float32"));
  const size = tf.util.sizeFromShape(value.shape);
  const vectorised = size - (size % 4);
  const offset = (t: tf.TensorInfo) => wasm.getMemoryOffset(t.dataId);
  const f = Math.fround;
  adam.on(wasm)(
    ...outputs.map(offset),
    ...[value, m, v, g].map(offset),
    vectorised * 4,
    ...[s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.oneMinusAccBeta1, s.oneMinusAccBeta2, s.epsilon, -s.learningRate],
  );
  // The last size % 4 floats in JavaScript: each operation rounded to float32, the same values.
  const [valueOut, mOut, vOut] = outputs.map((t) => wasm.typedArrayFromHeap(t));
  const [valueIn, mIn, vIn, gIn] = [value, m, v, g].map((t) => wasm.typedArrayFromHeap(t));
  const [b1, c1, b2, c2, oma1, oma2, eps, nlr] = [
    s.beta1,
    1 - s.beta1,
    s.beta2,
    1 - s.beta2,
    s.oneMinusAccBeta1,
    s.oneMinusAccBeta2,
    s.epsilon,
    -s.learningRate,
  ].map(f);
  for (let i = vectorised; i < size; i++) {
    const newM = f(f(mIn[i] * b1) + f(gIn[i] * c1));
    const newV = f(f(vIn[i] * b2) + f(f(gIn[i] * gIn[i]) * c2));
    mOut[i] = newM;
    vOut[i] = newV;
    valueOut[i] = f(f(f(f(newM / oma1) / f(f(Math.sqrt(f(newV / oma2))) + eps)) * nlr) + valueIn[i]);
  }
  return outputs;
}

export const adamUpdateWasmConfig: tf.KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: WASM,
  kernelFunc: adamUpdateWasm as unknown as tf.KernelFunc,
};
