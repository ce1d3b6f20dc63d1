// Where a full-softmax training step's time goes (issue 22): the YOOCHOOSE-settings GRU row of bench:train
// (bench/train.ts, 43k items, 96 targets per step), the process CPU time of each wasm kernel call (CPU time, not wall
// clock: the 2 cores are shared, and a descheduled kernel would count its wait) grouped into the catalogue softmax's
// parts — logits, softmax and cross-entropy, the two gradient matmuls, transposes of catalogue-sized tensors, Adam
// over the item table — and the rest (the GRU, the other variables' Adam, the embedding gradient).
//
//   npx tsx bench/softmax-step.ts [--steps 5]
import * as os from "os";
import * as tf from "@tensorflow/tfjs";
import { startBackend } from "../lib/compute/index";
import { disposeBatch } from "../lib/data/index";
import { adam } from "../lib/train/index";
import { sparseTableGradients } from "../lib/models/table-rows";
import { buildBenchModel, syntheticBatch } from "./models";
import { YOOCHOOSE_BATCH, YOOCHOOSE_SHAPE } from "./train";

type Part =
  | "logits"
  | "softmax + cross-entropy + dLogits"
  | "dh = dLogits·W"
  | "dW = dLogitsᵀ·h"
  | "transposes"
  | "Adam over the item table"
  | "rest";
const PARTS: Part[] = [
  "logits",
  "softmax + cross-entropy + dLogits",
  "dh = dLogits·W",
  "dW = dLogitsᵀ·h",
  "transposes",
  "Adam over the item table",
  "rest",
];

/** The part of the step a kernel call belongs to, from its name and input shapes (n targets, V items, d width). */
function partOf(name: string, shapes: number[][], items: number, afterGradients: boolean): Part {
  const hasItems = shapes.some((s) => s.includes(items));
  if (!hasItems) return "rest";
  const flat = shapes.map((s) => s.filter((x) => x !== 1));
  if (name === "Transpose") return "transposes";
  if (name === "BatchMatMul" || name === "_FusedMatMul") {
    const [a, b] = flat;
    if (a[a.length - 1] === items && b[0] === items) return "dh = dLogits·W";
    if (a[a.length - 1] === items && b[0] === a[0]) return "dW = dLogitsᵀ·h";
    return "logits";
  }
  if (afterGradients && flat.every((s) => s.length === 0 || (s[0] === items && s.length === 2) || s.length === 0))
    return "Adam over the item table";
  return flat.some((s) => s.length === 2 && s[1] === items) ? "softmax + cross-entropy + dLogits" : "rest";
}

interface KernelCall {
  name: string;
  shapes: number[][];
  cpuMs: number;
}

/** Re-registers every wasm kernel with a wrapper that appends its name, input shapes and process CPU time to the
 *  returned list; a kernel run from inside another (our wrappers call stock kernels) counts in the outer one only. */
function recordKernelCalls(): KernelCall[] {
  const calls: KernelCall[] = [];
  let depth = 0;
  for (const config of tf.getKernelsForBackend("wasm")) {
    const inner = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const started = process.cpuUsage();
        depth++;
        try {
          return inner(args);
        } finally {
          depth--;
          const used = process.cpuUsage(started);
          if (depth === 0) {
            const shapes = Object.values(args.inputs).flatMap((t) => (t == null ? [] : [(t as tf.TensorInfo).shape]));
            calls.push({ name: config.kernelName, shapes, cpuMs: (used.user + used.system) / 1000 });
          }
        }
      },
    });
  }
  return calls;
}

async function main(args: string[]): Promise<void> {
  const at = args.indexOf("--steps");
  const steps = at >= 0 ? Number(args[at + 1]) : 5;
  const { detail } = await startBackend("wasm");
  const shape = YOOCHOOSE_SHAPE;
  const model = buildBenchModel("gru", shape, { scheme: "next" });
  const batch = syntheticBatch(shape, YOOCHOOSE_BATCH);
  const optimizer = adam(1e-3);
  const step = () => {
    const loss = sparseTableGradients(() => optimizer.minimize(() => model.loss(batch), true, model.variables)!);
    loss.dataSync();
    loss.dispose();
  };
  step(); // warm-up
  step();
  const calls = recordKernelCalls();
  const totals = new Map<Part, number>(PARTS.map((p) => [p, 0]));
  let wall = 0;
  let cpu = 0;
  for (let i = 0; i < steps; i++) {
    calls.length = 0;
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    step();
    const used = process.cpuUsage(cpuStart);
    cpu += (used.user + used.system) / 1000;
    wall += performance.now() - started;
    // Adam's ops come after the last gradient matmul of the step.
    const lastGradient = calls.reduce(
      (last, k, j) =>
        k.name === "BatchMatMul" && partOf(k.name, k.shapes, shape.numItems, false) !== "logits" ? j : last,
      -1,
    );
    calls.forEach((k, j) => {
      const part = partOf(k.name, k.shapes, shape.numItems, j > lastGradient);
      totals.set(part, (totals.get(part) ?? 0) + k.cpuMs);
    });
  }
  const kernelSum = [...totals.values()].reduce((a, b) => a + b, 0);
  console.log(
    `softmax-step: GRU ${shape.dim} units, ${shape.numItems.toLocaleString("en")} items, ${YOOCHOOSE_BATCH} sessions of ${shape.seqLen} clicks (${YOOCHOOSE_BATCH * (shape.seqLen - 1)} targets), wasm ${detail}`,
  );
  console.log(
    `CPU ms per step, mean of ${steps} steps (the whole step: ${(cpu / steps).toFixed(0)} CPU ms, ${(wall / steps).toFixed(0)} ms wall):`,
  );
  for (const part of PARTS)
    console.log(`  ${part.padEnd(36)} ${((totals.get(part) ?? 0) / steps).toFixed(1).padStart(7)}`);
  console.log(`  ${"all kernels".padEnd(36)} ${(kernelSum / steps).toFixed(1).padStart(7)}`);
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} (1, 5, 15 min)`,
  );
  optimizer.dispose();
  model.dispose();
  disposeBatch(batch);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
