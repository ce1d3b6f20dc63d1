// prepareSequences on a hand-made `user item` file (tests/fixtures/real/sequences.txt, 12 lines):
//   user 1: 5 6 7 8 (lines 1–4)   user 2: 6 5 (lines 5–6) and 7 (line 12)   user 3: 9 5   user 4: 7 6 5
// User 3 has 2 interactions → dropped. Leave-one-out per user: train = all but the last two, valid = all but the
// last, test = all. Train items (user 1: 5 6, user 2: 6, user 4: 7) → ids 6:2, 5:3, 7:4; 8 only in a test row → 1.
// Rows with fewer than 2 items (train rows of users 2 and 4) are dropped.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepareSequences } from "../lib/data/index";
import { splitRows } from "./helpers/tables-fixtures";

const FIXTURE = join(import.meta.dirname, "fixtures", "real", "sequences.txt");
const work = mkdtempSync(join(tmpdir(), "sessionrec-sequences-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("prepareSequences", () => {
  it("splits leave-one-out per user, in line order, with a train-only vocabulary", async () => {
    const outDir = join(work, "default");
    const prepared = await prepareSequences({ input: FIXTURE, outDir });
    expect(await splitRows(outDir, "train")).toEqual([[3, 2]]);
    expect(await splitRows(outDir, "valid")).toEqual([
      [3, 2, 4],
      [2, 3],
      [4, 2],
    ]);
    expect(await splitRows(outDir, "test")).toEqual([
      [3, 2, 4, 1],
      [2, 3, 4],
      [4, 2, 3],
    ]);
    expect(prepared.counts).toEqual({
      interactions: 12,
      users: 4,
      items: 5,
      keptUsers: 3,
      train: 1,
      valid: 3,
      test: 3,
      validUnseen: 0,
      testUnseen: 1,
    });
    expect(prepared.workflow.vocabulary("item").values).toEqual([6, 5, 7]);
    expect(prepared.schema.maxLength).toBe(51);
  });

  it('with catalogue "file", knows every item of the file: no target is out of vocabulary', async () => {
    const outDir = join(work, "file");
    const prepared = await prepareSequences({ input: FIXTURE, outDir, catalogue: "file" });
    // Counts over all 12 lines: 5 ×4, 6 ×3, 7 ×3, 8 ×1, 9 ×1.
    const values = prepared.workflow.vocabulary("item").values;
    expect([...values].sort()).toEqual([5, 6, 7, 8, 9]);
    const id = (item: number) => 2 + values.indexOf(item);
    expect(await splitRows(outDir, "train")).toEqual([[id(5), id(6)]]);
    expect(await splitRows(outDir, "test")).toEqual([
      [id(5), id(6), id(7), id(8)],
      [id(6), id(5), id(7)],
      [id(7), id(6), id(5)],
    ]);
    expect(prepared.counts.testUnseen).toBe(0);
    expect(prepared.schema.columns.find((c) => c.name === "item_list")?.cardinality).toBe(2 + 5);
    await expect(prepareSequences({ input: FIXTURE, outDir, catalogue: "all" as never })).rejects.toThrow(
      /catalogue must be "train" or "file"/,
    );
  });

  it("keeps maxHistory + 1 items per row", async () => {
    const outDir = join(work, "short");
    await prepareSequences({ input: FIXTURE, outDir, maxHistory: 2 });
    expect(await splitRows(outDir, "test")).toEqual([
      [2, 4, 1],
      [2, 3, 4],
      [4, 2, 3],
    ]);
  });

  it("keeps users with 2 interactions when minInteractions is 2", async () => {
    const outDir = join(work, "min2");
    const prepared = await prepareSequences({ input: FIXTURE, outDir, minInteractions: 2 });
    // User 3 (9 5): valid row [9] is too short; test row [9, 5] stays, 9 unseen in train → 1.
    expect(await splitRows(outDir, "test")).toEqual([
      [3, 2, 4, 1],
      [2, 3, 4],
      [1, 3],
      [4, 2, 3],
    ]);
    expect(prepared.counts.keptUsers).toBe(4);
  });

  it("names the file and line of a malformed pair", async () => {
    const input = join(work, "bad.txt");
    writeFileSync(input, "1 5\n1 6\n1 x7\n");
    await expect(prepareSequences({ input, outDir: join(work, "bad") })).rejects.toThrow(
      /bad\.txt: line 3: expected two integer ids "user item", got user "1" and item "x7"/,
    );
  });

  it("refuses a maxHistory or minInteractions below 1, naming the option", async () => {
    await expect(prepareSequences({ input: FIXTURE, outDir: join(work, "bad"), maxHistory: 0 })).rejects.toThrow(
      "prepareSequences: maxHistory must be an integer >= 1, got 0",
    );
    await expect(prepareSequences({ input: FIXTURE, outDir: join(work, "bad"), minInteractions: 1.5 })).rejects.toThrow(
      "prepareSequences: minInteractions must be an integer >= 1, got 1.5",
    );
  });

  it("explains a missing file", async () => {
    await expect(prepareSequences({ input: join(work, "nope.txt"), outDir: join(work, "nope") })).rejects.toThrow(
      /nope\.txt: no such file/,
    );
  });
});
