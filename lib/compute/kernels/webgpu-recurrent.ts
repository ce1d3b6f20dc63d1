// The GRU and LSTM recurrences of lib/compute/kernels/recurrent-sequence.ts as WGSL kernels for the WebGPU backend.
// Why: built from tf ops, every time step costs ~10 dispatches forward and ~20 backward, each a few microseconds of
// launch and a round trip through GPU memory for tensors of [batch, units]; here one dispatch runs the whole
// sequence. One workgroup per session: its threads share the state h (and c) in workgroup memory, each computes
// the recurrent products of its own units (reading U column-wise: neighbouring threads read neighbouring floats),
// and barriers separate the steps. The backward scan runs the same way in reverse, carrying dLoss/dh (and dc).
// Outputs pack what the backward pass needs per step; lib/compute/kernels/recurrent-sequence.ts unpacks them and computes
// dU (one matmul over all steps) and db' with ordinary ops. The numerics are the JS path's (tests compare them).
//
//   GRU forward   gates [b, L, 3u], mask [b, L], U [u, 3u], b' [3u]  → [b, L, 5u]: h_t, z, r, n, c = h_{t−1}·U_n + b'_n
//   GRU backward  dh [b, L, u], forward's [b, L, 5u], mask, U         → [b, L, 4u]: dz̃, dr̃, dñ (pre-activation), dc
//   LSTM forward  gates [b, L, 4u], mask [b, L], U [u, 4u]             → [b, L, 7u]: h_t, c_t, σ(i), σ(f), tanh(g), σ(o), tanh(c')
//   LSTM backward dh [b, L, u], forward's [b, L, 7u], mask, U          → [b, L, 4u]: gradients of the gate pre-activations
import * as tf from "@tensorflow/tfjs";

export const GRU_SCAN = "SessionrecGruScan";
export const GRU_SCAN_GRAD = "SessionrecGruScanGrad";
export const LSTM_SCAN = "SessionrecLstmScan";
export const LSTM_SCAN_GRAD = "SessionrecLstmScanGrad";
const WEBGPU = "webgpu";

/** Workgroup memory is 16 KiB (4,096 floats) by WebGPU's default limits; the LSTM backward keeps 5·u floats there
 *  (the GRU's 4·u). */
export const MAX_SCAN_UNITS = 800;
/** WebGPU's limit on workgroups along one dimension: one per session. */
const MAX_SESSIONS = 65535;

/** The parts of tfjs-backend-webgpu used here; the package is optional, so it is not imported. */
interface WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  getUserCode(): string;
}
interface WebGpuBackend {
  runWebGPUProgram(program: WebGpuProgram, inputs: tf.TensorInfo[], outputDtype: tf.DataType): tf.TensorInfo;
}

/** Threads per workgroup for `units`: a multiple of 32, at most 256; each thread owns units lane, lane + WG, … */
function workgroupWidth(units: number): number {
  return Math.min(256, Math.ceil(units / 32) * 32);
}

/** WGSL shared by every scan: sizes as constants (workgroup arrays need them), overflow-safe activations. */
function prelude(units: number, width: number): string {
  return `
    const U : i32 = ${units};
    const WG : i32 = ${width};
    const PER : i32 = ${Math.ceil(units / width)};
    fn sigmoidOf(x : f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
    // tanh through exp(−2|x|), which cannot overflow.
    fn tanhOf(x : f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
  `;
}

/** A program of one workgroup per session (`sessions` of them) running `body` as `main`. */
function scanProgram(
  name: string,
  units: number,
  sessions: number,
  outputShape: number[],
  inputs: string[],
  body: string,
): WebGpuProgram {
  if (sessions > MAX_SESSIONS) throw new Error(`${name}: at most ${MAX_SESSIONS} sessions per call, got ${sessions}`);
  const width = workgroupWidth(units);
  return {
    outputShape,
    shaderKey: `${name}_${units}_${width}`,
    dispatchLayout: { x: [0] },
    dispatch: [sessions, 1, 1],
    variableNames: inputs,
    workgroupSize: [width, 1, 1],
    getUserCode: () => `${prelude(units, width)}\n${body}`,
  };
}

/**
 * A forward scan: one workgroup per session (row), each thread (lane) owning units j = lane + p·WG for p < PER.
 * h (workgroup memory) starts at zero; per step t, `unitBody` computes unit j's new state from h, the mask value m
 * and the step's input gates at gates[g + …] (G·U per step), writes its outputs at result[o + …] (OUT·U per step)
 * and sets next[p]; then h takes the new states. `threadState` declares per-thread arrays (zero-initialised, as
 * every WGSL variable without an initialiser).
 */
function forwardScan(gateWidth: number, outputWidth: number, unitBody: string, threadState = ""): string {
  return `
  var<workgroup> h : array<f32, U>;
  fn main(index : i32) {
    let row = i32(workgroupId.x);
    let lane = i32(localId.x);
    let L = uniforms.stepMaskShape.y;
    ${threadState}
    for (var p = 0; p < PER; p++) { let j = lane + p * WG; if (j < U) { h[j] = 0.0; } }
    workgroupBarrier();
    for (var t = 0; t < L; t++) {
      let m = stepMask[row * L + t];
      let g = (row * L + t) * ${gateWidth} * U;
      let o = (row * L + t) * ${outputWidth} * U;
      var next : array<f32, PER>;
      for (var p = 0; p < PER; p++) {
        let j = lane + p * WG;
        if (j < U) {
          ${unitBody}
        }
      }
      workgroupBarrier();
      for (var p = 0; p < PER; p++) { let j = lane + p * WG; if (j < U) { h[j] = next[p]; } }
      workgroupBarrier();
    }
  }
`;
}

/**
 * The backward scan matching `forwardScan`, from the last step to the first. carry (workgroup memory) holds
 * dLoss/dh_t through step t + 1. Per step, `unitBody` reads the forward's outputs at trace[o + …], gets
 * dState = dLoss/dh_t, writes unit j's gate gradients at result[d + …] (4·U per step) and its recurrent ones at
 * dRecurrent[k·U + j] (R·U), and sets dPrevious[p] to the part of dLoss/dh_{t−1} that does not go through U; then
 * every thread adds row j of U times dRecurrent, and carry takes the sum.
 */
function backwardScan(recurrentWidth: number, outputWidth: number, unitBody: string, threadState = ""): string {
  return `
  var<workgroup> carry : array<f32, U>;
  var<workgroup> dRecurrent : array<f32, ${recurrentWidth} * U>;
  fn main(index : i32) {
    let row = i32(workgroupId.x);
    let lane = i32(localId.x);
    let L = uniforms.stepMaskShape.y;
    ${threadState}
    for (var p = 0; p < PER; p++) { let j = lane + p * WG; if (j < U) { carry[j] = 0.0; } }
    workgroupBarrier();
    for (var t = L - 1; t >= 0; t--) {
      let m = stepMask[row * L + t];
      let o = (row * L + t) * ${outputWidth} * U;
      let d = (row * L + t) * 4 * U;
      var dPrevious : array<f32, PER>;
      for (var p = 0; p < PER; p++) {
        let j = lane + p * WG;
        if (j < U) {
          let dState = dStates[(row * L + t) * U + j] + carry[j];
          ${unitBody}
        }
      }
      workgroupBarrier();
      for (var p = 0; p < PER; p++) {
        let j = lane + p * WG;
        if (j < U) {
          var sum = dPrevious[p];
          for (var i = 0; i < ${recurrentWidth} * U; i++) { sum += dRecurrent[i] * recurrentKernel[j * ${recurrentWidth} * U + i]; }
          dPrevious[p] = sum;
        }
      }
      workgroupBarrier();
      for (var p = 0; p < PER; p++) { let j = lane + p * WG; if (j < U) { carry[j] = dPrevious[p]; } }
      workgroupBarrier();
    }
  }
`;
}

const GRU_FORWARD = forwardScan(
  3,
  5,
  `
          var az = recurrentBias[j];
          var ar = recurrentBias[U + j];
          var ac = recurrentBias[2 * U + j];
          for (var k = 0; k < U; k++) {
            let hk = h[k];
            let w = k * 3 * U + j;
            az += hk * recurrentKernel[w];
            ar += hk * recurrentKernel[w + U];
            ac += hk * recurrentKernel[w + 2 * U];
          }
          let z = sigmoidOf(gates[g + j] + az);
          let r = sigmoidOf(gates[g + U + j] + ar);
          let n = tanhOf(gates[g + 2 * U + j] + r * ac);
          let previous = h[j];
          let state = previous + m * (n + z * (previous - n) - previous); // kept on padding
          next[p] = state;
          result[o + j] = state;
          result[o + U + j] = z;
          result[o + 2 * U + j] = r;
          result[o + 3 * U + j] = n;
          result[o + 4 * U + j] = ac;`,
);

const GRU_BACKWARD = backwardScan(
  3,
  5,
  `
          let dNext = m * dState;
          let z = trace[o + U + j];
          let r = trace[o + 2 * U + j];
          let n = trace[o + 3 * U + j];
          let c = trace[o + 4 * U + j];
          var previous = 0.0;
          if (t > 0) { previous = trace[o - 5 * U + j]; }
          let dNextZ = dNext * z;
          let dCandidate = (dNext - dNextZ) * (1.0 - n * n);
          let dz = dNext * (previous - n) * z * (1.0 - z);
          let dr = dCandidate * c * r * (1.0 - r);
          let dc = dCandidate * r;
          result[d + j] = dz;
          result[d + U + j] = dr;
          result[d + 2 * U + j] = dCandidate;
          result[d + 3 * U + j] = dc;
          dRecurrent[j] = dz;
          dRecurrent[U + j] = dr;
          dRecurrent[2 * U + j] = dc;
          dPrevious[p] = dState - dNext + dNextZ;`,
);

const LSTM_FORWARD = forwardScan(
  4,
  7,
  `
          var ai = gates[g + j];
          var af = gates[g + U + j];
          var ag = gates[g + 2 * U + j];
          var ao = gates[g + 3 * U + j];
          for (var k = 0; k < U; k++) {
            let hk = h[k];
            let w = k * 4 * U + j;
            ai += hk * recurrentKernel[w];
            af += hk * recurrentKernel[w + U];
            ag += hk * recurrentKernel[w + 2 * U];
            ao += hk * recurrentKernel[w + 3 * U];
          }
          let i = sigmoidOf(ai);
          let f = sigmoidOf(af);
          let gg = tanhOf(ag);
          let og = sigmoidOf(ao);
          let nextCell = f * cell[p] + i * gg;
          let cellTanh = tanhOf(nextCell);
          let previous = h[j];
          let state = previous + m * (og * cellTanh - previous); // kept on padding
          cell[p] = cell[p] + m * (nextCell - cell[p]);
          next[p] = state;
          result[o + j] = state;
          result[o + U + j] = cell[p];
          result[o + 2 * U + j] = i;
          result[o + 3 * U + j] = f;
          result[o + 4 * U + j] = gg;
          result[o + 5 * U + j] = og;
          result[o + 6 * U + j] = cellTanh;`,
  "var cell : array<f32, PER>; // c of the thread's own units: no other thread reads it",
);

const LSTM_BACKWARD = backwardScan(
  4,
  7,
  `
          let dNextH = m * dState;
          let i = trace[o + 2 * U + j];
          let f = trace[o + 3 * U + j];
          let gg = trace[o + 4 * U + j];
          let og = trace[o + 5 * U + j];
          let cellTanh = trace[o + 6 * U + j];
          var previousCell = 0.0;
          if (t > 0) { previousCell = trace[o - 7 * U + U + j]; }
          let dNextCell = dNextH * og * (1.0 - cellTanh * cellTanh) + m * carryCell[p];
          let di = dNextCell * gg * i * (1.0 - i);
          let df = dNextCell * previousCell * f * (1.0 - f);
          let dg = dNextCell * i * (1.0 - gg * gg);
          let dO = dNextH * cellTanh * og * (1.0 - og);
          result[d + j] = di;
          result[d + U + j] = df;
          result[d + 2 * U + j] = dg;
          result[d + 3 * U + j] = dO;
          dRecurrent[j] = di;
          dRecurrent[U + j] = df;
          dRecurrent[2 * U + j] = dg;
          dRecurrent[3 * U + j] = dO;
          carryCell[p] = (1.0 - m) * carryCell[p] + dNextCell * f;
          dPrevious[p] = dState - dNextH;`,
  "var carryCell : array<f32, PER>; // dLoss/dc_t through step t + 1, for the thread's own units",
);

interface ScanSpec {
  kernelName: string;
  inputs: string[];
  /** Width of the output's last axis in units. */
  outputUnits: number;
  body: string;
}

const SPECS: ScanSpec[] = [
  {
    kernelName: GRU_SCAN,
    inputs: ["gates", "stepMask", "recurrentKernel", "recurrentBias"],
    outputUnits: 5,
    body: GRU_FORWARD,
  },
  {
    kernelName: GRU_SCAN_GRAD,
    inputs: ["dStates", "trace", "stepMask", "recurrentKernel"],
    outputUnits: 4,
    body: GRU_BACKWARD,
  },
  { kernelName: LSTM_SCAN, inputs: ["gates", "stepMask", "recurrentKernel"], outputUnits: 7, body: LSTM_FORWARD },
  {
    kernelName: LSTM_SCAN_GRAD,
    inputs: ["dStates", "trace", "stepMask", "recurrentKernel"],
    outputUnits: 4,
    body: LSTM_BACKWARD,
  },
];

function kernelConfig(spec: ScanSpec): tf.KernelConfig {
  return {
    kernelName: spec.kernelName,
    backendName: WEBGPU,
    kernelFunc: ({ inputs, backend }) => {
      const ordered = spec.inputs.map((name) => inputs[name] as tf.TensorInfo);
      const [batch, seqLen] = (inputs.stepMask as tf.TensorInfo).shape;
      const units = (inputs.recurrentKernel as tf.TensorInfo).shape[0];
      const program = scanProgram(
        spec.kernelName,
        units,
        batch,
        [batch, seqLen, spec.outputUnits * units],
        spec.inputs,
        spec.body,
      );
      return (backend as unknown as WebGpuBackend).runWebGPUProgram(program, ordered, "float32");
    },
  };
}

/** The scan kernels, for lib/compute/kernels/index.ts to register on the webgpu backend. */
export const WEBGPU_SCAN_KERNELS: readonly tf.KernelConfig[] = SPECS.map(kernelConfig);

/** Whether the scans run as WGSL kernels on the current backend for `sessions` × `units` (else: the tf-op path). */
export function webGpuScanAvailable(sessions: number, units: number): boolean {
  return (
    units <= MAX_SCAN_UNITS &&
    sessions <= MAX_SESSIONS &&
    tf.getBackend() === WEBGPU &&
    tf.getKernel(GRU_SCAN, WEBGPU) != null
  );
}

/** Runs one of the scan kernels on tensors. */
export function runScan(kernelName: string, inputs: Record<string, tf.Tensor>): tf.Tensor3D {
  return tf.engine().runKernel(kernelName, inputs as tf.NamedTensorMap) as tf.Tensor3D;
}
