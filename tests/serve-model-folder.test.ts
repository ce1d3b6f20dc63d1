// End to end: a tiny real model folder (an untrained GRU with the booking workflow fitted on the fixture), served
// in process (inject) and by the CLI in a child process. The HTTP answers must be exactly what the loaded model
// answers for the same raw events; the CLI must fail at start-up with one clear line on a missing or corrupt folder.
import * as tf from "@tensorflow/tfjs";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareBooking } from "../lib/data/recipes/booking";
import { type ModelFolderManifest, type RecommenderModel, saveModelFolder } from "../lib/model-folder/index";
import { createHeadFor, createModel, disposeModel } from "../lib/models";
import { serveModelFolder } from "../lib/serve/load";

const FIXTURE = join(import.meta.dirname, "fixtures", "booking", "train_set.csv");

let root: string;
let folder: string;
let app: FastifyInstance;
let model: RecommenderModel;
let manifest: ModelFolderManifest;
let knownCities: Set<number>;

/** The fixture's first trips as raw events without their trip id (the service fills it in). */
function fixtureTrips(count: number): Record<string, unknown>[][] {
  const [header, ...lines] = readFileSync(FIXTURE, "utf8").trim().split("\n");
  const names = header.split(",");
  const trips = new Map<string, Record<string, unknown>[]>();
  for (const line of lines) {
    const c = Object.fromEntries(line.split(",").map((cell, i) => [names[i], cell]));
    const event = { checkin: c.checkin, checkout: c.checkout, city_id: Number(c.city_id), booker_country: c.booker_country, hotel_country: c.hotel_country };
    trips.set(c.utrip_id, [...(trips.get(c.utrip_id) ?? []), event]);
  }
  return [...trips.values()].slice(0, count);
}

beforeAll(async () => {
  await tf.setBackend("cpu");
  root = mkdtempSync(join(tmpdir(), "sessionrec-serve-"));
  const prepared = await prepareBooking({ input: FIXTURE, outDir: join(root, "prepared") });
  const gru = createModel("gru", { inputs: { itemDim: 8 }, units: 8, mlp: [8] }, prepared.schema);
  const head = createHeadFor(gru);
  folder = join(root, "tiny-gru");
  await saveModelFolder(folder, { name: "tiny-gru", model: gru, head, workflow: prepared.workflow, schema: prepared.schema, metrics: { "recall@10": 0.25 } });
  disposeModel({ model: gru, head });
  knownCities = new Set(prepared.workflow.vocabulary("city_id").values.map(Number));
  ({ app, model } = await serveModelFolder(folder));
  manifest = model.manifest;
});

afterAll(async () => {
  await app?.close();
  model?.dispose();
  rmSync(root, { recursive: true, force: true });
});

async function post(url: string, payload: unknown) {
  const response = await app.inject({ method: "POST", url, payload: payload as object });
  return { status: response.statusCode, body: response.json() };
}

describe("a served model folder", () => {
  it("answers what the loaded model answers for the raw events: known cities, best first", async () => {
    const [session] = fixtureTrips(1);
    const { status, body } = await post("/v1/recommend", { session, k: 5 });
    expect(status).toBe(200);
    expect(body).toEqual({ ...(await model.recommend(session, 5)), model: "tiny-gru", version: manifest.trainedAt });
    expect(body.items).toHaveLength(5);
    expect(new Set(body.items).size).toBe(5);
    for (const city of body.items) expect(knownCities.has(city)).toBe(true);
    expect([...body.scores].sort((a, b) => b - a)).toEqual(body.scores);
  });

  it("answers a batch in order, an unknown city (out-of-vocabulary) included", async () => {
    const trips = fixtureTrips(3);
    trips[1] = [...trips[1], { ...trips[1][0], city_id: 987654321, checkin: "2017-12-01", checkout: "2017-12-03" }];
    const { status, body } = await post("/v1/recommend/batch", { sessions: trips, k: 3 });
    expect(status).toBe(200);
    expect(body.results).toEqual(await model.recommendBatch(trips, 3));
  });

  it("turns the encoder's error on a bad value into a 400 naming the session, event and field", async () => {
    const trips = fixtureTrips(2);
    trips[1] = [{ ...trips[1][0], checkin: "13/08/2016" }];
    const { status, body } = await post("/v1/recommend/batch", { sessions: trips, k: 3 });
    expect(status).toBe(400);
    expect(body.message).toBe('sessions[1], event 0, "checkin": cannot read "13/08/2016" as DATE (expected a date "YYYY-MM-DD")');
  });

  it("checks events against the workflow's input columns", async () => {
    const [session] = fixtureTrips(1);
    const { status, body } = await post("/v1/recommend", { session: [{ ...session[0], city_id: undefined }] });
    expect(status).toBe(400);
    expect(body.message).toBe("body/session/0 must have required property 'city_id'");
    const [described] = (await app.inject({ method: "GET", url: "/v1/models" })).json().models;
    const cityIds = manifest.schema.columns.find((column) => column.name === "city_id_list")?.cardinality as number;
    expect(described).toMatchObject({ name: "tiny-gru", kind: "gru", vocabularySize: cityIds - 2, metrics: { "recall@10": 0.25 } });
    expect(described.eventColumns).toContainEqual({ name: "city_id", type: "INTEGER", required: true });
    expect(described.eventColumns).toContainEqual({ name: "utrip_id", type: "VARCHAR", required: false });
  });
});

/** Runs the CLI; resolves with its exit status and output once it exits (or, with `onListening`, once it listens). */
function runCli(args: string[], onListening?: (url: string, stop: () => void) => Promise<void>) {
  // As `npm run serve` runs it: node --import tsx (signals reach the server itself, not a relaying wrapper).
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/serve.ts", ...args], { env: { ...process.env, SESSIONREC_BACKEND: "cpu" } });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const listening: Promise<void>[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    stdout += `${line}\n`;
    const url = /at (http:\/\/\S+)/.exec(line)?.[1];
    if (url !== undefined && onListening !== undefined) listening.push(onListening(url, () => child.kill("SIGTERM")));
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", async (code) => {
      await Promise.all(listening);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe("npm run serve", () => {
  it("serves the folder on 127.0.0.1, prints the URL and stops cleanly on SIGTERM", async () => {
    let health: unknown;
    const run = await runCli(["--model", folder, "--port", "0"], async (url, stop) => {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      health = await (await fetch(`${url}/healthz`)).json();
      stop();
    });
    expect(health).toEqual({ status: "ok", model: "tiny-gru", queuedSessions: 0, queueCapacity: 1024 });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("serve: SIGTERM, answering queued requests and stopping");
  });

  it("fails at start-up with one line (no stack trace) on a missing or corrupt folder or a bad command line", async () => {
    const corrupt = join(root, "corrupt");
    cpSync(folder, corrupt, { recursive: true });
    writeFileSync(join(corrupt, "model.json"), "{ not json");
    const [missing, broken, usage] = await Promise.all([
      runCli(["--model", join(root, "nothing-here")]),
      runCli(["--model", corrupt]),
      runCli(["--port", "80"]),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`serve: model folder ${join(root, "nothing-here")} not found (save one first, e.g. with npm start)\n`);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(new RegExp(`^serve: cannot load the model folder ${corrupt}: ${join(corrupt, "model.json")}: not valid JSON: [^\\n]+\\n$`));
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^serve: --model is required\nusage: npm run serve -- --model <model folder>/);
  });
});
