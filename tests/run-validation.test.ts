// Selection on validation only: the validation split carved from train by time (lib/config/prepare.ts
// `carveValidation`, `loadRunData` with `data.validation`), and the rule that a run with a validation split reads the
// scored (test) split once, after training (lib/evaluate/run.ts).
//
// The carve keeps the first round(n · (1 − fraction)) sessions for training, the rest are validation:
//   10 sessions, fraction 0.1  → 9 train, 1 valid;   10 sessions, fraction 0.25 → round(7.5) = 8 train, 2 valid;
//   5 sessions, fraction 0.01 → round(4.95) = 5 train, nothing left → refused; fraction 0.99 → round(0.05) = 0 → refused.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { ConfigError, carveValidation, loadRunData, parseRunConfig, prepareData } from "../lib/config";
import type { SessionTable } from "../lib/data/loader";
import { prepareYoochoose } from "../lib/data/recipes/yoochoose";
import { GRU4REC_PROTOCOL, refitRunModel, runBaselinesOn, runModelOn } from "../lib/evaluate";
import * as protocols from "../lib/evaluate/protocols";
import { createBaseline } from "../lib/baselines";
import { disposeModel } from "../lib/models";
import { tableOf } from "./helpers/tables-fixtures";

// Every call of evaluateModelOn goes through the real function, recorded (which table it scored).
vi.mock("../lib/evaluate/protocols", async (importOriginal) => {
  const original = await importOriginal<typeof import("../lib/evaluate/protocols")>();
  return { ...original, evaluateModelOn: vi.fn(original.evaluateModelOn) };
});

const work = mkdtempSync(join(tmpdir(), "sessionrec-validation-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The train sessions of the runs below (item ids 2..5). */
const TRAIN_SESSIONS = [
  [2, 3, 4, 5],
  [3, 4],
  [5, 2, 3],
  [2, 2],
  [4, 5, 2, 3],
  [3, 5],
];

/** The item rows of a table, oldest first. */
function rows(table: SessionTable): number[][] {
  return Array.from(table.lengths, (length, s) =>
    Array.from(table.items.subarray(s * table.maxLength, s * table.maxLength + length)),
  );
}

describe("carveValidation", () => {
  // Session s holds the items [s + 2, s + 3] (10 sessions over ids 2..12).
  const sessions = Array.from({ length: 10 }, (_, s) => [s + 2, s + 3]);
  const table = tableOf(sessions, 13);

  it("takes the last round(n · fraction) sessions of train, in table order, as validation", () => {
    const tenth = carveValidation(table, { fraction: 0.1 });
    expect(tenth.train.numSessions).toBe(9);
    expect(tenth.valid.numSessions).toBe(1);
    expect(rows(tenth.train)).toEqual(sessions.slice(0, 9));
    expect(rows(tenth.valid)).toEqual([[11, 12]]);

    const quarter = carveValidation(table, { fraction: 0.25 });
    expect([quarter.train.numSessions, quarter.valid.numSessions]).toEqual([8, 2]);
    expect(rows(quarter.valid)).toEqual([
      [10, 11],
      [11, 12],
    ]);
    // The parts keep the schema and the padded length, and share train's arrays (nothing copied).
    expect(quarter.valid.schema).toBe(table.schema);
    expect(quarter.valid.maxLength).toBe(2);
    expect(quarter.valid.items.buffer).toBe(table.items.buffer);
  });

  it("cuts per-session and per-event columns alike", () => {
    const withColumns: SessionTable = {
      ...table,
      context: { day: Int32Array.from({ length: 10 }, (_, s) => 100 + s) },
      continuous: { seconds: Float32Array.from({ length: 20 }, (_, i) => i / 2) },
    };
    const { train, valid } = carveValidation(withColumns, { fraction: 0.2 });
    expect(Array.from(train.context.day)).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    expect(Array.from(valid.context.day)).toEqual([108, 109]);
    expect(Array.from(valid.continuous.seconds)).toEqual([8, 8.5, 9, 9.5]);
    expect(Array.from(valid.lengths)).toEqual([2, 2]);
  });

  it("refuses a fraction that leaves no validation or no training session", () => {
    const five = tableOf(sessions.slice(0, 5), 13);
    expect(() => carveValidation(five, { fraction: 0.01 })).toThrow(
      "data.validation.fraction: 0.01 of 5 train sessions leaves no validation session",
    );
    expect(() => carveValidation(five, { fraction: 0.99 })).toThrow(
      "data.validation.fraction: 0.99 of 5 train sessions leaves nothing to train on",
    );
  });
});

describe("data.validation in a run config", () => {
  const base = { data: { folder: "x" }, evaluation: { protocol: "every-next" } };

  it("takes a fraction strictly between 0 and 1", () => {
    expect(parseRunConfig({ ...base, data: { folder: "x", validation: { fraction: 0.1 } } }, "c.json").data).toEqual({
      folder: "x",
      validation: { fraction: 0.1 },
    });
    for (const fraction of [0, 1, 1.5])
      expect(() => parseRunConfig({ ...base, data: { folder: "x", validation: { fraction } } }, "c.json")).toThrow(
        `c.json: data.validation.fraction: expected a number between 0 and 1 (exclusive), got ${fraction}`,
      );
    expect(() =>
      parseRunConfig({ ...base, data: { folder: "x", validation: { fraction: 0.1, share: 0.1 } } }, "c.json"),
    ).toThrow(/data.validation: unknown key "share"/);
  });

  it("takes refit: true or false", () => {
    const data = (validation: unknown) => ({ ...base, data: { folder: "x", validation } });
    expect(parseRunConfig(data({ fraction: 0.1, refit: true }), "c.json").data.validation).toEqual({
      fraction: 0.1,
      refit: true,
    });
    expect(() => parseRunConfig(data({ fraction: 0.1, refit: "yes" }), "c.json")).toThrow(
      /c.json: data.validation.refit: expected true or false/,
    );
  });
});

describe("loadRunData with data.validation", () => {
  // Session ids are not in time order: by start time the sessions are 5 (t=100), 9 (t=200), 1 (t=300), 7 (t=400),
  // 3 (t=500). Item ids by train count, ties by value: 30 ×3 → 2; 10, 20, 40 ×2 → 3, 4, 5; 50 ×1 → 6.
  const inputDir = join(work, "clicks");
  mkdirSync(inputDir);
  const clicks = [
    [1, 30, 300],
    [1, 40, 301],
    [3, 40, 500],
    [3, 50, 501],
    [5, 10, 100],
    [5, 20, 101],
    [7, 30, 400],
    [7, 10, 401],
    [9, 20, 200],
    [9, 30, 201],
  ];
  const tsv = (lines: number[][]) => ["SessionId\tItemId\tTime", ...lines.map((l) => l.join("\t"))].join("\n") + "\n";
  writeFileSync(join(inputDir, "train.tsv"), tsv(clicks));
  writeFileSync(
    join(inputDir, "test.tsv"),
    tsv([
      [11, 10, 600],
      [11, 20, 601],
    ]),
  );

  it("carves the sessions that started last (by time, not by id) and leaves test as prepared", async () => {
    const prepared = await prepareData({ folder: join(work, "prepared"), prepare: { recipe: "yoochoose", inputDir } });
    const data = await loadRunData(prepared.dir, "test", { fraction: 0.4 });
    expect(data.validSource).toBe("carved");
    // Time order 5, 9, 1 | 7, 3: round(5 · 0.6) = 3 train sessions, 2 validation.
    expect(rows(data.train)).toEqual([
      [3, 4], // session 5: 10 20
      [4, 2], // session 9: 20 30
      [2, 5], // session 1: 30 40
    ]);
    expect(rows(data.valid!)).toEqual([
      [2, 3], // session 7: 30 10
      [5, 6], // session 3: 40 50
    ]);
    expect(rows(data.test)).toEqual([[3, 4]]);
    // Without data.validation: the whole of train, no validation.
    const whole = await loadRunData(prepared.dir, "test");
    expect([whole.train.numSessions, whole.valid, whole.validSource]).toEqual([5, undefined, "none"]);
  });

  it("with refit, also gives the whole train split (the carved parts together, in time order)", async () => {
    const prepared = await prepareData({ folder: join(work, "prepared"), prepare: { recipe: "yoochoose", inputDir } });
    const data = await loadRunData(prepared.dir, "test", { fraction: 0.4, refit: true });
    expect([rows(data.train).length, rows(data.valid!).length]).toEqual([3, 2]);
    expect(rows(data.refit!)).toEqual([...rows(data.train), ...rows(data.valid!)]);
    expect((await loadRunData(prepared.dir, "test", { fraction: 0.4 })).refit).toBeUndefined();
  });

  it("refuses to carve when the data set has a valid split of its own", async () => {
    const dir = join(work, "with-valid");
    await prepareYoochoose({ inputDir, outDir: dir });
    writeFileSync(join(dir, "valid.parquet"), "");
    await expect(loadRunData(dir, "test", { fraction: 0.1 })).rejects.toThrow(ConfigError);
    await expect(loadRunData(dir, "test", { fraction: 0.1 })).rejects.toThrow(
      `data.validation: ${dir} has a valid split already; carve validation from train only when the data set has none`,
    );
  });
});

describe("a run with a validation split reads test once, after training", () => {
  const train = tableOf(TRAIN_SESSIONS, 6);
  const valid = tableOf(
    [
      [2, 3, 4],
      [5, 4, 3, 2],
    ],
    6,
  );
  const test = tableOf(
    [
      [3, 4, 5],
      [2, 5],
    ],
    6,
  );
  const evaluate = vi.mocked(protocols.evaluateModelOn);
  const gru = { kind: "gru" as const, model: { units: 8, inputs: { itemDim: 4 }, mlp: [], dropout: 0 } };

  it("scores validation after every epoch and test once at the end (a learning curve or not)", async () => {
    for (const curve of [true, false]) {
      evaluate.mockClear();
      const run = await runModelOn(
        { ...gru, training: { epochs: 3, batchSize: 2, curve } },
        { train, valid, test },
        GRU4REC_PROTOCOL,
        { progress: "none" },
      );
      disposeModel(run);
      const scored = evaluate.mock.calls.map(([, , table]) =>
        table === valid ? "valid" : table === test ? "test" : "other",
      );
      expect({ curve, scored }).toEqual({ curve, scored: ["valid", "valid", "valid", "test"] });
      // The epochs' figures are validation's; the result is test's, scored with the best epoch's weights.
      expect(run.history!.map((epoch) => epoch.metrics["mrr@20"])).toEqual(
        await Promise.all(evaluate.mock.results.slice(0, 3).map(async (r) => (await r.value).values["mrr@20"])),
      );
      expect(run.metrics).toEqual((await evaluate.mock.results[3].value).values);
    }
  });

  it("without a validation split, a learning curve is test's (nothing is selected on it: the last epoch is kept)", async () => {
    evaluate.mockClear();
    const run = await runModelOn({ ...gru, training: { epochs: 2, batchSize: 2 } }, { train, test }, GRU4REC_PROTOCOL, {
      progress: "none",
    });
    disposeModel(run);
    expect(evaluate.mock.calls.map(([, , table]) => (table === test ? "test" : "other"))).toEqual(["test", "test"]);
    expect(run.bestEpoch).toBe(2);
  });
});

describe("refit: every method fitted again on the whole train split with what validation chose", () => {
  const train = tableOf(TRAIN_SESSIONS, 7);
  // Item 6 occurs only in the validation part: a method fitted on `train` alone has never seen it followed by 4.
  const valid = tableOf(
    [
      [6, 4],
      [5, 4, 3, 2],
      [6, 4, 3],
    ],
    7,
  );
  const whole = tableOf([...rows(train), ...rows(valid)], 7);
  const test = tableOf([[6, 4]], 7);
  const evaluate = vi.mocked(protocols.evaluateModelOn);
  const gru = {
    kind: "gru" as const,
    model: { units: 8, inputs: { itemDim: 4 }, mlp: [], dropout: 0 },
    head: { reminderBonus: "validation" as const },
    training: { epochs: 3, batchSize: 2, learningRate: 0.05, decay: "cosine" as const },
  };

  it("scores test once, with a model trained anew on the whole split for the chosen epochs and the chosen bonus", async () => {
    evaluate.mockClear();
    const run = await runModelOn(gru, { train, valid, test, refit: whole }, GRU4REC_PROTOCOL, { progress: "none" });
    const scored = evaluate.mock.calls.map(([, , table]) =>
      table === valid ? "valid" : table === test ? "test" : "other",
    );
    expect(scored).toEqual(["valid", "valid", "valid", "test"]);
    expect(run.metrics).toEqual((await evaluate.mock.results[3].value).values);
    expect(run.refitSeconds).toBeGreaterThan(0);
    expect(run.trainSeconds).toBeCloseTo(run.history!.reduce((sum, e) => sum + e.seconds, 0) + run.refitSeconds!, 9);
    expect(run.reminderBonus).toBe(run.head.config.reminderBonus);

    // The same refit by hand, from the selection run of the same config: the same weights, bit for bit.
    const selected = await runModelOn(gru, { train, valid, test }, GRU4REC_PROTOCOL, { progress: "none" });
    expect([selected.bestEpoch, selected.reminderBonus]).toEqual([run.bestEpoch, run.reminderBonus]);
    const again = await refitRunModel(selected, gru.training, whole, selected.bestEpoch, { progress: "none" });
    const weights = (m: { model: { variables: Record<string, { dataSync(): unknown }> } }) =>
      Object.values(m.model.variables).map((v) => v.dataSync());
    expect(weights(again)).toEqual(weights(run));
    expect(again.head.config.reminderBonus).toBe(selected.reminderBonus);
    // … and not those of the model fitted on the carved part only.
    expect(weights(again)).not.toEqual(weights(selected));
    for (const m of [run, selected, again]) disposeModel(m);
  });

  it("refuses a refit without a validation split to choose on", async () => {
    await expect(
      runModelOn(gru, { train, test, refit: whole }, GRU4REC_PROTOCOL, { progress: "none" }),
    ).rejects.toThrow("trainRunModel: splits.refit needs splits.valid (what to choose the refit's epoch on)");
  });

  it("refits the baselines: successor counts then know that 6 is followed by 4", () => {
    // Fitted on `train`, 6 has no successors and the fallback ranks the more popular 2 and 3 above 4; refitted on the
    // whole split, 4 is 6's only successor and ranks first.
    const [asFitted] = runBaselinesOn({ train, valid, test }, GRU4REC_PROTOCOL, [
      createBaseline("successor-counts", 7, {}),
    ]);
    const [refitted] = runBaselinesOn({ train, valid, test, refit: whole }, GRU4REC_PROTOCOL, [
      createBaseline("successor-counts", 7, {}),
    ]);
    expect(asFitted.metrics["recall@1"]).toBe(0);
    expect(refitted.metrics["recall@1"]).toBe(1);
    expect(refitted.refitSeconds).toBeGreaterThanOrEqual(0);
    expect(asFitted.refitSeconds).toBeUndefined();
  });
});
