// Backend benchmark: for every tfjs backend available here, the time of one training step of a GRU next-item
// model at a realistic size, and whether each bench model (MLP, GRU, LSTM, Transformer) trains at all.
// Budget: about 3 minutes on 2 cores (the cpu backend gets few steps).
//
//   npm run bench:backend
import * as path from "path";
import { pathToFileURL } from "url";
import { disposeBatch } from "../lib/data/index";
import { adam } from "../lib/train/index";
import { BACKEND_NAMES, isBackendAvailable, startBackend, type BackendName } from "../lib/compute/index";
import {
  BENCH_MODEL_KINDS,
  buildBenchModel,
  syntheticBatch,
  type BenchModelConfig,
  type BenchModelKind,
} from "./models";

/** The timed model: GRU, 20,000 items, embedding and state 64, sessions of 20, batch 256, full softmax, Adam. */
export const GRU_STEP_CONFIG: BenchModelConfig = { numItems: 20_000, dim: 64, seqLen: 20 };
export const GRU_STEP_BATCH = 256;
/** Untimed warm-up steps then timed steps, per backend; the plain-JS cpu backend takes seconds per step. */
const STEPS: Record<BackendName, { warmup: number; timed: number }> = {
  tensorflow: { warmup: 2, timed: 10 },
  webgpu: { warmup: 2, timed: 10 },
  wasm: { warmup: 2, timed: 5 },
  cpu: { warmup: 1, timed: 2 },
};

/** The "does it train" check: a small model, a few Adam steps; the loss must stay finite and go down. */
const TRAINS_CONFIG: BenchModelConfig = { numItems: 1_000, dim: 32, seqLen: 10 };
const TRAINS_BATCH = 64;
const TRAINS_STEPS = 5;

export interface BackendBenchRow {
  backend: BackendName;
  /** From the backend's start-up, e.g. "SIMD, 1 thread; tfjs 4.22.0". */
  detail: string;
  /** Median milliseconds per GRU training step; null when it failed (see gruError). */
  gruStepMs: number | null;
  gruTimedSteps: number;
  gruError?: string;
  /** Per model kind: "ok", or what went wrong. */
  trains: Record<BenchModelKind, string>;
  /** Per model kind: the losses of the check, first and last. */
  losses: Record<BenchModelKind, [number, number] | null>;
}

export interface BackendBenchOptions {
  /** Backends to try. Default: every available one, fastest first. */
  backends?: BackendName[];
  /** Progress messages. Default: stderr. */
  log?: (msg: string) => void;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0].slice(0, 160);
}

/** Runs `steps` Adam steps of `kind` on one batch; returns the loss of each step and the time of each (ms). */
async function train(
  kind: BenchModelKind,
  config: BenchModelConfig,
  batch: number,
  steps: number,
  learningRate: number,
): Promise<{ losses: number[]; ms: number[] }> {
  const model = buildBenchModel(kind, config);
  const sessions = syntheticBatch(config, batch);
  const optimizer = adam(learningRate);
  const losses: number[] = [];
  const ms: number[] = [];
  try {
    for (let step = 0; step < steps; step++) {
      const start = performance.now();
      const loss = optimizer.minimize(() => model.loss(sessions), true, model.variables)!;
      losses.push((await loss.data())[0]); // reading the loss waits for asynchronous backends
      ms.push(performance.now() - start);
      loss.dispose();
    }
  } finally {
    optimizer.dispose();
    model.dispose();
    disposeBatch(sessions);
  }
  return { losses, ms };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function verdict(losses: number[]): string {
  if (!losses.every(Number.isFinite)) return `loss not finite: ${losses.join(", ")}`;
  if (!(losses[losses.length - 1] < losses[0])) return `loss not decreasing: ${losses.join(", ")}`;
  return "ok";
}

async function benchOne(backend: BackendName, log: (msg: string) => void): Promise<BackendBenchRow> {
  const { detail } = await startBackend(backend);
  const { warmup, timed } = STEPS[backend];
  const row: BackendBenchRow = {
    backend,
    detail,
    gruStepMs: null,
    gruTimedSteps: timed,
    trains: {} as BackendBenchRow["trains"],
    losses: {} as BackendBenchRow["losses"],
  };
  log(`${backend}: GRU step, ${warmup} warm-up + ${timed} timed steps`);
  try {
    const { ms } = await train("gru", GRU_STEP_CONFIG, GRU_STEP_BATCH, warmup + timed, 1e-3);
    row.gruStepMs = median(ms.slice(warmup));
  } catch (err) {
    row.gruError = errorText(err);
  }
  for (const kind of BENCH_MODEL_KINDS) {
    log(`${backend}: does ${kind} train?`);
    try {
      const { losses } = await train(kind, TRAINS_CONFIG, TRAINS_BATCH, TRAINS_STEPS, 1e-2);
      row.losses[kind] = [losses[0], losses[losses.length - 1]];
      row.trains[kind] = verdict(losses);
    } catch (err) {
      row.losses[kind] = null;
      row.trains[kind] = `error: ${errorText(err)}`;
    }
  }
  return row;
}

/** Benchmarks every requested backend in this process, one after the other. */
export async function runBackendBench(opts: BackendBenchOptions = {}): Promise<BackendBenchRow[]> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));
  const backends = opts.backends ?? BACKEND_NAMES.filter((name) => isBackendAvailable(name));
  const rows: BackendBenchRow[] = [];
  for (const backend of backends) rows.push(await benchOne(backend, log));
  return rows;
}

/** A plain-text table, then one line per failure. */
export function formatBackendTable(rows: BackendBenchRow[]): string {
  const header = ["backend", "detail", "GRU ms/step", ...BENCH_MODEL_KINDS.map((kind) => `${kind} loss`)];
  const cells = rows.map((row) => [
    row.backend,
    row.detail,
    row.gruStepMs === null ? "failed" : `${row.gruStepMs.toFixed(0)} (median of ${row.gruTimedSteps})`,
    ...BENCH_MODEL_KINDS.map((kind) => {
      const losses = row.losses[kind];
      return row.trains[kind] === "ok" && losses ? `${losses[0].toFixed(3)}→${losses[1].toFixed(3)}` : "NO";
    }),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((line) => line[i].length)));
  const format = (line: string[]) =>
    line
      .map((cell, i) => cell.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const notes = rows.flatMap((row) => [
    ...(row.gruError ? [`${row.backend} GRU step: ${row.gruError}`] : []),
    ...BENCH_MODEL_KINDS.filter((kind) => row.trains[kind] !== "ok").map(
      (kind) => `${row.backend} ${kind}: ${row.trains[kind]}`,
    ),
  ]);
  const setup =
    `GRU step: ${GRU_STEP_CONFIG.numItems} items, dim ${GRU_STEP_CONFIG.dim}, ` +
    `seqLen ${GRU_STEP_CONFIG.seqLen}, batch ${GRU_STEP_BATCH}, full softmax, Adam.`;
  const check = `Loss: first→last of ${TRAINS_STEPS} Adam steps, ${TRAINS_CONFIG.numItems} items, batch ${TRAINS_BATCH}.`;
  return [format(header), ...cells.map(format), "", setup, check, ...notes].join("\n");
}

export async function main(): Promise<BackendBenchRow[]> {
  const rows = await runBackendBench();
  console.log(formatBackendTable(rows));
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
