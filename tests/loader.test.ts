import { DuckDBInstance } from "@duckdb/node-api";
import * as tf from "@tensorflow/tfjs";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchCount, disposeBatch, groupByLength, readSplit, SessionLoader } from "../lib/data/index";
import type { SessionBatch } from "../lib/models/index";
import { Random } from "../lib/util/index";

const FIXTURE = join(import.meta.dirname, "fixtures", "prepared");

// The fixture's train split (see tests/fixtures/prepared/generate.ts), right-padded to maxLength 4.
const LENGTHS = [4, 2, 1, 3, 4, 2, 3];
const ITEMS = [
  [2, 3, 4, 5],
  [6, 2, 0, 0],
  [7, 0, 0, 0],
  [8, 9, 10, 0],
  [11, 1, 2, 3],
  [4, 4, 0, 0],
  [5, 6, 7, 0],
];
const CATEGORIES = [
  [2, 2, 3, 3],
  [4, 2, 0, 0],
  [3, 0, 0, 0],
  [2, 4, 4, 0],
  [3, 1, 2, 2],
  [3, 3, 0, 0],
  [3, 4, 3, 0],
];
const PRICES = [
  [0.5, 1.5, 2.25, 3],
  [1, 0.5, 0, 0],
  [4.5, 0, 0, 0],
  [0.125, 0.25, 0.375, 0],
  [5, 6, 7, 8],
  [2.5, 2.5, 0, 0],
  [1.75, 0.75, 3.5, 0],
];
const COUNTRIES = [2, 3, 2, 1, 3, 2, 1];
const HOURS = [0.25, 0.5, 0.75, 1, -0.5, 0, 2];

let loader: SessionLoader;
let scratch: string;

beforeAll(async () => {
  await tf.setBackend("cpu");
  loader = await SessionLoader.open(FIXTURE, "train");
  scratch = mkdtempSync(join(tmpdir(), "sessionrec-loader-"));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Row index of a batch row, recognised by its first item (distinct in the fixture). */
function rowOf(firstItem: number): number {
  return ITEMS.findIndex((row) => row[0] === firstItem);
}

function rowsIn(batch: SessionBatch): number[] {
  return (batch.items.arraySync() as number[][]).map((row) => rowOf(row[0]));
}

describe("readSplit", () => {
  it("reads every column into padded typed arrays, exactly", async () => {
    const table = await readSplit(FIXTURE, "train");
    expect(table.numSessions).toBe(7);
    expect(table.maxLength).toBe(4);
    expect(Array.from(table.lengths)).toEqual(LENGTHS);
    expect(table.items).toBeInstanceOf(Int32Array);
    expect(Array.from(table.items)).toEqual(ITEMS.flat());
    expect(Object.keys(table.categorical)).toEqual(["category_list"]);
    expect(Array.from(table.categorical.category_list)).toEqual(CATEGORIES.flat());
    expect(table.continuous.price_list).toBeInstanceOf(Float32Array);
    expect(Array.from(table.continuous.price_list)).toEqual(PRICES.flat());
    // "count" columns are informational: not loaded.
    expect(Object.keys(table.context)).toEqual(["user_country", "session_hour"]);
    expect(table.context.user_country).toBeInstanceOf(Int32Array);
    expect(Array.from(table.context.user_country)).toEqual(COUNTRIES);
    expect(table.context.session_hour).toBeInstanceOf(Float32Array);
    expect(Array.from(table.context.session_hour)).toEqual(HOURS);
  });

  it("reads the other splits of the folder", async () => {
    const valid = await readSplit(FIXTURE, "valid");
    expect(Array.from(valid.lengths)).toEqual([2, 3, 1]);
    expect(Array.from(valid.items)).toEqual([3, 4, 0, 0, 9, 10, 11, 0, 2, 0, 0, 0]);
  });
});

describe("SessionLoader.batches", () => {
  it("yields batches in file order with the last partial batch padded and masked", () => {
    const batches = [...loader.batches({ batchSize: 3 })];
    expect(batches.map((b) => b.size)).toEqual([3, 3, 1]);
    expect(batches.map(rowsIn)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);

    const last = batches[2];
    expect(last.items.shape).toEqual([1, 4]);
    expect(last.items.dtype).toBe("int32");
    expect(last.items.arraySync()).toEqual([[5, 6, 7, 0]]);
    expect(last.mask.dtype).toBe("float32");
    expect(last.mask.arraySync()).toEqual([[1, 1, 1, 0]]);
    expect(last.lengths.arraySync()).toEqual([3]);
    expect(last.categorical.category_list.arraySync()).toEqual([[3, 4, 3, 0]]);
    expect(last.continuous.price_list.arraySync()).toEqual([[1.75, 0.75, 3.5, 0]]);
    expect(last.context.user_country.dtype).toBe("int32");
    expect(last.context.user_country.arraySync()).toEqual([1]);
    expect(last.context.session_hour.arraySync()).toEqual([2]);

    const first = batches[0];
    expect(first.mask.arraySync()).toEqual([
      [1, 1, 1, 1],
      [1, 1, 0, 0],
      [1, 0, 0, 0],
    ]);
    expect(first.continuous.price_list.arraySync()).toEqual(PRICES.slice(0, 3));
    batches.forEach(disposeBatch);
  });

  it("drops the last partial batch on request", () => {
    const batches = [...loader.batches({ batchSize: 3, dropLast: true })];
    expect(batches.map((b) => b.size)).toEqual([3, 3]);
    expect(batchCount(7, { batchSize: 3, dropLast: true })).toBe(2);
    expect(batchCount(7, { batchSize: 3 })).toBe(3);
    batches.forEach(disposeBatch);
  });

  it("shuffles by the seed's permutation, the same for the same seed", () => {
    const order = (seed: number): number[] => {
      const rows: number[] = [];
      for (const batch of loader.batches({ batchSize: 2, shuffleSeed: seed })) {
        rows.push(...rowsIn(batch));
        disposeBatch(batch);
      }
      return rows;
    };
    const shuffled = order(11);
    expect(shuffled).toEqual(Array.from(new Random(11).permutation(7)));
    expect(order(11)).toEqual(shuffled);
    expect(order(12)).not.toEqual(shuffled);
    expect([...shuffled].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);

    // Rows move whole: every feature of a shuffled batch belongs to the same session.
    const [batch] = loader.batches({ batchSize: 7, shuffleSeed: 11 });
    const rows = rowsIn(batch);
    expect(batch.categorical.category_list.arraySync()).toEqual(rows.map((r) => CATEGORIES[r]));
    expect(batch.context.session_hour.arraySync()).toEqual(rows.map((r) => HOURS[r]));
    expect(batch.lengths.arraySync()).toEqual(rows.map((r) => LENGTHS[r]));
    disposeBatch(batch);
  });

  it("holds only the current batch's tensors: the count does not grow over an epoch", () => {
    const before = tf.memory().numTensors;
    const during: number[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      for (const batch of loader.batches({ batchSize: 2, shuffleSeed: epoch })) {
        during.push(tf.memory().numTensors - before);
        disposeBatch(batch);
      }
    }
    // items, category_list, price_list, user_country, session_hour, mask, lengths
    expect(new Set(during)).toEqual(new Set([7]));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects a bad batch size", () => {
    expect(() => loader.batches({ batchSize: 0 })).toThrow("batchSize must be an integer >= 1, got 0");
    expect(() => loader.batch([0, 7])).toThrow("batch: row 7 is not a session index in [0, 7)");
  });
});

describe("groupByLength", () => {
  it("splits a batch into groups of similar length, each padded to its own longest, every feature moving with its row", () => {
    const batch = loader.batch([0, 1, 2, 3, 4, 5, 6]); // lengths 4 2 1 3 4 2 3
    const groups = groupByLength(batch, 3);
    // Rows by length, ties in batch order: 2 (1), 1 5 (2), 3 6 (3), 0 4 (4); cut 2 | 3 | 2 (round(7g/3)).
    expect(groups.map(rowsIn)).toEqual([
      [2, 1],
      [5, 3, 6],
      [0, 4],
    ]);
    expect(groups.map((g) => g.size)).toEqual([2, 3, 2]);
    expect(groups[0].items.arraySync()).toEqual([
      [7, 0],
      [6, 2],
    ]);
    expect(groups[0].mask.arraySync()).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect(groups[1].items.shape).toEqual([3, 3]);
    expect(groups[1].lengths.arraySync()).toEqual([2, 3, 3]);
    expect(groups[1].continuous.price_list.arraySync()).toEqual([
      [2.5, 2.5, 0],
      [0.125, 0.25, 0.375],
      [1.75, 0.75, 3.5],
    ]);
    expect(groups[1].categorical.category_list.arraySync()).toEqual([
      [3, 3, 0],
      [2, 4, 4],
      [3, 4, 3],
    ]);
    expect(groups[2].context.user_country.arraySync()).toEqual([COUNTRIES[0], COUNTRIES[4]]);
    expect(groups[2].context.session_hour.arraySync()).toEqual([HOURS[0], HOURS[4]]);
    expect(groups[2].items.arraySync()).toEqual([ITEMS[0], ITEMS[4]]);
    [batch, ...groups].forEach(disposeBatch);
  });

  it("makes no more groups than rows, and refuses a bad count", () => {
    const batch = loader.batch([3, 2]);
    const groups = groupByLength(batch, 5);
    expect(groups.map(rowsIn)).toEqual([[2], [3]]);
    expect(groups.map((g) => g.items.shape)).toEqual([
      [1, 1],
      [1, 3],
    ]);
    expect(() => groupByLength(batch, 0)).toThrow("groupByLength: groups must be an integer >= 1, got 0");
    [batch, ...groups].forEach(disposeBatch);
  });
});

describe("SessionLoader over a table built in memory", () => {
  it("checks array sizes and lengths", () => {
    const table = loader.table;
    expect(() => new SessionLoader({ ...table, items: table.items.subarray(1) })).toThrow(
      "SessionLoader: items has 27 values, expected 28",
    );
    expect(() => new SessionLoader({ ...table, context: { hour: new Float32Array(6) } })).toThrow(
      'context "hour" has 6 values, expected 7',
    );
    expect(() => new SessionLoader({ ...table, lengths: Int32Array.from([4, 2, 0, 3, 4, 2, 3]) })).toThrow(
      "session 2 has length 0, expected 1..4",
    );
  });
});

describe("errors on bad prepared data", () => {
  /** A prepared folder whose train.parquet is `select` over the fixture's train split (as table `t`). */
  async function preparedWith(name: string, select: string): Promise<string> {
    const dir = join(scratch, name);
    mkdirSync(dir);
    copyFileSync(join(FIXTURE, "schema.json"), join(dir, "schema.json"));
    const instance = await DuckDBInstance.create();
    const connection = await instance.connect();
    const source = `(SELECT * FROM read_parquet('${join(FIXTURE, "train.parquet")}')) AS t`;
    await connection.run(`COPY (${select.replace("$t", source)}) TO '${join(dir, "train.parquet")}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();
    return dir;
  }

  it("names a missing file", async () => {
    await expect(readSplit(FIXTURE, "test")).rejects.toThrow(/prepared\/test\.parquet not found/);
  });

  it("names a schema column the file lacks", async () => {
    const dir = await preparedWith("no-price", "SELECT * EXCLUDE (price_list) FROM $t");
    await expect(readSplit(dir)).rejects.toThrow(/schema\.json lists column "price_list" but the file has none/);
  });

  it("names a list of the wrong element type", async () => {
    const dir = await preparedWith("double-price", "SELECT * REPLACE (price_list::DOUBLE[] AS price_list) FROM $t");
    await expect(readSplit(dir)).rejects.toThrow(
      'column "price_list" has type DOUBLE[], but schema.json says a list of float32 (Parquet LIST of FLOAT)',
    );
    const scalar = await preparedWith("scalar-items", "SELECT * REPLACE (item_id_list[1] AS item_id_list) FROM $t");
    await expect(readSplit(scalar)).rejects.toThrow(
      'column "item_id_list" has type INTEGER, but schema.json says a list of int32',
    );
  });

  it("names the first row with a NULL, a too-long list or mismatched list lengths", async () => {
    const withNull = await preparedWith(
      "null-element",
      "SELECT * REPLACE (CASE WHEN session_id = 's4' THEN [1.0, NULL, 2.0]::FLOAT[] ELSE price_list END AS price_list) FROM $t",
    );
    await expect(readSplit(withNull)).rejects.toThrow(
      'row 3: list "price_list" holds a NULL element (rows count from 0)',
    );
    const tooLong = await preparedWith(
      "too-long",
      "SELECT * REPLACE (CASE WHEN session_id = 's2' THEN [1, 2, 3, 4, 5] ELSE item_id_list END AS item_id_list) FROM $t",
    );
    await expect(readSplit(tooLong)).rejects.toThrow('row 1: list "item_id_list" is longer than its maxLength 4');
    const mismatch = await preparedWith(
      "mismatch",
      "SELECT * REPLACE (CASE WHEN session_id = 's6' THEN [3] ELSE category_list END AS category_list) FROM $t",
    );
    await expect(readSplit(mismatch)).rejects.toThrow(
      'row 5: list "category_list" has another length than "item_id_list"',
    );
  });
});
