// End to end: a tiny real model folder (an untrained GRU with the booking workflow fitted on the fixture), served
// in process (inject) and by the CLI (`sessionrec serve`, what `npm run serve` runs) in a child process. The HTTP answers must be exactly what the loaded model
// answers for the same raw events; the CLI must fail at start-up with one clear line on a missing or corrupt folder.
import * as tf from "@tensorflow/tfjs";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareBooking } from "../lib/data/recipes/booking";
import {
  type ModelFolderManifest,
  type RecommenderModel,
  modelFolderFiles,
  saveModelFolder,
} from "../lib/model-folder/index";
import { createHeadFor, createModel, disposeModel } from "../lib/models";
import { createServer } from "../lib/serve";
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
    const event = {
      checkin: c.checkin,
      checkout: c.checkout,
      city_id: Number(c.city_id),
      booker_country: c.booker_country,
      hotel_country: c.hotel_country,
    };
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
  await saveModelFolder(folder, {
    name: "tiny-gru",
    model: gru,
    head,
    workflow: prepared.workflow,
    schema: prepared.schema,
    metrics: { "recall@10": 0.25 },
  });
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
    expect(body.message).toBe(
      'sessions[1], event 0, "checkin": cannot read "13/08/2016" as DATE (expected a date "YYYY-MM-DD")',
    );
  });

  // The message is the live encoder's (lib/data/live.ts, the rule preparation applies too), the session renamed.
  it("refuses a checkout before its checkin with a 400 naming both", async () => {
    const trips = fixtureTrips(2);
    trips[1] = [trips[1][0], { ...trips[1][0], checkin: "2016-08-13", checkout: "2016-08-10" }];
    const { status, body } = await post("/v1/recommend/batch", { sessions: trips, k: 3 });
    expect(status).toBe(400);
    expect(body.message).toBe('sessions[1], event 1: "checkout" (2016-08-10) is before "checkin" (2016-08-13)');
  });

  it("checks events against the workflow's input columns", async () => {
    const [session] = fixtureTrips(1);
    const { status, body } = await post("/v1/recommend", { session: [{ ...session[0], city_id: undefined }] });
    expect(status).toBe(400);
    expect(body.message).toBe("body/session/0 must have required property 'city_id'");
    const [described] = (await app.inject({ method: "GET", url: "/v1/models" })).json().models;
    const cityIds = manifest.schema.columns.find((column) => column.name === "city_id_list")?.cardinality as number;
    expect(described).toMatchObject({
      name: "tiny-gru",
      kind: "gru",
      vocabularySize: cityIds - 2,
      metrics: { "recall@10": 0.25 },
    });
    expect(described.eventColumns).toContainEqual({ name: "city_id", type: "INTEGER", required: true });
    expect(described.eventColumns).toContainEqual({ name: "utrip_id", type: "VARCHAR", required: false });
  });
});

describe("the model folder under /model/", () => {
  it("serves the files the demo page fetches, and nothing else: no dotfile, no other file, no link out of the folder", async () => {
    // Planted in the served folder itself: a secret, a stray file, and a link to the root of the file system.
    writeFileSync(join(folder, ".env"), "SECRET=1\n");
    writeFileSync(join(folder, "notes.txt"), "not part of the model\n");
    symlinkSync("/", join(folder, "rootlink"));
    try {
      for (const file of [
        "model.json",
        "weights.json",
        "weights.bin",
        "workflow/workflow.json",
        "workflow/vocabularies/city_id.json",
      ]) {
        const response = await app.inject({ method: "GET", url: `/model/${file}` });
        expect({ file, status: response.statusCode }).toEqual({ file, status: 200 });
        expect(response.rawPayload.equals(readFileSync(join(folder, file)))).toBe(true);
      }
      for (const url of [
        "/model/.env",
        "/model/%2eenv",
        "/model/notes.txt",
        "/model/rootlink/etc/passwd",
        "/model/workflow/../.env",
        "/model/",
        "/model",
      ]) {
        const response = await app.inject({ method: "GET", url });
        expect({ url, status: response.statusCode }).toEqual({ url, status: 404 });
        expect(response.body).not.toContain("SECRET");
        expect(response.body).not.toContain("root:");
      }
      expect((await app.inject({ method: "POST", url: "/model/model.json" })).headers.allow).toBe("GET, HEAD");
    } finally {
      rmSync(join(folder, ".env"));
      rmSync(join(folder, "notes.txt"));
      rmSync(join(folder, "rootlink"));
    }
  });

  it("does not follow a served file that is a link leading out of the folder", async () => {
    const linked = join(root, "linked");
    cpSync(folder, linked, { recursive: true });
    const vocabulary = join(linked, "workflow", "vocabularies", "city_id.json");
    rmSync(vocabulary);
    symlinkSync("/etc/passwd", vocabulary);
    const server = createServer(model, { modelFolder: { dir: linked, files: await modelFolderFiles(linked) } });
    try {
      expect((await server.inject({ method: "GET", url: "/model/model.json" })).statusCode).toBe(200);
      const response = await server.inject({ method: "GET", url: "/model/workflow/vocabularies/city_id.json" });
      expect(response.statusCode).toBe(404);
      expect(response.body).not.toContain("root:");
    } finally {
      await server.close();
    }
  });
});

describe("a model folder with broken weights", () => {
  /** A copy of the folder whose weights.bin, same size, holds `byte` repeated. */
  function garbageCopy(name: string, byte: number): string {
    const copy = join(root, name);
    cpSync(folder, copy, { recursive: true });
    const size = readFileSync(join(copy, "weights.bin")).length;
    writeFileSync(join(copy, "weights.bin"), Buffer.alloc(size, byte));
    return copy;
  }

  it("is refused at load, naming weights.bin, when a weight is not a finite number", async () => {
    const copy = garbageCopy("nan-weights", 0xff); // 0xffffffff is a NaN
    const tensors = tf.memory().numTensors;
    await expect(serveModelFolder(copy)).rejects.toThrow(
      `cannot load the model folder ${copy}: ${join(copy, "weights.bin")}: weight "${JSON.parse(readFileSync(join(copy, "weights.json"), "utf8")).weights[0].name}" holds NaN at index 0: the file is corrupt (every weight must be a finite number)`,
    );
    expect(tf.memory().numTensors).toBe(tensors); // nothing of the refused model is left
  });

  it("is refused at load, naming weights.bin, when finite weights give a probe session non-finite scores", async () => {
    const copy = garbageCopy("huge-weights", 0x7e); // 0x7e7e7e7e ≈ 8.5e37: finite, but sums of them overflow
    const tensors = tf.memory().numTensors;
    await expect(serveModelFolder(copy)).rejects.toThrow(
      `cannot load the model folder ${copy}: ${join(copy, "weights.bin")}: the scores of a probe session are not all finite numbers: the weights are corrupt or the model diverged`,
    );
    expect(tf.memory().numTensors).toBe(tensors);
  });
});

/** Runs the CLI; resolves with its exit status and output once it exits (or, with `onListening`, once it listens). */
function runCli(args: string[], onListening?: (url: string, stop: () => void) => Promise<void>) {
  // As `npm run serve` runs it: node --import tsx (signals reach the server itself, not a relaying wrapper).
  const child = spawn(process.execPath, ["--import", "tsx", "lib/cli/index.ts", "serve", ...args], {
    env: { ...process.env, SESSIONREC_BACKEND: "cpu" },
  });
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

describe("sessionrec serve (npm run serve)", () => {
  it("serves the folder on 127.0.0.1, prints the URL and stops cleanly on SIGTERM", async () => {
    let health: unknown;
    const run = await runCli([folder, "--port", "0"], async (url, stop) => {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      health = await (await fetch(`${url}/healthz`)).json();
      stop();
    });
    expect(health).toEqual({ status: "ok", model: "tiny-gru", queuedSessions: 0, queueCapacity: 1024 });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("serve: SIGTERM, answering queued requests and stopping");
    expect(run.stderr).toBe("");
  });

  it("with --host 0.0.0.0 prints the address it bound and warns on stderr that the network reaches it", async () => {
    let health: unknown;
    let bound = "";
    // --model <folder>: the folder as a flag, as `npm run serve -- --model <folder>` gives it.
    const run = await runCli(["--model", folder, "--host", "0.0.0.0", "--port", "0"], async (url, stop) => {
      bound = url;
      try {
        health = (await (await fetch(`${url}/healthz`)).json()).status;
      } finally {
        stop(); // whatever happens, no service is left running
      }
    });
    expect(bound).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect(health).toBe("ok");
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(
      /^serve: warning: listening on http:\/\/0\.0\.0\.0:\d+, which other machines can reach: the service has no authentication, so anyone who reaches this address can use it and fetch the model folder \(bind 127\.0\.0\.1, the default, to keep it local\)\n$/,
    );
  });

  it("fails at start-up with one line (no stack trace) on a missing or corrupt folder or a bad command line", async () => {
    const corrupt = join(root, "corrupt");
    cpSync(folder, corrupt, { recursive: true });
    writeFileSync(join(corrupt, "model.json"), "{ not json");
    const [missing, broken, usage, wait, port, batch, help] = await Promise.all([
      runCli([join(root, "nothing-here")]),
      runCli(["--model", corrupt]),
      runCli(["--port", "80"]),
      runCli([folder, "--max-queue-wait", "0"]),
      runCli([folder, "--port", "65536"]),
      runCli([folder, "--max-batch", "5000"]),
      runCli(["--help"]),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `sessionrec: model folder ${join(root, "nothing-here")} not found (save one first, e.g. with npm start)\n`,
    );
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      new RegExp(
        `^sessionrec: cannot load the model folder ${corrupt}: ${join(corrupt, "model.json")}: not valid JSON: [^\\n]+\\n$`,
      ),
    );
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe("sessionrec: no model folder: sessionrec serve <model-folder> (see --help)\n");
    expect(wait.code).toBe(2);
    expect(wait.stderr).toMatch(
      /^error: option '--max-queue-wait <ms>' argument '0' is invalid\. expected an integer >= 1\n/,
    );
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(
      /^error: option '--port <port>' argument '65536' is invalid\. expected an integer in 0\.\.65535/,
    );
    expect(batch.code).toBe(2);
    expect(batch.stderr).toMatch(
      /^error: option '--max-batch <sessions>' argument '5000' is invalid\. expected at most 1024 \(the sessions the queue holds\)\n/,
    );
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: sessionrec serve \[options\] \[model-folder\]\n/);
    for (const flag of [
      "--model <folder>",
      "--host <address>",
      "--port <port>",
      "--static <folder>",
      "--max-queue-wait <ms>",
      "--max-batch <sessions>",
      "--log",
      "Examples:",
    ]) {
      expect(help.stdout).toContain(flag);
    }
  });
});
