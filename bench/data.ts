// Data-preparation benchmark: synthetic Booking-shaped logs of 1M and 10M events (cached in build/bench/),
// each prepared by the `booking` recipe in a child process so that its peak RSS is measured alone.
// Targets: 10M events in < 60 s with peak RSS < 4 GB on 2 cores.
//
//   npx tsx bench/data.ts                 # both sizes
//   npx tsx bench/data.ts --sizes 1m      # one size
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { fileURLToPath, pathToFileURL } from "url";
import { SYNTHETIC_GENERATOR_VERSION, DEFAULT_SYNTHETIC_SEED, projectRoot } from "../lib/data/index";
import { generateDataFile } from "../scripts/generate-data";

/** Trips per benchmark size: one trip is ≈5.4 bookings. */
export const DATA_BENCH_SIZES: Record<string, number> = { "1m": 185_000, "10m": 1_850_000 };

export const DATA_BENCH_TARGETS = { secondsFor10M: 60, peakRssGiB: 4 };

export interface DataBenchRow {
  size: string;
  events: number;
  /** Seconds of `prepareBooking` alone (child start-up excluded). */
  seconds: number;
  eventsPerSecond: number;
  /** Peak resident set size of the child process that ran the preparation. */
  peakRssMiB: number;
  /** What the recipe reported (sessions per split, …), flattened. */
  counts: string;
}

export interface DataBenchOptions {
  /** Keys of DATA_BENCH_SIZES. Default: all. */
  sizes?: string[];
  /** Progress messages. Default: stderr. */
  log?: (msg: string) => void;
}

const BENCH_FILE = fileURLToPath(import.meta.url);
const RESULT_MARKER = "DATA_BENCH_RESULT ";

/** The cached synthetic log of `trips` trips, generated on first use; returns its path and number of events. */
async function benchLog(
  trips: number,
  dir: string,
  log: (msg: string) => void,
): Promise<{ file: string; events: number }> {
  const file = path.join(
    dir,
    `bookings-v${SYNTHETIC_GENERATOR_VERSION}-seed${DEFAULT_SYNTHETIC_SEED}-${trips}trips.csv`,
  );
  const statsFile = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(statsFile)) {
    return { file, events: JSON.parse(fs.readFileSync(statsFile, "utf8")).rows };
  }
  log(`generating ${file} …`);
  const started = performance.now();
  const stats = await generateDataFile({ trips, out: file });
  log(`  ${stats.rows} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  fs.writeFileSync(statsFile, JSON.stringify(stats, null, 2));
  return { file, events: stats.rows };
}

interface ChildResult {
  seconds: number;
  maxRssKiB: number;
  counts: unknown;
}

/** Runs `prepareBooking` in a fresh Node process (under /usr/bin/time -v when present) and collects its figures. */
function prepareInChild(
  input: string,
  outDir: string,
  root: string,
  log: (msg: string) => void,
): Promise<ChildResult & { timeRssKiB?: number }> {
  const nodeArgs = ["--import", "tsx", BENCH_FILE, "--prepare", input, outDir];
  const useTime = fs.existsSync("/usr/bin/time");
  const [command, args] = useTime
    ? ["/usr/bin/time", ["-v", process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split("\n")) if (line.startsWith("  [prepare]")) log(line);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith(RESULT_MARKER));
      if (code !== 0 || !line) {
        reject(new Error(`preparation of ${input} failed (exit ${code}):\n${stderr.slice(-4000)}`));
        return;
      }
      const result = JSON.parse(line.slice(RESULT_MARKER.length)) as ChildResult;
      const timeRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({ ...result, timeRssKiB: timeRss ? Number(timeRss[1]) : undefined });
    });
  });
}

function flattenCounts(counts: unknown, prefix = ""): string[] {
  if (counts === null || typeof counts !== "object") return [`${prefix}=${String(counts)}`];
  return Object.entries(counts as Record<string, unknown>).flatMap(([k, v]) =>
    flattenCounts(v, prefix ? `${prefix}.${k}` : k),
  );
}

/** Generates (or reuses) the logs and measures their preparation; one row per size. */
export async function runDataBench(opts: DataBenchOptions = {}): Promise<DataBenchRow[]> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(msg + "\n"));
  const sizes = opts.sizes ?? Object.keys(DATA_BENCH_SIZES);
  const root = projectRoot();
  const dir = path.join(root, "build", "bench");
  const rows: DataBenchRow[] = [];
  for (const size of sizes) {
    const trips = DATA_BENCH_SIZES[size];
    if (trips === undefined)
      throw new Error(`unknown size "${size}"; known: ${Object.keys(DATA_BENCH_SIZES).join(", ")}`);
    const { file, events } = await benchLog(trips, dir, log);
    const outDir = path.join(dir, `prepared-${size}`);
    fs.rmSync(outDir, { recursive: true, force: true });
    log(`preparing ${size} (${events} events) …`);
    const result = await prepareInChild(file, outDir, root, log);
    // Both figures are the child's peak RSS; prefer the kernel's via /usr/bin/time when there.
    const rssKiB = result.timeRssKiB ?? result.maxRssKiB;
    rows.push({
      size,
      events,
      seconds: Number(result.seconds.toFixed(2)),
      eventsPerSecond: Math.round(events / result.seconds),
      peakRssMiB: Math.round(rssKiB / 1024),
      counts: flattenCounts(result.counts).join(" "),
    });
  }
  return rows;
}

/** Child side: one preparation, figures on stdout. */
async function prepareOnce(input: string, outDir: string): Promise<void> {
  const { prepareBooking } = await import("../lib/data/index");
  const started = performance.now();
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  const { counts } = await prepareBooking({
    input,
    outDir,
    // Elapsed seconds on every step show where the time goes.
    onProgress: (msg) => process.stderr.write(`  [prepare] ${elapsed()} s  ${msg}\n`),
  });
  const seconds = (performance.now() - started) / 1000;
  const result: ChildResult = { seconds, maxRssKiB: process.resourceUsage().maxRSS, counts };
  process.stdout.write(RESULT_MARKER + JSON.stringify(result) + "\n");
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--prepare") {
    await prepareOnce(argv[1], argv[2]);
    return;
  }
  const sizesFlag = argv.indexOf("--sizes");
  const sizes = sizesFlag >= 0 ? argv[sizesFlag + 1]?.split(",") : undefined;
  const rows = await runDataBench({ sizes });
  console.table(rows);
  const big = rows.find((r) => r.size === "10m");
  if (big) {
    const ok = big.seconds < DATA_BENCH_TARGETS.secondsFor10M && big.peakRssMiB < DATA_BENCH_TARGETS.peakRssGiB * 1024;
    console.log(
      `10M target (< ${DATA_BENCH_TARGETS.secondsFor10M} s, < ${DATA_BENCH_TARGETS.peakRssGiB} GiB peak RSS): ${ok ? "met" : "NOT met"}`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
