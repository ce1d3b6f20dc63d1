// The sessionrec CLI on the prepared booking fixture: `train` (one epoch of a tiny GRU) saves a model folder,
// `evaluate` scores it (a table, JSON) and refuses data prepared by another workflow, `compare` runs a whole config;
// bad use gives one line and exit code 2 (1 for a failure), never a stack trace. One real child process runs
// `npx tsx lib/cli/index.ts --help`; everything else runs in-process through runCli.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareBooking } from "../lib/data/index";
import { runCliCaptured } from "./helpers/cli-capture";

const REPO_ROOT = join(import.meta.dirname, "..");
const FIXTURE = join(import.meta.dirname, "fixtures", "booking", "train_set.csv");
const dir = mkdtempSync(join(tmpdir(), "sessionrec-cli-"));
const data = join(dir, "data");
const config = join(dir, "tiny.json");
const modelDir = join(dir, "models", "tiny-gru");

const TINY = {
  title: "tiny",
  data: { folder: data },
  baselines: ["most-popular", "successor-counts"],
  models: [
    {
      kind: "gru",
      name: "tiny-gru",
      model: { units: 8, inputs: { itemDim: 8 }, mlp: [] },
      training: { epochs: 1, batchSize: 64, learningRate: 0.01 },
    },
    {
      kind: "mlp",
      name: "tiny-mlp",
      model: { inputs: { itemDim: 8 }, layers: [8] },
      training: { epochs: 1, batchSize: 64 },
    },
  ],
  evaluation: { protocol: "last", ks: [4, 10], split: "valid" },
};

beforeAll(async () => {
  await prepareBooking({ input: FIXTURE, outDir: data });
  writeFileSync(config, JSON.stringify(TINY, null, 2));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** No line of a stack trace ("    at f (file:1:2)"). */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/^\s+at /m);
}

describe("train and evaluate", () => {
  let saved: { name: string; kind: string; metrics: Record<string, number> };

  beforeAll(async () => {
    const run = await runCliCaptured(["train", data, "--config", config, "--model", "tiny-gru", "--out", modelDir]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `tiny-gru: recall@10 0\\.\\d{4} on valid \\(1 epochs, [\\d.]+ s\\) → ${modelDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n$`,
      ),
    );
    saved = JSON.parse(readFileSync(join(modelDir, "model.json"), "utf8"));
  });

  it("train saves a model folder: manifest, weights and the data's workflow", () => {
    for (const file of ["model.json", "weights.json", "weights.bin", "workflow/workflow.json"])
      expect(existsSync(join(modelDir, file)), file).toBe(true);
    expect(saved.name).toBe("tiny-gru");
    expect(saved.kind).toBe("gru");
    expect(Object.keys(saved.metrics)).toEqual(expect.arrayContaining(["recall@4", "recall@10", "mrr@10", "ndcg@10"]));
    // Only the named model was trained.
    expect(existsSync(join(dir, "models", "tiny-mlp"))).toBe(false);
  });

  it("evaluate prints one row per folder with the figures train measured on the same split", async () => {
    const run = await runCliCaptured(["evaluate", modelDir, "--data", data, "--split", "valid", "--k", "4,10"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/\(valid, \d+ sessions\), protocol last$/);
    expect(lines[1].split(/\s+/)).toEqual([
      "model",
      "kind",
      "recall@4",
      "mrr@4",
      "ndcg@4",
      "recall@10",
      "mrr@10",
      "ndcg@10",
      "folder",
    ]);
    const row = lines.find((line) => line.startsWith("tiny-gru"))!.split(/\s+/);
    expect(row[1]).toBe("gru");
    expect(Number(row[5])).toBeCloseTo(saved.metrics["recall@10"], 4);
    expect(row[row.length - 1]).toBe(modelDir);
  });

  it("evaluate --json gives the same metrics as numbers", async () => {
    const run = await runCliCaptured([
      "evaluate",
      modelDir,
      "--data",
      data,
      "--split",
      "valid",
      "--k",
      "4,10",
      "--json",
    ]);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.protocol).toEqual({ name: "last", ks: [4, 10] });
    expect(json.results).toHaveLength(1);
    expect(json.results[0]).toMatchObject({ folder: modelDir, name: "tiny-gru", kind: "gru" });
    expect(json.results[0].metrics["recall@10"]).toBeCloseTo(saved.metrics["recall@10"], 6);
  });

  it("evaluate refuses data prepared by another workflow, saying which vocabulary differs", async () => {
    const other = join(dir, "other-data");
    cpSync(data, other, { recursive: true });
    const vocabularyFile = join(other, "workflow", "vocabularies", "city_id.json");
    const vocabulary = JSON.parse(readFileSync(vocabularyFile, "utf8"));
    [vocabulary.values[0], vocabulary.values[1]] = [vocabulary.values[1], vocabulary.values[0]]; // two ids swapped
    writeFileSync(vocabularyFile, JSON.stringify(vocabulary));
    const run = await runCliCaptured(["evaluate", modelDir, "--data", other, "--split", "valid"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `sessionrec: ${modelDir}: not trained on data prepared like ${other}: the vocabulary "city_id" differs (${vocabulary.values.length} values in the model folder, ${vocabulary.values.length} in the data set); ` +
        "evaluate it on the data set it was trained on (the same workflow), or train it on this one\n",
    );
  });
});

/** `train` of the tiny GRU `gru` on a copy of the fixture with train and test only (its valid split renamed), so
 *  that validation is carved by `validation`; the run, its model folder and the data set. */
async function trainCarved(name: string, gru: object, validation: object) {
  const twoSplits = join(dir, `train-test-data-${name}`);
  cpSync(data, twoSplits, { recursive: true });
  renameSync(join(twoSplits, "valid.parquet"), join(twoSplits, "test.parquet"));
  const testConfig = join(dir, `tiny-${name}.json`);
  writeFileSync(
    testConfig,
    JSON.stringify({
      ...TINY,
      data: { folder: twoSplits, validation },
      models: [gru],
      evaluation: { ...TINY.evaluation, split: "test" },
    }),
  );
  const out = join(dir, "models", `tiny-gru-${name}`);
  const run = await runCliCaptured(["train", twoSplits, "--config", testConfig, "--model", "tiny-gru", "--out", out]);
  return { run, out, twoSplits, manifest: () => JSON.parse(readFileSync(join(out, "model.json"), "utf8")) };
}

/** recall@10 of the model folder `out` on `dataDir`'s test split, by `evaluate`. */
async function testRecall(out: string, dataDir: string): Promise<number> {
  const scored = await runCliCaptured(["evaluate", out, "--data", dataDir, "--split", "test", "--k", "4,10", "--json"]);
  expect(scored.code).toBe(0);
  return JSON.parse(scored.stdout).results[0].metrics["recall@10"];
}

describe("train with a validation split", () => {
  it("carves validation from train (data.validation), chooses the epoch on it, scores test once, saves that epoch", async () => {
    const gru = {
      ...TINY.models[0],
      head: { reminderBonus: "validation" },
      training: { epochs: 3, batchSize: 64, learningRate: 0.01 },
    };
    const { run, out, twoSplits, manifest } = await trainCarved("carved", gru, { fraction: 0.2 });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^tiny-gru: recall@10 0\.\d{4} on test \(3 epochs, best [123] on the validation carved from train, reminder bonus [\d.]+ chosen there, [\d.]+ s\) → /m,
    );
    // The folder holds the chosen epoch's weights and reminder bonus: evaluating it on test gives the figure train
    // printed.
    expect(run.stdout).toContain(`reminder bonus ${manifest().head.reminderBonus} chosen there`);
    expect(await testRecall(out, twoSplits)).toBeCloseTo(manifest().metrics["recall@10"], 6);
  });

  it("with refit: chooses on validation, refits on the whole train split, scores and saves the refitted model", async () => {
    const gru = { ...TINY.models[0], training: { epochs: 2, batchSize: 64, learningRate: 0.01 } };
    const { run, out, twoSplits, manifest } = await trainCarved("refit", gru, { fraction: 0.2, refit: true });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^tiny-gru: recall@10 0\.\d{4} on test \(2 epochs, best ([12]) on the validation carved from train, then \1 epoch\(s\) on the whole train split \(refit\), [\d.]+ s\) → /m,
    );
    // The folder holds the refitted model: evaluating it on test gives the figure train printed.
    expect(await testRecall(out, twoSplits)).toBeCloseTo(manifest().metrics["recall@10"], 6);
  });
});

describe("compare", () => {
  it("runs the whole config: baselines and models → the table, the report and one folder per baseline and model", async () => {
    const out = join(dir, "compare");
    const run = await runCliCaptured(["compare", config, "--out", out]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^data: \d+ train and \d+ valid sessions reused from /m);
    const header = run.stdout.split("\n").find((line) => line.startsWith("model "))!;
    expect(header.split(/\s+/)).toEqual([
      "model",
      "recall@4",
      "mrr@4",
      "ndcg@4",
      "recall@10",
      "mrr@10",
      "ndcg@10",
      "train",
      "s",
      "backend",
    ]);
    const names = run.stdout
      .split("\n")
      .filter((line) => /^(most-popular|successor-counts|tiny-gru|tiny-mlp) /.test(line))
      .map((line) => line.split(" ")[0]);
    expect(names).toEqual(["most-popular", "successor-counts", "tiny-gru", "tiny-mlp"]);
    expect(run.stdout).toContain(`report: ${join(out, "report.html")}`);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("sessionrec: tiny");
    for (const name of ["most-popular", "successor-counts", "tiny-gru", "tiny-mlp"])
      expect(existsSync(join(out, "models", name, "model.json")), name).toBe(true);
  });
});

describe("bad use", () => {
  it("an unknown flag: exit 2, the flag named, no stack trace", async () => {
    const run = await runCliCaptured(["train", data, "--config", config, "--out", modelDir, "--epochs", "2"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("error: unknown option '--epochs'\n"); // one line, no stack, no help dump
    expectNoStack(run.stderr);
  });

  it("a missing data set folder or config file: exit 2 with one line naming it", async () => {
    const missing = join(dir, "nowhere");
    const run = await runCliCaptured(["train", missing, "--config", config, "--out", modelDir]);
    expect(run).toEqual({
      code: 2,
      stdout: "",
      stderr: `sessionrec: <dataset> ${missing}: no such folder (a prepared data set: train.parquet, schema.json, workflow/)\n`,
    });
    const noConfig = await runCliCaptured(["train", data, "--config", join(dir, "none.json"), "--out", modelDir]);
    expect(noConfig).toEqual({ code: 2, stdout: "", stderr: `sessionrec: ${join(dir, "none.json")}: no such file\n` });
  });

  it("a model the config does not have, a split the data lacks, bad cut-offs: exit 2, one line", async () => {
    const noModel = await runCliCaptured(["train", data, "--config", config, "--model", "bert", "--out", modelDir]);
    expect(noModel).toEqual({
      code: 2,
      stdout: "",
      stderr: `sessionrec: --model bert: ${config} has no model or baseline of that name (it has: tiny-gru, tiny-mlp, most-popular, successor-counts)\n`,
    });
    const noSplit = await runCliCaptured(["evaluate", modelDir, "--data", data, "--split", "test"]);
    expect(noSplit).toEqual({
      code: 2,
      stdout: "",
      stderr: `sessionrec: --data ${data}: no split "test" (it has: train, valid)\n`,
    });
    const badK = await runCliCaptured(["evaluate", modelDir, "--data", data, "--k", "10,x"]);
    expect(badK).toEqual({
      code: 2,
      stdout: "",
      stderr: "sessionrec: --k 10,x: expected positive integers separated by commas, e.g. 10,20\n",
    });
  });

  it("a model folder that is not there: exit 1 (it failed), one line", async () => {
    const missing = join(dir, "no-model");
    const run = await runCliCaptured(["evaluate", missing, "--data", data, "--split", "valid"]);
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr: `sessionrec: ${missing}: no such folder (a model folder holds model.json, weights.json, weights.bin and workflow/)\n`,
    });
  });
});

describe("the sessionrec program", () => {
  it("runs as a child process: --help lists the commands", () => {
    const npx = process.platform === "win32" ? "npx.cmd" : "npx";
    const run = spawnSync(npx, ["tsx", "lib/cli/index.ts", "--help"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    for (const command of [
      "check <config>",
      "train [options] <dataset>",
      "evaluate [options] <model-folder...>",
      "compare [options] <config>",
    ])
      expect(run.stdout).toContain(command);
  });

  it.each(["check", "train", "evaluate", "compare"])("%s --help has a description and an example", async (command) => {
    const run = await runCliCaptured([command, "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: sessionrec /);
    expect(run.stdout).toContain(`\nExample:\n  sessionrec ${command} `);
  });
});
