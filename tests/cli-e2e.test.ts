// The CLI end to end on a log that matches none of the fixed recipes: tests/fixtures/clickstream/clicks.csv has no
// session column (a user column and ISO times with a zone: sessions are cut at a 30-minute gap), string item ids and
// one extra categorical column (device). prepare → train (a GRU for one epoch, and V-SKNN) → evaluate → recommend →
// serve (one request), with the session counts, the vocabulary and the split sizes those of
// tests/helpers/clickstream.ts, counted by hand from the file.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { runCliCaptured } from "./helpers/cli-capture";
import { Workflow, readSchema, readSplit } from "../lib/data/index";
import { BY_DATE, CLEANING, CLICKSTREAM_ROWS, CLICKSTREAM_SESSIONS } from "./helpers/clickstream";

const ROOT = join(import.meta.dirname, "..");
const FIXTURE = join(import.meta.dirname, "fixtures", "clickstream", "clicks.csv");
const work = mkdtempSync(join(tmpdir(), "sessionrec-cli-e2e-"));
const data = join(work, "data");
const models = join(work, "models");
const config = join(work, "run.json");
process.env.SESSIONREC_BACKEND = "cpu";
afterAll(() => {
  delete process.env.SESSIONREC_BACKEND;
  rmSync(work, { recursive: true, force: true });
});

const cli = runCliCaptured;

/** The lines on stderr that are neither progress ("prepare: …", training lines) nor empty. */
const problems = (stderr: string): string[] =>
  stderr.split("\n").filter((line) => line.startsWith("sessionrec:") || line.startsWith("error:"));

describe("sessionrec on a clickstream of its own shape", () => {
  it("prepare: sessions cut at 30 minutes, split by date; the counts, vocabulary and splits counted by hand", async () => {
    const run = await cli([
      "prepare",
      FIXTURE,
      "--out",
      data,
      "--item",
      "item_id",
      "--time",
      "timestamp",
      "--user",
      "user_id",
      "--categorical",
      "device",
      "--split-date",
      BY_DATE.split.date,
    ]);
    expect(problems(run.stderr)).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`read:    ${CLICKSTREAM_ROWS} events, ${CLICKSTREAM_SESSIONS} sessions`);
    expect(run.stdout).toContain(
      `kept:    ${CLEANING.kept.events} events, ${CLEANING.kept.sessions} sessions, ${CLEANING.kept.items} items`,
    );
    expect(run.stdout).toContain(`written: train ${BY_DATE.splits.train}, test ${BY_DATE.splits.test} sessions`);
    const workflow = await Workflow.load(join(data, "workflow"));
    expect(workflow.vocabulary("item").values).toEqual(BY_DATE.items); // ids 2, 3, …: 0 and 1 are padding and OOV
    expect(workflow.vocabulary("device").values).toEqual(BY_DATE.devices);
    expect((await readSplit(data, "train")).numSessions).toBe(BY_DATE.splits.train);
    expect((await readSplit(data, "test")).numSessions).toBe(BY_DATE.splits.test);
  });

  it("train: a GRU for one epoch and V-SKNN, each saved as a model folder", async () => {
    const run = {
      data: { folder: data },
      models: [
        {
          kind: "gru",
          name: "gru",
          model: { units: 8, inputs: { itemDim: 8 } },
          training: { epochs: 1, batchSize: 4 },
        },
      ],
      baselines: ["v-sknn"],
      evaluation: { protocol: "every-next", ks: [3] },
    };
    writeFileSync(config, JSON.stringify(run));
    expect(await cli(["check", config])).toMatchObject({ code: 0 });
    const trained = await cli(["train", data, "--config", config, "--out", models]);
    expect(problems(trained.stderr)).toEqual([]);
    expect(trained.code).toBe(0);
    const summary = trained.stdout
      .split("\n")
      .filter((line) => !line.startsWith("epoch ") && !line.startsWith("sessionrec: backend"));
    expect(summary).toEqual([
      expect.stringMatching(/^gru: recall@3 \d\.\d{4} on test \(1 epochs, .+\) → .+gru$/),
      expect.stringMatching(/^v-sknn: recall@3 \d\.\d{4} on test \(fitted in .+\) → .+v-sknn$/),
      "",
    ]);
    expect(readdirSync(models).sort()).toEqual(["gru", "v-sknn"]);
    for (const name of ["gru", "v-sknn"])
      expect(readdirSync(join(models, name)).sort()).toEqual(["model.json", "weights.bin", "weights.json", "workflow"]);
  });

  it("evaluate: both folders on the test split, as JSON", async () => {
    const run = await cli([
      "evaluate",
      join(models, "gru"),
      join(models, "v-sknn"),
      "--data",
      data,
      "--protocol",
      "every-next",
      "--k",
      "3",
      "--json",
    ]);
    expect(problems(run.stderr)).toEqual([]);
    expect(run.code).toBe(0);
    const { results } = JSON.parse(run.stdout) as {
      results: { name: string; kind: string; metrics: Record<string, number> }[];
    };
    expect(results.map((r) => [r.name, r.kind])).toEqual([
      ["gru", "gru"],
      ["v-sknn", "v-sknn"],
    ]);
    for (const { metrics } of results) {
      expect(metrics["recall@3"]).toBeGreaterThanOrEqual(0);
      expect(metrics["recall@3"]).toBeLessThanOrEqual(1);
    }
  });

  it("recommend: a session of raw events on stdin (ISO times with a zone, the device) → top 3 known items", async () => {
    const session = [
      { user_id: "u9", timestamp: "2024-03-05T09:00:00+02:00", item_id: "shoes", device: "mobile" },
      { user_id: "u9", timestamp: "2024-03-05T09:04:00+02:00", item_id: "socks", device: "mobile" },
    ];
    for (const name of ["gru", "v-sknn"]) {
      const run = await cli(["recommend", join(models, name), "-k", "3", "--json"], JSON.stringify({ session }));
      expect(problems(run.stderr)).toEqual([]);
      expect(run.code).toBe(0);
      const answer = JSON.parse(run.stdout) as
        { items: string[]; scores: number[] } | { items: string[]; scores: number[] }[];
      const { items, scores } = Array.isArray(answer) ? answer[0] : answer;
      expect(items).toHaveLength(3);
      for (const item of items) expect(BY_DATE.items).toContain(item);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    }
  });

  it("serve: the V-SKNN folder answers one request", async () => {
    const schema = await readSchema(data);
    expect(schema.item).toBe("item_id_list");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "lib/cli/index.ts", "serve", join(models, "v-sknn"), "--port", "0"],
      {
        cwd: ROOT,
        env: { ...process.env, SESSIONREC_BACKEND: "cpu" },
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        const found = /at (http:\/\/\S+)/.exec(line)?.[1];
        if (found !== undefined) resolve(found);
      });
      child.on("close", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    try {
      const session = [
        { user_id: "u9", timestamp: "2024-03-05 07:00:00", item_id: "hat", device: "desktop" },
        { user_id: "u9", timestamp: "2024-03-05 07:02:00", item_id: "shoes", device: "desktop" },
      ];
      const response = await fetch(`${url}/v1/recommend`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ session, k: 2 }),
      });
      const body = (await response.json()) as { items: string[]; scores: number[] };
      expect({ status: response.status, body }).toEqual({ status: 200, body: expect.anything() });
      expect(body.items).toHaveLength(2);
      for (const item of body.items) expect(BY_DATE.items).toContain(item);
      const served = (await (await fetch(`${url}/v1/models`)).json()) as { models: { kind: string }[] };
      expect(served.models[0].kind).toBe("v-sknn");
    } finally {
      const closed = new Promise((resolve) => child.on("close", resolve));
      child.kill("SIGTERM");
      await closed;
    }
    expect(stderr).toBe("");
  }, 60_000);
});
