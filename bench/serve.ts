// `npm run bench:serve`: load test of the HTTP service. Builds (once, cached under build/bench/serve/) a GRU model
// folder with a 40,000-item catalogue, starts `sessionrec serve` on it in a second process on loopback, and drives
// it with autocannon: POST /v1/recommend requests, each a different random session of raw events (5% unknown
// cities, which the service encodes as out-of-vocabulary), then POST /v1/recommend/batch requests of 32 sessions.
// Prints, per load, the served (200) requests/s and their p50/p99 latency, the 503s (load shed: a full queue or a
// wait in it past 1 s), every other failure (which must be 0) and the service's RSS after the load: one connection
// at a time, a fixed offered rate (the target: 500 req/s at p99 < 50 ms), as fast as 32 connections go, 200
// connections, and the overload: 200 connections of 32-session batches (6,400 sessions in flight, far more than
// the service scores in a second), against one connection of such batches.
//   --duration S   seconds per load (default 10)   --rate N   the offered rate (default 500)   --rebuild
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { initBackend } from "../lib/compute/index";
import { withDatabase } from "../lib/data/index";
import { fromRecords } from "../lib/data/index";
import { BOOKING_INPUT_COLUMNS, bookingWorkflow } from "../lib/data/index";
import { BOOKER_COUNTRIES } from "../lib/data/index";
import { type ModelFolderManifest, saveModelFolder } from "../lib/model-folder/index";
import { createHeadFor, createModel, disposeModel } from "../lib/models";
import { textTable } from "../lib/report/index";
import { Random } from "../lib/util/index";

// autocannon ships no types: the little of its API used here.
interface LatencyStats {
  p50: number;
  p99: number;
}
interface AutocannonResult {
  requests: { total: number };
  latency: LatencyStats;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}
interface AutocannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  requests: { setupRequest: (request: AutocannonRequest) => AutocannonRequest }[];
}
/** With a callback, autocannon returns its run, which emits ("response", client, status, bytes, ms) per answer. */
const autocannon = createRequire(import.meta.url)("autocannon") as (
  options: AutocannonOptions,
  done: (error: Error | null, result: AutocannonResult) => void,
) => EventEmitter;

const FOLDER = path.resolve("build/bench/serve/gru-40k");
/** Known cities of the catalogue (the real data has 39,901). */
const CATALOGUE = 40_000;
const BOOKINGS_PER_TRIP = 4;
const SESSIONS = 2000;
const OOV_RATE = 0.05;

interface Load {
  name: string;
  connections: number;
  rate?: number;
  /** Sessions per request: 1 posts to /v1/recommend, more to /v1/recommend/batch. Default 1. */
  sessions?: number;
}

/** Sessions per request of the batch loads. */
const BATCH = 32;

/** What one load gave: autocannon's totals, and the latency of each request served (200) in ms. */
interface Measured {
  result: AutocannonResult;
  served: number[];
  shed: number;
  /** Answers other than 200 and 503. */
  other: number;
}

/** The raw value of catalogue city `i`: ids that look like the real data's, not 0..n-1. */
const cityId = (i: number): number => 10_000 + i;
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2016, 0, 1);

/** Raw events of one trip, as rows of train_set.csv (the columns the booking workflow reads). */
function trip(cities: number[], start: number, trip: string, booker: string): Record<string, unknown>[] {
  return cities.map((city, i) => ({
    utrip_id: trip,
    checkin: day(start + 2 * i * DAY_MS),
    checkout: day(start + (2 * i + 2) * DAY_MS),
    city_id: city,
    booker_country: booker,
    hotel_country: `Country ${city % 50}`,
  }));
}

/**
 * An UNTRAINED GRU (the library's default config, random initial weights) with the booking workflow fitted on a
 * log in which each of the CATALOGUE cities is booked once (CATALOGUE / 4 trips of 4 bookings): serving cost
 * depends on the catalogue's size and the model's shape, not on what it learnt. Returns a one-line description.
 */
async function buildModelFolder(dir: string): Promise<string> {
  await initBackend();
  const events = Array.from({ length: CATALOGUE / BOOKINGS_PER_TRIP }, (_, t) =>
    trip(
      Array.from({ length: BOOKINGS_PER_TRIP }, (_, i) => cityId(t * BOOKINGS_PER_TRIP + i)),
      FIRST_DAY + (t % 360) * DAY_MS,
      `trip-${t}`,
      BOOKER_COUNTRIES[t % BOOKER_COUNTRIES.length],
    ),
  ).flat();
  const workflow = bookingWorkflow({ maxLength: 10 });
  await withDatabase(async (db) => {
    const log = await fromRecords(db, events, BOOKING_INPUT_COLUMNS, "bench log");
    await (await workflow.fit(log)).count();
  });
  const schema = workflow.schema();
  const model = createModel("gru", {}, schema);
  const head = createHeadFor(model);
  try {
    await saveModelFolder(dir, { name: "gru-40k-untrained", model, head, workflow, schema });
  } finally {
    disposeModel({ model, head });
  }
  const items = schema.columns.find((column) => column.name === schema.item)?.cardinality;
  return `untrained GRU ${JSON.stringify(model.config)}, ${items} item ids (${CATALOGUE} cities + padding + OOV)`;
}

/** Raw sessions of 1..10 bookings over random catalogue cities (some unknown), without their trip id (the service
 *  fills the session id in). */
function rawSessions(seed: number, count: number): Record<string, unknown>[][] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => {
    const length = random.int(1, 11);
    const cities = Array.from({ length }, () =>
      random.bernoulli(OOV_RATE) ? 9_000_000 + random.int(0, 1000) : cityId(random.int(0, CATALOGUE)),
    );
    return trip(cities, FIRST_DAY + random.int(0, 365) * DAY_MS, "", "Gondal").map(
      ({ utrip_id: _, ...event }) => event,
    );
  });
}

/** Request bodies of `perRequest` sessions each (one session: a /v1/recommend body). */
function requestBodies(seed: number, perRequest: number): string[] {
  const sessions = rawSessions(seed, SESSIONS);
  if (perRequest === 1) return sessions.map((session) => JSON.stringify({ session, k: 10 }));
  return Array.from({ length: SESSIONS / perRequest }, (_, i) =>
    JSON.stringify({ sessions: sessions.slice(i * perRequest, (i + 1) * perRequest), k: 10 }),
  );
}

/** The resident set of process `pid` in MiB (Linux /proc), or NaN elsewhere. */
function rssMiB(pid: number): number {
  try {
    const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kib === undefined ? NaN : Number(kib) / 1024;
  } catch {
    return NaN;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Starts the service in its own process and resolves with its URL (the line it prints once listening). */
function startService(): Promise<{ child: ChildProcess; url: string }> {
  // node --import tsx, not the tsx CLI: its signal relay SIGKILLs a child busy in a forward pass for 30 ms.
  const child = spawn(process.execPath, ["--import", "tsx", "lib/cli/index.ts", "serve", FOLDER, "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const url = /at (http:\/\/\S+)/.exec(line)?.[1];
      if (url !== undefined) resolve({ child, url });
      else console.log(`  service: ${line}`);
    });
    child.on("exit", (code) => reject(new Error(`the service exited with status ${code} before listening`)));
  });
}

async function drive(url: string, bodies: string[], load: Load, duration: number): Promise<Measured> {
  let next = 0;
  const served: number[] = [];
  let shed = 0;
  let other = 0;
  return new Promise((resolve, reject) => {
    const run = autocannon(
      {
        url: `${url}${(load.sessions ?? 1) === 1 ? "/v1/recommend" : "/v1/recommend/batch"}`,
        connections: load.connections,
        duration,
        overallRate: load.rate,
        requests: [
          {
            setupRequest: (request) => ({
              ...request,
              method: "POST",
              headers: { "content-type": "application/json" },
              body: bodies[next++ % bodies.length],
            }),
          },
        ],
      },
      (error, result) => (error === null ? resolve({ result, served, shed, other }) : reject(error)),
    );
    run.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status === 200) served.push(ms);
      else if (status === 503) shed += 1;
      else other += 1;
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "10" },
      rate: { type: "string", default: "500" },
      rebuild: { type: "boolean", default: false },
    },
  });
  const duration = Number(values.duration);
  const rate = Number(values.rate);
  if (!(duration > 0) || !(rate > 0)) throw new Error("--duration and --rate must be positive numbers");

  if (values.rebuild || !existsSync(path.join(FOLDER, "model.json"))) {
    console.log(`building ${FOLDER}`);
    console.log(`  ${await buildModelFolder(FOLDER)}`);
  }
  const manifest = JSON.parse(readFileSync(path.join(FOLDER, "model.json"), "utf8")) as ModelFolderManifest;
  const itemIds = manifest.schema.columns.find((column) => column.name === manifest.schema.item)?.cardinality;
  const description = `${manifest.name}: ${manifest.kind} ${JSON.stringify(manifest.config)}, ${itemIds} item ids`;
  const loadBefore = os.loadavg()[0];
  const { child, url } = await startService();
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const bodies = requestBodies(7, 1);
    const batches = requestBodies(7, BATCH);
    console.log(`service at ${url}; warming up`);
    await drive(url, bodies, { name: "warm-up", connections: 8 }, 2);
    const rssBefore = rssMiB(child.pid as number);
    const loads: Load[] = [
      { name: "1 connection", connections: 1 },
      { name: `${rate} req/s offered`, connections: 32, rate },
      { name: "32 connections, max", connections: 32 },
      { name: "200 connections, max", connections: 200 },
      { name: `batch of ${BATCH}, 1 connection`, connections: 1, sessions: BATCH },
      { name: `overload: batch of ${BATCH}, 200 connections`, connections: 200, sessions: BATCH },
    ];
    const rows = [["load", "served/s", "p50 ms", "p99 ms", "503", "other errors", "RSS MiB", "load avg"]];
    for (const load of loads) {
      const { result, served, shed, other } = await drive(
        url,
        (load.sessions ?? 1) === 1 ? bodies : batches,
        load,
        duration,
      );
      served.sort((a, b) => a - b);
      rows.push([
        load.name,
        (served.length / result.duration).toFixed(0),
        percentile(served, 50).toFixed(1),
        percentile(served, 99).toFixed(1),
        String(shed),
        String(other + result.errors + result.timeouts),
        rssMiB(child.pid as number).toFixed(0),
        os.loadavg()[0].toFixed(2),
      ]);
    }
    console.log(
      `\n${description}\nk = 10, ${duration} s per load, ${os.cpus().length} cores (load average before: ${loadBefore.toFixed(2)}; the bench and the service share the machine); ` +
        `service RSS after warm-up ${rssBefore.toFixed(0)} MiB, "RSS MiB": after each load\n`,
    );
    console.log(textTable({ columns: rows[0], rows: rows.slice(1) }));
  } finally {
    child.kill("SIGTERM");
    const code = await exited;
    if (code !== 0) console.log(`the service exited with status ${code} on SIGTERM`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
