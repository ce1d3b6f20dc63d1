// Training-speed benchmark: per backend and model, ms per training step, training and inference sessions per
// second (batch 1 and the training batch), peak RSS, and the same figures for a PyTorch CPU peer of each model
// (bench/torch_peer.py) when /usr/bin/python3 has torch; then the GRU epoch estimate against the targets
// (one epoch of 200,000 sessions of length <= 10 over 40,000 items at batch 1024 in < 60 s, and <= 3x PyTorch), and
// the YOOCHOOSE-settings GRU's full-softmax epoch (issue 22). The peer's BLAS is reported, never installed: a ratio
// against the reference BLAS is not printed (`apt-get install libopenblas0-pthread` gives Debian's torch OpenBLAS).
// Every row runs in a child process of its own, so that its peak RSS is its own.
//
//   npm run bench:train                      every row (wasm at the target size, cpu at a tiny size), ~12 minutes
//   npm run bench:train -- --quick           fewer steps, no PyTorch, no full-softmax causal GRU row
//   npm run bench:train -- --rows gru-next-sampled,gru-last --no-torch
//   npm run bench:train -- --rows mlp-last,gru-last --workers 1,2 --no-torch   each row on 1 and on 2 worker threads
//   npm run bench:train -- --rows gru-last --workers 1,2 --repeat 3   three rounds: median runs, the pairs' ratio range
//   npm run bench:train -- --backend webgpu --torch-device cuda   the GPU check (bench/gpu-check.sh runs it on a device)
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { fileURLToPath, pathToFileURL } from "url";
import { startBackend, type BackendName } from "../lib/compute/index";
import { disposeBatch } from "../lib/data/index";
import { adam } from "../lib/train/index";
import { sparseTableGradients } from "../lib/models/table-rows";
import { buildBenchModel, syntheticBatch, type BenchModelConfig, type BenchModelKind } from "./models";

/** The target of issues 4 and 6: sessions of <= 10 events over 40,000 items, embedding and state 64, batch 1024. */
export const TARGET_SHAPE: BenchModelConfig = { numItems: 40_000, dim: 64, seqLen: 10 };
export const TARGET_BATCH = 1024;
/** Sessions in the target epoch, and its time limits. */
export const EPOCH_SESSIONS = 200_000;
export const EPOCH_SECONDS_TARGET = 60;
export const TORCH_RATIO_TARGET = 3;
/** Issue 6's GPU target: GRU and Transformer steps on WebGPU within this factor of PyTorch on the same GPU. */
export const GPU_RATIO_TARGET = 5;
/** The plain-JS cpu backend is ~40x slower than wasm: it gets a tiny shape. */
export const TINY_SHAPE: BenchModelConfig = { numItems: 2_000, dim: 32, seqLen: 10 };
export const TINY_BATCH = 64;
/** Negatives of the sampled-softmax rows (popularity sampler, shared by the batch's rows). */
export const SAMPLED_NEGATIVES = 1024;
/** The YOOCHOOSE settings of configs/yoochoose.json (GRU, 128 units = item dim, no MLP, dropout 0.45, temperature
 *  0.5, full softmax, every next click, batch 32) over a 43k-item catalogue. Steps are batches of sessions of similar
 *  length (LengthBucketedBatches), and the cost of a step is about linear in its targets, so the row times batches of
 *  32 sessions of 4 clicks: 96 targets, the mean step of a log with 2.95 targets per session (the 100k sample's). */
export const YOOCHOOSE_SHAPE: BenchModelConfig = {
  numItems: 43_000,
  dim: 128,
  seqLen: 4,
  minLength: 4,
  mlp: [],
  dropout: 0.45,
  temperature: 0.5,
};
export const YOOCHOOSE_BATCH = 32;
/** Sessions of the issue's YOOCHOOSE training log (one epoch). */
export const YOOCHOOSE_SESSIONS = 187_000;
/** Items recommended per session at inference. */
const TOP_K = 10;
/** The PyTorch peer's interpreter: Debian's python3 (python3-torch) unless BENCH_PYTHON names another. */
const PYTHON = process.env.BENCH_PYTHON || "/usr/bin/python3";

export type BenchBackend = Extract<BackendName, "wasm" | "cpu" | "webgpu">;

export interface TrainRowSpec {
  /** Short unique name, used by --rows. */
  id: string;
  backend: BenchBackend;
  model: BenchModelKind;
  scheme: "last" | "next";
  sampledNegatives: number | null;
  shape: BenchModelConfig;
  batch: number;
  warmup: number;
  steps: number;
  /** Data-parallel replicas (`fit`'s `workers`); absent: 1, this thread's own step. */
  workers?: number;
}

export interface TrainRowResult {
  spec: TrainRowSpec;
  detail: string;
  /** Median wall-clock and process-CPU milliseconds per training step. */
  msPerStep: number;
  cpuMsPerStep: number;
  trainSeqPerSec: number;
  /** Loss of the first and the last step (finite and, usually, going down). */
  losses: [number, number];
  inferBatch1PerSec: number;
  inferBatchPerSec: number;
  peakRssMb: number;
  error?: string;
}

export interface TorchResult {
  msPerStep: number;
  trainSeqPerSec: number;
  inferBatch1PerSec: number;
  inferBatchPerSec: number;
  peakRssMb: number;
  torch: string;
  /** The BLAS library the peer loaded, its kind ("reference": no ratio is printed) and its threads. */
  blas: string;
  blasKind?: "openblas" | "mkl" | "reference" | "unknown";
  blasThreads?: number;
  /** torch.get_num_threads(). */
  threads: number;
  /** "cpu" or the CUDA device's name (older peers did not say: cpu). */
  device?: string;
}

/** The rows of a full run; `quick` trims steps and drops the slowest row. */
export function defaultRows(quick: boolean): TrainRowSpec[] {
  const timed = quick ? { warmup: 1, steps: 2 } : { warmup: 1, steps: 4 };
  const target = { shape: TARGET_SHAPE, batch: TARGET_BATCH, ...timed };
  const tiny = { shape: TINY_SHAPE, batch: TINY_BATCH, warmup: 1, steps: quick ? 2 : 3 };
  const models: BenchModelKind[] = ["mlp", "gru", "lstm", "transformer"];
  const rows: TrainRowSpec[] = [
    // The four models on the same task: predict each session's last item, full softmax over the catalogue.
    ...models.map((model) => ({
      id: `${model}-last`,
      backend: "wasm" as const,
      model,
      scheme: "last" as const,
      sampledNegatives: null,
      ...target,
    })),
    // The same with 1,024 sampled negatives instead of the full softmax (issue 4's option for large catalogues).
    {
      id: "gru-last-sampled",
      backend: "wasm",
      model: "gru",
      scheme: "last",
      sampledNegatives: SAMPLED_NEGATIVES,
      ...target,
    },
    // GRU4Rec-style training (every next item): sampled, and (slow) full softmax.
    {
      id: "gru-next-sampled",
      backend: "wasm",
      model: "gru",
      scheme: "next",
      sampledNegatives: SAMPLED_NEGATIVES,
      ...target,
    },
    ...(quick
      ? []
      : [
          {
            id: "gru-next-full",
            backend: "wasm" as const,
            model: "gru" as const,
            scheme: "next" as const,
            sampledNegatives: null,
            ...target,
            steps: 2,
          },
        ]),
    // The YOOCHOOSE-settings GRU over a 43k-item catalogue: full softmax, every next click, batch 32 (issue 22).
    {
      id: "gru-yoochoose-full",
      backend: "wasm",
      model: "gru",
      scheme: "next",
      sampledNegatives: null,
      shape: YOOCHOOSE_SHAPE,
      batch: YOOCHOOSE_BATCH,
      warmup: 2,
      steps: quick ? 4 : 12,
    },
    ...models.map((model) => ({
      id: `cpu-${model}-last`,
      backend: "cpu" as const,
      model,
      scheme: "last" as const,
      sampledNegatives: null,
      ...tiny,
    })),
  ];
  return rows;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Wall-clock and process-CPU milliseconds of `run`, which ends when its result has been read back from the device
 *  (`await data()`: the only read WebGPU offers in Node, and what makes GPU timings honest). */
async function timedAsync(run: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await run();
  const cpu = process.cpuUsage(cpuStart);
  return { wall: performance.now() - start, cpu: (cpu.user + cpu.system) / 1000 };
}

/** Runs one row in this process (the child side). */
export async function runRow(spec: TrainRowSpec): Promise<TrainRowResult> {
  const { detail } = await startBackend(spec.backend);
  const model = buildBenchModel(spec.model, spec.shape, {
    scheme: spec.scheme,
    sampledNegatives: spec.sampledNegatives,
  });
  const sessions = syntheticBatch(spec.shape, spec.batch);
  const single = syntheticBatch(spec.shape, 1, 8);
  const optimizer = adam(1e-3);
  const parallel = (spec.workers ?? 1) > 1 ? await model.startParallel(spec.workers!) : null;
  try {
    const losses: number[] = [];
    const steps: { wall: number; cpu: number }[] = [];
    for (let step = 0; step < spec.warmup + spec.steps; step++) {
      steps.push(
        await timedAsync(async () => {
          if (parallel !== null) {
            losses.push(await parallel.step(sessions, 1e-3)); // cpu ms then counts the workers' threads too
            return;
          }
          // As fit's step: a large table's gathers differentiated into one gradient.
          const loss = sparseTableGradients(() =>
            optimizer.minimize(() => model.loss(sessions), true, model.variables)!,
          );
          losses.push((await loss.data())[0]); // the step is done when its loss has been read
          loss.dispose();
        }),
      );
    }
    const measured = steps.slice(spec.warmup);
    const recommendOnce = async (batch: typeof sessions): Promise<void> => {
      const top = model.recommend(batch, TOP_K);
      await top.data();
      top.dispose();
    };
    const recommendMs = async (batch: typeof sessions, repeats: number): Promise<number> => {
      await recommendOnce(batch); // warm-up
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) times.push((await timedAsync(() => recommendOnce(batch))).wall);
      return median(times);
    };
    const msPerStep = median(measured.map((s) => s.wall));
    return {
      spec,
      detail,
      msPerStep,
      cpuMsPerStep: median(measured.map((s) => s.cpu)),
      trainSeqPerSec: (spec.batch / msPerStep) * 1000,
      losses: [losses[0], losses[losses.length - 1]],
      inferBatch1PerSec: 1000 / (await recommendMs(single, 20)),
      inferBatchPerSec: (spec.batch / (await recommendMs(sessions, 3))) * 1000,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await parallel?.close();
    optimizer.dispose();
    model.dispose();
    disposeBatch(sessions);
    disposeBatch(single);
  }
}

const THIS_FILE = fileURLToPath(import.meta.url);
const ROW_PREFIX = "TRAIN_ROW ";

function errorText(text: string): string {
  const lines = text
    .trim()
    .split("\n")
    .filter((line) => line.trim() !== "" && line.length < 400);
  return (lines.find((line) => /Error|error/.test(line)) ?? lines[lines.length - 1] ?? "no output").slice(0, 200);
}

/** Runs one row in a child process (tsx's loader flags are inherited through execArgv). */
function runRowInChild(spec: TrainRowSpec): TrainRowResult {
  const child = spawnSync(process.execPath, [...process.execArgv, THIS_FILE, "--child", JSON.stringify(spec)], {
    encoding: "utf8",
    timeout: 30 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = child.stdout.split("\n").find((l) => l.startsWith(ROW_PREFIX));
  if (line) return JSON.parse(line.slice(ROW_PREFIX.length)) as TrainRowResult;
  const failure = {
    msPerStep: NaN,
    cpuMsPerStep: NaN,
    trainSeqPerSec: NaN,
    inferBatch1PerSec: NaN,
    inferBatchPerSec: NaN,
    peakRssMb: NaN,
  };
  return {
    spec,
    detail: "",
    losses: [NaN, NaN],
    ...failure,
    error: errorText(`${child.stderr}\n${child.error?.message ?? ""}`),
  };
}

export function torchAvailable(): boolean {
  return spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
}

/** The PyTorch peer of one row, or an error text. */
function runTorchPeer(spec: TrainRowSpec, device: string): TorchResult | string {
  const script = path.join(path.dirname(THIS_FILE), "torch_peer.py");
  const args = [
    script,
    ...["--model", spec.model, "--scheme", spec.scheme, "--batch", String(spec.batch)],
    ...[
      "--seq-len",
      String(spec.shape.seqLen),
      "--items",
      String(spec.shape.numItems),
      "--dim",
      String(spec.shape.dim),
    ],
    ...[
      "--sampled",
      String(spec.sampledNegatives ?? 0),
      "--warmup",
      String(spec.warmup),
      "--steps",
      String(spec.steps),
    ],
    ...["--device", device],
    ...["--min-len", String(spec.shape.minLength ?? 2), "--temperature", String(spec.shape.temperature ?? 1)],
    ...(spec.shape.mlp !== undefined && spec.shape.mlp.length === 0 ? ["--no-mlp"] : []),
  ];
  const child = spawnSync(PYTHON, args, { encoding: "utf8", timeout: 30 * 60_000 });
  const line = child.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as TorchResult;
  } catch {
    return errorText(`${child.stderr}\n${child.error?.message ?? ""}`);
  }
}

function task(spec: TrainRowSpec): string {
  const workers = (spec.workers ?? 1) > 1 ? `, ${spec.workers} workers` : "";
  return `${spec.scheme === "last" ? "last" : "next"}, ${spec.sampledNegatives === null ? "full" : `sampled ${spec.sampledNegatives}`}${workers}`;
}

function shapeText(spec: TrainRowSpec): string {
  return `${spec.shape.numItems / 1000}k items, d${spec.shape.dim}, b${spec.batch}`;
}

/** ours / PyTorch per step, or why there is none: a peer on the reference BLAS is no benchmark. */
export function ratioText(msPerStep: number, peer: TorchResult): string {
  if (peer.blasKind === "reference") return "n/a (reference BLAS)";
  return `${round(msPerStep / peer.msPerStep, 2)}x${peer.blasKind === undefined || peer.blasKind === "unknown" ? " (BLAS?)" : ""}`;
}

const rangeText = (range: [number, number] | null): string =>
  range === null ? "—" : `${range[0].toFixed(2)}–${range[1].toFixed(2)}x`;

const round = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : "—");

export interface BenchReport {
  rows: TrainRowResult[];
  torch: (TorchResult | string | null)[];
  /** With `--repeat`: how often each row ran, and its ours / PyTorch over those pairs, lowest and highest (null: no fair pair). */
  repeats?: number;
  ratioRanges?: ([number, number] | null)[];
}

/** The run of median ms/step among a row's repeats (of an even count, the faster of the middle two). */
export function medianRun<T extends { msPerStep: number }>(runs: T[]): T {
  const sorted = [...runs].sort((a, b) => a.msPerStep - b.msPerStep);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * One report row per spec from its repeats: our median run, the peer's median run, and the range of the ratios of
 * the pairs that ran together (ours and the peer's run right after it), so that a stretch of load on a shared
 * machine shows as a range instead of moving one figure.
 */
export function combineRepeats(
  runs: { rows: TrainRowResult[]; torch: (TorchResult | string | null)[] }[],
): BenchReport {
  const finite = (row: TrainRowResult) => Number.isFinite(row.msPerStep);
  const fair = (peer: TorchResult | string | null): peer is TorchResult =>
    peer !== null && typeof peer !== "string" && peer.blasKind !== "reference";
  return {
    repeats: Math.max(...runs.map(({ rows }) => rows.length)),
    rows: runs.map(({ rows }) => (rows.some(finite) ? medianRun(rows.filter(finite)) : rows[0])),
    torch: runs.map(({ torch }) => {
      const ok = torch.filter((peer): peer is TorchResult => peer !== null && typeof peer !== "string");
      return ok.length > 0 ? medianRun(ok) : torch[0];
    }),
    ratioRanges: runs.map(({ rows, torch }) => {
      const ratios = rows.flatMap((row, i) => {
        const peer = torch[i];
        return finite(row) && fair(peer) ? [row.msPerStep / peer.msPerStep] : [];
      });
      return ratios.length > 0 ? [Math.min(...ratios), Math.max(...ratios)] : null;
    }),
  };
}

/** A plain-text table, then the GRU epoch estimates and one line per failure. */
export function formatReport({ rows, torch, repeats = 1, ratioRanges }: BenchReport, cores = os.cpus().length): string {
  // The range column only when rows ran more than once (a single run's range is its ratio).
  const ranges = repeats > 1 ? ratioRanges : undefined;
  const header = [
    "backend",
    "model",
    "task",
    "shape",
    "ms/step",
    "cpu ms",
    "train seq/s",
    "infer seq/s b1",
    "infer seq/s bN",
    "peak RSS MB",
    "torch ms/step",
    "ratio",
    ...(ranges ? ["ratio range"] : []),
    "torch RSS MB",
  ];
  const cells = rows.map((row, i) => {
    const peer = torch[i];
    const peerOk = peer !== null && typeof peer !== "string";
    return [
      row.spec.backend,
      row.spec.model,
      task(row.spec),
      shapeText(row.spec),
      round(row.msPerStep),
      round(row.cpuMsPerStep),
      round(row.trainSeqPerSec),
      round(row.inferBatch1PerSec),
      round(row.inferBatchPerSec),
      round(row.peakRssMb),
      peerOk ? round(peer.msPerStep) : peer === null ? "skipped" : "failed",
      peerOk ? ratioText(row.msPerStep, peer) : "—",
      ...(ranges ? [rangeText(ranges[i] ?? null)] : []),
      peerOk ? round(peer.peakRssMb) : "—",
    ];
  });
  const widths = header.map((title, c) => Math.max(title.length, ...cells.map((line) => line[c].length)));
  const format = (line: string[]) =>
    line
      .map((cell, c) => cell.padEnd(widths[c]))
      .join("  ")
      .trimEnd();
  const epochLines = rows.flatMap((row, i) => {
    if (
      row.spec.model !== "gru" ||
      row.spec.backend !== "wasm" ||
      row.spec.batch !== TARGET_BATCH ||
      !Number.isFinite(row.msPerStep)
    )
      return [];
    const seconds = EPOCH_SESSIONS / row.trainSeqPerSec;
    const peer = torch[i];
    const peerText =
      peer !== null && typeof peer !== "string"
        ? `; PyTorch ${round(EPOCH_SESSIONS / peer.trainSeqPerSec)} s, ratio ${ratioText(row.msPerStep, peer)}` +
          (peer.blasKind === "reference"
            ? ""
            : ` (target <= ${TORCH_RATIO_TARGET}x: ${row.msPerStep / peer.msPerStep <= TORCH_RATIO_TARGET ? "met" : "missed"})`)
        : "";
    return [
      `GRU epoch (${task(row.spec)}): ${round(seconds)} s (target < ${EPOCH_SECONDS_TARGET} s: ${seconds < EPOCH_SECONDS_TARGET ? "met" : "missed"})${peerText}`,
    ];
  });
  const yoochooseLines = rows.flatMap((row, i) => {
    // The row with each worker count (its id then ends in @workers).
    if (row.spec.id.split("@")[0] !== "gru-yoochoose-full" || !Number.isFinite(row.msPerStep)) return [];
    const minutes = (ms: number) => (((YOOCHOOSE_SESSIONS / row.spec.batch) * ms) / 60_000).toFixed(1);
    const peer = torch[i];
    const peerText = peer !== null && typeof peer !== "string" ? `; PyTorch ${minutes(peer.msPerStep)} min` : "";
    return [
      `YOOCHOOSE GRU epoch (full softmax over ${row.spec.shape.numItems.toLocaleString("en")} items, ${YOOCHOOSE_SESSIONS.toLocaleString("en")} sessions ` +
        `at batch ${row.spec.batch}${(row.spec.workers ?? 1) > 1 ? `, ${row.spec.workers} workers` : ""}, extrapolated from ms/step): ${minutes(row.msPerStep)} min${peerText}`,
    ];
  });
  const gpuLines = rows.flatMap((row, i) => {
    const peer = torch[i];
    if (
      row.spec.backend !== "webgpu" ||
      !["gru", "transformer"].includes(row.spec.model) ||
      peer === null ||
      typeof peer === "string"
    )
      return [];
    const ratio = row.msPerStep / peer.msPerStep;
    return [
      `GPU ${row.spec.model} (${task(row.spec)}): ${round(ratio, 1)}x PyTorch (target <= ${GPU_RATIO_TARGET}x: ${ratio <= GPU_RATIO_TARGET ? "met" : "missed"})`,
    ];
  });
  const notes = rows.flatMap((row, i) => {
    const peer = torch[i];
    return [
      ...(row.error ? [`${row.spec.id}: ${row.error}`] : []),
      ...(typeof peer === "string" ? [`${row.spec.id} PyTorch: ${peer}`] : []),
      ...(Number.isFinite(row.losses[1]) || row.error
        ? []
        : [`${row.spec.id}: loss not finite (${row.losses.join(" → ")})`]),
    ];
  });
  const peerInfo = torch.find((p): p is TorchResult => p !== null && typeof p !== "string");
  const setup = [
    `Shapes: sessions of 2..${TARGET_SHAPE.seqLen} events, embedding = state = ${TARGET_SHAPE.dim} (cpu rows ${TINY_SHAPE.dim}); ` +
      `tasks: last = predict each session's last item, next = every next item (GRU4Rec); full softmax or ${SAMPLED_NEGATIVES} ` +
      `popularity-sampled negatives; Adam. ms/step: median wall clock; cpu ms: process CPU time (less sensitive to load).` +
      (ranges
        ? ` Each row and its peer ran ${repeats} times, in rounds over all rows: the table holds the median run of each; ratio range: the ratios of the pairs that ran together.`
        : ""),
    `Inference: top-${TOP_K} over the catalogue for 1 session and for the row's batch. ratio = ours / PyTorch ms per step.`,
    `Epoch = ${EPOCH_SESSIONS.toLocaleString("en")} sessions / train seq/s.` +
      (peerInfo
        ? ` PyTorch ${peerInfo.torch} on ${peerInfo.device ?? "cpu"}, ${peerInfo.threads} threads, BLAS ${peerInfo.blas}, ${peerInfo.blasThreads ?? "?"} BLAS threads.`
        : ""),
    ...(peerInfo?.blasKind === "reference"
      ? [
          "The peer runs on the reference BLAS: no ratio is printed (apt-get install libopenblas0-pthread gives it OpenBLAS).",
        ]
      : []),
    ...(peerInfo &&
    (peerInfo.device ?? "cpu") === "cpu" &&
    (peerInfo.threads !== cores || (peerInfo.blasThreads ?? cores) !== cores)
      ? [
          `Warning: the peer uses ${peerInfo.threads} torch and ${peerInfo.blasThreads ?? "?"} BLAS threads on ${cores} cores.`,
        ]
      : []),
  ];
  return [
    format(header),
    ...cells.map(format),
    "",
    ...epochLines,
    ...yoochooseLines,
    ...gpuLines,
    "",
    ...setup,
    ...notes,
  ].join("\n");
}

function argValue(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

export async function main(args: string[]): Promise<void> {
  const child = argValue(args, "--child");
  if (child !== undefined) {
    const result = await runRow(JSON.parse(child) as TrainRowSpec);
    process.stdout.write(`${ROW_PREFIX}${JSON.stringify(result)}\n`);
    return;
  }
  const quick = args.includes("--quick");
  const only = argValue(args, "--rows")?.split(",");
  const backend = argValue(args, "--backend") ?? "wasm";
  if (backend !== "wasm" && backend !== "webgpu")
    throw new Error(`bench:train: --backend must be wasm or webgpu, got ${backend}`);
  const torchDevice = argValue(args, "--torch-device") ?? "cpu";
  // On webgpu: the target-size rows on the GPU, more steps (a GPU step is short); the tiny cpu rows are left out.
  const all =
    backend === "wasm"
      ? defaultRows(quick)
      : defaultRows(quick)
          .filter((row) => row.backend === "wasm")
          .map((row) => ({ ...row, backend: "webgpu" as const, warmup: 5, steps: quick ? 10 : 50 }));
  const unknown = (only ?? []).filter((id) => !all.some((row) => row.id === id));
  if (unknown.length > 0)
    throw new Error(`bench:train: unknown rows ${unknown.join(", ")}; known: ${all.map((r) => r.id).join(", ")}`);
  // --workers 1,2: every row once per count (data-parallel training over worker threads), in one run.
  const workerCounts = (argValue(args, "--workers") ?? "1").split(",").map(Number);
  if (!workerCounts.every((n) => Number.isInteger(n) && n >= 1))
    throw new Error(`bench:train: --workers must list integers >= 1, got ${argValue(args, "--workers")}`);
  const specs = (only ? all.filter((row) => only.includes(row.id)) : all).flatMap((row) =>
    workerCounts.map((workers) => (workers === 1 ? row : { ...row, id: `${row.id}@${workers}`, workers })),
  );
  const withTorch = !quick && !args.includes("--no-torch");
  const torchHere = withTorch && torchAvailable();
  if (withTorch && !torchHere) console.error(`bench:train: ${PYTHON} has no torch; the PyTorch columns are skipped`);
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  log(
    `bench:train: ${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  // --repeat N: every row and its peer N times, in rounds over all rows, so that a stretch of load on a shared
  // machine falls on every row's runs alike; the table holds each row's median run and its pairs' ratio range.
  const repeats = Number(argValue(args, "--repeat") ?? "1");
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new Error(`bench:train: --repeat must be an integer >= 1, got ${argValue(args, "--repeat")}`);
  const runs = specs.map(() => ({ rows: [] as TrainRowResult[], torch: [] as (TorchResult | string | null)[] }));
  for (let pass = 1; pass <= repeats; pass++) {
    for (const [i, spec] of specs.entries()) {
      const of = repeats > 1 ? ` (round ${pass} of ${repeats})` : "";
      log(
        `${spec.id}: ${spec.backend} ${spec.model} (${task(spec)}), ${spec.warmup} warm-up + ${spec.steps} timed steps${of}`,
      );
      const row = runRowInChild(spec);
      runs[i].rows.push(row);
      if (torchHere) log(`${spec.id}: PyTorch peer${of}`);
      const peer = torchHere ? runTorchPeer(spec, torchDevice) : null;
      runs[i].torch.push(peer);
      // Each run's figures as it lands (the table shows only the median run of each row).
      const peerMs = peer !== null && typeof peer !== "string" ? `; PyTorch ${round(peer.msPerStep)} ms/step` : "";
      log(`${spec.id}: ${round(row.msPerStep)} ms/step, cpu ${round(row.cpuMsPerStep)} ms${peerMs}${of}`);
    }
  }
  console.log(formatReport(combineRepeats(runs)));
  console.log(
    `Load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} (1, 5, 15 min).`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
