// prepareYoochoose on a hand-made pair of click files (tests/fixtures/real/yoochoose/):
//   train.tsv  session 1: 10 20 20 30 (a consecutive repeat)   session 2: 20 10   session 3: 30 (one click)
//              session 4: 40 10 at the same time 400 (file order: 40 first), 20 at 399 listed after them
//   test.tsv   session 7: 10 99 10 (99 unseen in train)   session 8: 30 40 20   session 9: 99 20
// Train counts (fitted before any drop): 20 ×4, 10 ×3, 30 ×2, 40 ×1 → ids 20:2, 10:3, 30:4, 40:5, cardinality 6.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepareYoochoose, yoochooseWorkflow } from "../lib/data/index";
import { splitRows } from "./helpers/tables-fixtures";

const FIXTURE = join(import.meta.dirname, "fixtures", "real", "yoochoose");
const work = mkdtempSync(join(tmpdir(), "sessionrec-yoochoose-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("prepareYoochoose", () => {
  it("keeps repeats by default, orders ties by file row, drops unseen test items and short sessions", async () => {
    const outDir = join(work, "default");
    const prepared = await prepareYoochoose({ inputDir: FIXTURE, outDir });
    // Session 4: 20 (t=399), then 40 and 10 (both t=400, file order); session 3 has one click.
    expect(await splitRows(outDir, "train")).toEqual([
      [3, 2, 2, 4],
      [2, 3],
      [2, 5, 3],
    ]);
    // Session 7 loses 99 → 10 10; session 9 loses 99 → one click → dropped.
    expect(await splitRows(outDir, "test")).toEqual([
      [3, 3],
      [4, 5, 2],
    ]);
    expect(prepared.counts).toEqual({
      trainEvents: 10,
      testEvents: 8,
      train: 3,
      test: 2,
      testClicks: 5,
      testPredictions: 3,
    });
    expect(prepared.schema.item).toBe("ItemId_list");
    expect(prepared.schema.maxLength).toBe(4); // whole sessions: the longest sets the padding
    expect(prepared.schema.columns.find((c) => c.name === "ItemId_list")?.cardinality).toBe(6);
    expect(prepared.workflow.vocabulary("item").values).toEqual([20, 10, 30, 40]);
  });

  it("removes consecutive repeats when asked, after dropping unseen items", async () => {
    const outDir = join(work, "no-repeats");
    const prepared = await prepareYoochoose({ inputDir: FIXTURE, outDir, removeRepeats: true });
    expect(await splitRows(outDir, "train")).toEqual([
      [3, 2, 4],
      [2, 3],
      [2, 5, 3],
    ]);
    // Session 7 becomes 10 10 → 10: too short.
    expect(await splitRows(outDir, "test")).toEqual([[4, 5, 2]]);
    expect(prepared.counts.testPredictions).toBe(2);
  });

  it("keeps the last maxLength clicks when asked", async () => {
    const outDir = join(work, "sliced");
    await prepareYoochoose({ inputDir: FIXTURE, outDir, maxLength: 2 });
    expect(await splitRows(outDir, "train")).toEqual([
      [2, 4],
      [2, 3],
      [5, 3],
    ]);
  });

  it("refuses a minLength or maxLength below 1, naming the option", () => {
    expect(() => yoochooseWorkflow({ minLength: 0 })).toThrow(
      "prepareYoochoose: minLength must be an integer >= 1, got 0",
    );
    expect(() => yoochooseWorkflow({ maxLength: -2 })).toThrow(
      "prepareYoochoose: maxLength must be an integer >= 1, got -2",
    );
  });

  it("lists its steps in order", () => {
    expect(yoochooseWorkflow({ removeRepeats: true }).steps.map((s) => s.op)).toEqual([
      "categorify",
      "dropOutOfVocabulary",
      "removeConsecutiveRepeats",
      "groupbySession",
      "filterMinLength",
    ]);
  });

  it("names the file, row and column of a bad value", async () => {
    const inputDir = join(work, "bad");
    mkdirSync(inputDir);
    writeFileSync(join(inputDir, "train.tsv"), "SessionId\tItemId\tTime\n1\t10\t100\n1\tabc\t101\n");
    writeFileSync(join(inputDir, "test.tsv"), "SessionId\tItemId\tTime\n2\t10\t200\n2\t10\t201\n");
    await expect(prepareYoochoose({ inputDir, outDir: join(work, "bad-out") })).rejects.toThrow(
      /train\.tsv: row 2 \(line 3\), column "ItemId": cannot read "abc"/,
    );
  });
});
