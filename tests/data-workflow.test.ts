// The fitted workflow: fit on train, transform other data identically, save / load, and serve one live session
// given as JS objects — all checked against values worked out by hand.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../lib/data/index";
import { Relation } from "../lib/data/index";
import type { WorkflowStep } from "../lib/data/index";
import { EmptiedByStepError, Workflow } from "../lib/data/index";

let db: Database;
let dir: string;

beforeAll(async () => {
  db = await Database.open({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), "sessionrec-workflow-"));
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const STEPS: WorkflowStep[] = [
  { op: "sessionize", user: "user_id", time: "ts", gapSeconds: 3600 },
  { op: "normalize", column: "price" },
  { op: "categorify", name: "item", columns: ["item"] },
  { op: "dropOutOfVocabulary", columns: ["item"] },
  { op: "groupbySession", session: "session_id", time: "ts", lists: ["item", "price"], count: "n" },
  { op: "sliceLast", n: 2 },
  { op: "filterMinLength", column: "n", min: 2 },
];

const newWorkflow = (): Workflow => new Workflow({ steps: STEPS, item: "item_list" });

// Train: u1 has two sessions (a gap of 1 h 50 min), u2 one. Items a ×2, b ×3, c ×2 → ids b = 2, a = 3, c = 4.
const TRAIN_ROWS = `
  ('u1', TIMESTAMP '2020-01-01 10:00:00', 'a', 1.0), ('u1', TIMESTAMP '2020-01-01 10:05:00', 'b', 3.0),
  ('u1', TIMESTAMP '2020-01-01 10:10:00', 'a', 2.0), ('u1', TIMESTAMP '2020-01-01 12:00:00', 'c', 4.0),
  ('u1', TIMESTAMP '2020-01-01 12:01:00', 'b', 5.0), ('u2', TIMESTAMP '2020-01-01 09:00:00', 'b', 2.0),
  ('u2', TIMESTAMP '2020-01-01 09:30:00', 'c', 1.0)`;
const PRICES = [1, 3, 2, 4, 5, 2, 1];
const MEAN = PRICES.reduce((a, b) => a + b) / PRICES.length;
const STD = Math.sqrt(PRICES.reduce((s, p) => s + (p - MEAN) ** 2, 0) / (PRICES.length - 1));
const z = (price: number): number => Math.fround((price - MEAN) / STD);

// A live session: c, then an unknown item d (dropped), then a.
const LIVE = [
  { user_id: "u3", ts: "2020-01-02 08:00:00", item: "c", price: 2 },
  { user_id: "u3", ts: new Date(Date.UTC(2020, 0, 2, 8, 10)), item: "d", price: 9 },
  { user_id: "u3", ts: "2020-01-02 08:20:00", item: "a", price: 1 },
];
const LIVE_EXPECTED = { session_id: "u3:1", item_list: [4, 3], price_list: [z(2), z(1)], n: 2 };

const table = (rows: string, label: string): Relation =>
  new Relation(db, `SELECT * FROM (VALUES ${rows}) AS v(user_id, ts, item, price)`, label);

describe("Workflow", () => {
  let fitted: Workflow;

  it("fit says so when filterMinLength leaves no session of train, with the longest there is", async () => {
    // Sessions: u1 a b a (3 events), u1 c b (2), u2 b c (2).
    const steps = STEPS.map((step) => (step.op === "filterMinLength" ? { ...step, min: 4 } : step));
    const failed = new Workflow({ steps, item: "item_list" }).fit(table(TRAIN_ROWS, "train"));
    await expect(failed).rejects.toThrow(
      "Workflow step 7 (filterMinLength n >= 4): no row of train has n >= 4; the largest has 3",
    );
    await expect(failed).rejects.toMatchObject({ constructor: EmptiedByStepError, index: 6, largest: 3 });
  });
  let trainOut: Relation;

  beforeAll(async () => {
    fitted = newWorkflow();
    trainOut = await fitted.fit(table(TRAIN_ROWS, "train"));
  });

  it("lists the input columns its steps need", () => {
    expect(newWorkflow().inputColumns).toEqual(["user_id", "ts", "price", "item"]);
  });

  it("fit records vocabularies and statistics and returns the transformed train sessions", async () => {
    expect(fitted.vocabulary("item").values).toEqual(["b", "a", "c"]);
    expect(fitted.vocabulary("item").counts).toEqual([3, 2, 2]);
    expect(fitted.normalization("price").mean).toBeCloseTo(MEAN, 12);
    expect(fitted.normalization("price").std).toBeCloseTo(STD, 12);
    expect(await fitted.output(trainOut).rows()).toEqual([
      { session_id: "u2:1", item_list: [2, 4], price_list: [z(2), z(1)], n: 2 },
      { session_id: "u1:1", item_list: [2, 3], price_list: [z(3), z(2)], n: 3 }, // a b a → last 2
      { session_id: "u1:2", item_list: [4, 2], price_list: [z(4), z(5)], n: 2 },
    ]);
  });

  it("describes its output in schema.json form", () => {
    expect(fitted.schema()).toEqual({
      version: 1,
      sessionId: "session_id",
      item: "item_list",
      maxLength: 2,
      columns: [
        {
          name: "item_list",
          kind: "item",
          list: true,
          dtype: "int32",
          cardinality: 5,
          maxLength: 2,
          vocabulary: "item",
        },
        { name: "price_list", kind: "continuous", list: true, dtype: "float32", maxLength: 2 },
        { name: "n", kind: "count", list: false, dtype: "int32" },
      ],
    });
  });

  it("transforms a live session given as JS objects", async () => {
    expect(await fitted.transformRecords(db, LIVE)).toEqual([LIVE_EXPECTED]);
    // Without the filters, unknown items stay (as 1) and one-event sessions are kept.
    expect(await fitted.transformRecords(db, LIVE.slice(1), { filters: false })).toEqual([
      { session_id: "u3:1", item_list: [1, 3], price_list: [z(9), z(1)], n: 2 },
    ]);
    expect(await fitted.transformRecords(db, LIVE.slice(2))).toEqual([]);
  });

  it("saves, loads, and encodes new data exactly as the original, in another database", async () => {
    const saved = join(dir, "workflow");
    await fitted.save(saved);
    const vocabulary = JSON.parse(readFileSync(join(saved, "vocabularies", "item.json"), "utf8"));
    expect(vocabulary).toMatchObject({
      name: "item",
      values: ["b", "a", "c"],
      counts: [3, 2, 2],
      valueType: "VARCHAR",
    });
    expect(JSON.parse(readFileSync(join(saved, "workflow.json"), "utf8")).inputs).toEqual({
      user_id: "VARCHAR",
      ts: "TIMESTAMP",
      price: "DECIMAL(2,1)",
      item: "VARCHAR",
    });

    const loaded = await Workflow.load(saved);
    const other = await Database.open({ threads: 1 });
    try {
      expect(await loaded.transformRecords(other, LIVE)).toEqual([LIVE_EXPECTED]);
    } finally {
      other.close();
    }
    const liveRows =
      "('u3', TIMESTAMP '2020-01-02 08:00:00', 'c', 2.0), ('u3', TIMESTAMP '2020-01-02 08:10:00', 'd', 9.0), ('u3', TIMESTAMP '2020-01-02 08:20:00', 'a', 1.0)";
    const original = await fitted.output(await fitted.transform(table(liveRows, "valid"))).rows();
    expect(original).toEqual([LIVE_EXPECTED]);
    expect(loaded.schema()).toEqual(fitted.schema());
  });

  it("says what is wrong with a bad configuration or use", async () => {
    expect(() => new Workflow({ item: "x", steps: [{ op: "explode" } as unknown as WorkflowStep] })).toThrow(
      /Workflow step 1: unknown op "explode"/,
    );
    expect(() => new Workflow({ item: "x", steps: [{ op: "categorify", name: "item", columns: ["item"] }] })).toThrow(
      /needs a groupbySession step/,
    );
    expect(
      () => new Workflow({ item: "x", steps: [...STEPS, { op: "categorify", name: "item", columns: ["price"] }] }),
    ).toThrow('two categorify steps use the vocabulary name "item"');
    expect(() => new Workflow({ item: "x", steps: [{ op: "sliceLast" } as unknown as WorkflowStep] })).toThrow(
      '(sliceLast): "n" must be a number',
    );
    await expect(newWorkflow().transform(table(TRAIN_ROWS, "train"))).rejects.toThrow(/not fitted/);
    await expect(newWorkflow().fit(new Relation(db, "SELECT 1 AS user_id", "tiny"))).rejects.toThrow(
      'Workflow.fit: columns "ts", "price", "item" not found in tiny (it has: user_id)',
    );
    await expect(fitted.transformRecords(db, [{ user_id: "u", ts: "2020-01-01 00:00:00", item: "a" }])).rejects.toThrow(
      'live session: record 0 has no "price"',
    );
    const wrongItem = new Workflow({ steps: STEPS, item: "price_list" });
    await wrongItem.fit(table(TRAIN_ROWS, "train"));
    expect(() => wrongItem.schema()).toThrow(
      'item column "price_list" must be an encoded list column of the output (candidates: item_list)',
    );
  });

  it("names the file at fault when loading", async () => {
    const missing = join(dir, "nothing");
    await expect(Workflow.load(missing)).rejects.toThrow(
      `${join(missing, "workflow.json")}: not found or not readable`,
    );
    const broken = join(dir, "broken");
    await fitted.save(broken);
    writeFileSync(
      join(broken, "vocabularies", "item.json"),
      JSON.stringify({ name: "item", columns: ["item"], valueType: "VARCHAR", values: ["a"] }),
    );
    await expect(Workflow.load(broken)).rejects.toThrow(
      `${join(broken, "vocabularies", "item.json")}: "values" and "counts" must be arrays of the same length`,
    );
    expect(existsSync(join(broken, "workflow.json"))).toBe(true);
  });
});
