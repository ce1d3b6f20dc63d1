// lib/course/course.ts: the CI training sample, the reuse of prepared data, and the numbers the notebooks print.
import * as tf from "@tensorflow/tfjs";
import { copyFileSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  COURSE_MODELS,
  COURSE_PROTOCOL,
  compareWithBaselines,
  metricsTable,
  prepareCourseData,
  sampleSessions,
  trainingCurve,
} from "../lib/course/index";
import { readRunConfig } from "../lib/config";
import { SessionLoader, type SessionTable } from "../lib/data/index";
import { Random } from "../lib/util/index";
import type { EpochRecord } from "../lib/train/index";

const FIXTURES = join(import.meta.dirname, "fixtures");

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("COURSE_MODELS", () => {
  it("are the models of configs/course-notebooks.json, with its protocol", async () => {
    const config = await readRunConfig(join(import.meta.dirname, "..", "configs", "course-notebooks.json"));
    expect(COURSE_MODELS).toEqual({ mlp: config.models[0], lstm: config.models[1], transformer: config.models[2] });
    expect(COURSE_MODELS.lstm.training?.batchSize).toBe(1024);
    expect(COURSE_PROTOCOL).toEqual({ name: "last", ks: [4, 10] });
  });
});

describe("sampleSessions", () => {
  let train: SessionLoader;
  beforeAll(async () => {
    train = await SessionLoader.open(join(FIXTURES, "prepared"), "train");
  });

  /** Session `s` of `table` as plain arrays, every column included. */
  function session(table: SessionTable, s: number): unknown {
    const L = table.maxLength;
    const row = (values: Int32Array | Float32Array, width: number) =>
      Array.from(values.subarray(s * width, (s + 1) * width));
    const each = (record: Record<string, Int32Array | Float32Array>, width: number) =>
      Object.fromEntries(Object.entries(record).map(([name, values]) => [name, row(values, width)]));
    return {
      length: table.lengths[s],
      items: row(table.items, L),
      categorical: each(table.categorical, L),
      continuous: each(table.continuous, L),
      context: each(table.context, 1),
    };
  }

  it("keeps the seeded permutation's first `count` sessions, in file order, with every column", () => {
    const count = 4;
    const sample = sampleSessions(train, count, 3);
    const expected = Array.from(new Random(3).permutation(train.numSessions).slice(0, count)).sort((a, b) => a - b);
    expect(sample.numSessions).toBe(count);
    expect(expected).toHaveLength(count);
    expected.forEach((source, i) => expect(session(sample.table, i)).toEqual(session(train.table, source)));
  });

  it("returns the loader itself when it has no more sessions than asked, and rejects a bad count", () => {
    expect(sampleSessions(train, train.numSessions)).toBe(train);
    expect(() => sampleSessions(train, 0)).toThrow(/count must be an integer >= 1, got 0/);
  });
});

describe("prepareCourseData", () => {
  const tmp = mkdtempSync(join(tmpdir(), "sessionrec-course-"));
  const input = join(tmp, "train_set.csv");
  const dir = join(tmp, "prepared");
  beforeAll(() => copyFileSync(join(FIXTURES, "booking", "train_set.csv"), input));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("prepares once, reuses the folder while the input is unchanged, and prepares again when it changes", async () => {
    const first = await prepareCourseData({ dir, input });
    expect(first.reused).toBe(false);
    expect(first.train.numSessions).toBeGreaterThan(0);
    expect(first.valid.numSessions).toBeGreaterThan(0);

    const second = await prepareCourseData({ dir, input });
    expect(second.reused).toBe(true);
    expect(second.train.numSessions).toBe(first.train.numSessions);
    expect(second.workflow.vocabulary("city_id").values).toEqual(first.workflow.vocabulary("city_id").values);

    const later = new Date(Date.now() + 60_000);
    utimesSync(input, later, later);
    expect((await prepareCourseData({ dir, input })).reused).toBe(false);
  }, 60_000);
});

describe("tables and sentences", () => {
  const metrics = (recall4: number, recall10: number) => ({
    "recall@4": recall4,
    "mrr@4": recall4 / 2,
    "ndcg@4": recall4 / 1.5,
    "recall@10": recall10,
    "mrr@10": 0.123456,
    "ndcg@10": 0.2,
  });
  const baselines = [
    { name: "most-popular", metrics: metrics(0.05, 0.1) },
    { name: "successor-counts", metrics: metrics(0.5, 0.66) },
  ];

  it("metricsTable rounds to 4 decimals, recall/MRR/NDCG at each k", () => {
    expect(metricsTable([{ name: "m", metrics: metrics(0.25, 0.5) }])).toEqual([
      {
        model: "m",
        "recall@4": 0.25,
        "mrr@4": 0.125,
        "ndcg@4": 0.1667,
        "recall@10": 0.5,
        "mrr@10": 0.1235,
        "ndcg@10": 0.2,
      },
    ]);
  });

  it("compareWithBaselines states the ratio to most-popular and the gap to the strongest baseline", () => {
    expect(compareWithBaselines({ name: "lstm", metrics: metrics(0.3, 0.45) }, baselines, "recall@10")).toBe(
      "lstm: recall@10 0.450, 4.5× most-popular (0.100); the strongest baseline, successor-counts, scores 0.660 (lstm is 0.210 below it).",
    );
    expect(compareWithBaselines({ name: "gru", metrics: metrics(0.6, 0.7) }, baselines, "recall@4")).toBe(
      "gru: recall@4 0.600, 12.0× most-popular (0.050); the strongest baseline, successor-counts, scores 0.500 (gru is 0.100 above it).",
    );
  });

  it("trainingCurve puts the loss on the left axis and the metric on the right, one point per epoch", () => {
    const epoch = (n: number, loss: number, recall: number): EpochRecord => ({
      epoch: n,
      loss,
      metrics: { "recall@10": recall },
      seconds: 1,
      evalSeconds: 0,
      sequencesPerSecond: 1,
      learningRate: 0.001,
    });
    const fig = trainingCurve([epoch(1, 7, 0.1), epoch(2, 6, 0.2)], { title: "t" });
    expect(fig.data.map((trace) => [trace.x, trace.y, trace.yaxis])).toEqual([
      [[1, 2], [7, 6], undefined],
      [[1, 2], [0.1, 0.2], "y2"],
    ]);
    expect(fig.layout?.yaxis2).toMatchObject({ overlaying: "y", side: "right" });
  });
});
