// Every data operator on tiny hand-made tables, against values worked out by hand.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cardinality, categorify, decodeId, dropOutOfVocabulary, encodeValue, fitVocabulary } from "../lib/data/index";
import { Database } from "../lib/data/index";
import { duration, fitNormalize, log1p, normalize, timeFeatures } from "../lib/data/index";
import { Relation } from "../lib/data/index";
import { sessionize } from "../lib/data/index";
import { filterMinLength, groupbySession, removeConsecutiveRepeats, sliceLast } from "../lib/data/index";
import { lastItemSplit, timeSplit } from "../lib/data/index";

let db: Database;

beforeAll(async () => {
  db = await Database.open({ threads: 1 });
});

afterAll(() => db.close());

/** A relation over literal rows: `values("a, b", "(1, 'x'), (2, 'y')")`. */
function values(columns: string, rows: string): Relation {
  return new Relation(db, `SELECT * FROM (VALUES ${rows}) AS v(${columns})`, "the test table");
}

/** Rows as plain JSON values (bigint → number, Date → ISO text). */
async function plain(relation: Relation, orderBy?: string): Promise<Record<string, unknown>[]> {
  const rows = await (
    orderBy === undefined ? relation : relation.derive((from) => `SELECT * FROM ${from} ORDER BY ${orderBy}`)
  ).rows();
  return JSON.parse(JSON.stringify(rows, (_key, value) => (typeof value === "bigint" ? Number(value) : value)));
}

async function column(relation: Relation, name: string, orderBy?: string): Promise<unknown[]> {
  return (await plain(relation, orderBy)).map((row) => row[name]);
}

describe("sessionize", () => {
  const events = (): Relation =>
    values(
      "user_id, ts, n",
      `('u1', TIMESTAMP '2020-01-01 00:00:00', 1), ('u1', TIMESTAMP '2020-01-01 00:01:40', 2),
       ('u1', TIMESTAMP '2020-01-01 00:33:20', 3), ('u1', TIMESTAMP '2020-01-01 00:33:20', 4),
       ('u1', TIMESTAMP '2020-01-01 00:41:40', 5), ('u2', TIMESTAMP '2020-01-01 00:00:50', 6)`,
    );

  it("starts a new session after more than gapSeconds of inactivity; ties stay together", async () => {
    // u1 at 0 s, 100 s, 2000 s (gap 1900 > 1000: new), 2000 s (tie), 2500 s (gap 500); u2 alone.
    const out = await sessionize(events(), { user: "user_id", time: "ts", gapSeconds: 1000 });
    expect(await column(out, "session_id", "n")).toEqual(["u1:1", "u1:1", "u1:2", "u1:2", "u1:2", "u2:1"]);
    // A gap exactly equal to gapSeconds does not split.
    const exact = await sessionize(events(), { user: "user_id", time: "ts", gapSeconds: 1900 });
    expect(await column(exact, "session_id", "n")).toEqual(["u1:1", "u1:1", "u1:1", "u1:1", "u1:1", "u2:1"]);
  });

  it("copies a given session column", async () => {
    const out = await sessionize(values("trip, x", "('a', 1), ('b', 2)"), { sessionColumn: "trip", output: "sid" });
    expect(await plain(out, "x")).toEqual([
      { trip: "a", x: 1, sid: "a" },
      { trip: "b", x: 2, sid: "b" },
    ]);
  });

  it("names a missing column and the table", async () => {
    await expect(sessionize(events(), { user: "visitor", time: "ts", gapSeconds: 1 })).rejects.toThrow(
      'sessionize: column "visitor" not found in the test table (it has: user_id, ts, n)',
    );
  });
});

describe("categorify", () => {
  // a ×3, b ×2, c ×2, d ×1, NULL ×1
  const train = (): Relation => values("item", "('a'), ('b'), ('c'), ('a'), ('d'), ('c'), (NULL), ('b'), ('a')");

  it("orders ids by descending frequency, then value; counts rare values and NULLs", async () => {
    const vocabulary = await fitVocabulary(train(), { name: "item", columns: ["item"], minFrequency: 2 });
    expect(vocabulary).toEqual({
      name: "item",
      columns: ["item"],
      minFrequency: 2,
      valueType: "VARCHAR",
      values: ["a", "b", "c"],
      counts: [3, 2, 2],
      rareCount: 1,
      nullCount: 1,
    });
    expect(cardinality(vocabulary)).toBe(5);
    expect(encodeValue(vocabulary, "c")).toBe(4);
    expect(encodeValue(vocabulary, "zzz")).toBe(1);
    expect(decodeId(vocabulary, 2)).toBe("a");
    expect(decodeId(vocabulary, 1)).toBeNull();
  });

  it("maps unseen, rare and NULL values to 1 (out-of-vocabulary)", async () => {
    const vocabulary = await fitVocabulary(train(), { name: "item", columns: ["item"], minFrequency: 2 });
    const encoded = await categorify(
      values("k, item", "(1, 'c'), (2, 'd'), (3, 'new'), (4, NULL), (5, 'a'), (6, 'b')"),
      [vocabulary],
    );
    expect(await column(encoded, "item", "k")).toEqual([4, 1, 1, 1, 2, 3]);
    const kept = await dropOutOfVocabulary(encoded, ["item"]);
    expect(await column(kept, "k", "k")).toEqual([1, 5, 6]);
  });

  it("fits one vocabulary jointly over several columns", async () => {
    // p ×2, q ×3, r ×1 over both columns → q = 2, p = 3, r = 4
    const rows = values("k, x, y", "(1, 'p', 'q'), (2, 'q', 'r'), (3, 'p', 'q')");
    const vocabulary = await fitVocabulary(rows, { name: "country", columns: ["x", "y"] });
    expect(vocabulary.values).toEqual(["q", "p", "r"]);
    expect(vocabulary.counts).toEqual([3, 2, 1]);
    const encoded = await categorify(rows, [vocabulary]);
    expect(await plain(encoded, "k")).toEqual([
      { k: 1, x: 3, y: 2 },
      { k: 2, x: 2, y: 4 },
      { k: 3, x: 3, y: 2 },
    ]);
  });

  it("keeps numbers as numbers and breaks ties by numeric value", async () => {
    const rows = values("city", "(10::INTEGER), (9), (10), (9), (100)");
    const vocabulary = await fitVocabulary(rows, { name: "city", columns: ["city"] });
    expect(vocabulary.valueType).toBe("INTEGER");
    expect(vocabulary.values).toEqual([9, 10, 100]);
    const wide = await fitVocabulary(values("id", "(5000000000::BIGINT), (7::BIGINT)"), {
      name: "id",
      columns: ["id"],
    });
    expect(wide.values).toEqual([7, 5000000000]);
    const encoded = await categorify(values("id", "(7::BIGINT), (5000000000::BIGINT), (8::BIGINT)"), [wide]);
    expect(await column(encoded, "id")).toEqual([2, 3, 1]);
  });

  it("rejects a bad vocabulary name or threshold", async () => {
    await expect(fitVocabulary(train(), { name: "a/b", columns: ["item"] })).rejects.toThrow(
      /must use only letters, digits/,
    );
    await expect(fitVocabulary(train(), { name: "item", columns: ["item"], minFrequency: 0 })).rejects.toThrow(
      /minFrequency must be an integer >= 1/,
    );
  });
});

describe("time features, duration, log1p, normalize", () => {
  it("extracts weekday (Monday = 0), month and other calendar parts", async () => {
    // 2017-01-01 was a Sunday, 2017-01-02 a Monday.
    const rows = values(
      "d, ts",
      "(DATE '2017-01-01', TIMESTAMP '2017-03-04 13:45:00'), (DATE '2017-01-02', TIMESTAMP '2016-12-31 00:05:00')",
    );
    const out = await timeFeatures(rows, { column: "d", features: { wd: "weekday", m: "month", doy: "dayofyear" } });
    const out2 = await timeFeatures(out, {
      column: "ts",
      features: { h: "hour", mi: "minute", y: "year", day: "day" },
    });
    expect(await plain(out2, "d")).toEqual([
      {
        d: "2017-01-01T00:00:00.000Z",
        ts: "2017-03-04T13:45:00.000Z",
        wd: 6,
        m: 1,
        doy: 1,
        h: 13,
        mi: 45,
        y: 2017,
        day: 4,
      },
      {
        d: "2017-01-02T00:00:00.000Z",
        ts: "2016-12-31T00:05:00.000Z",
        wd: 0,
        m: 1,
        doy: 2,
        h: 0,
        mi: 5,
        y: 2016,
        day: 31,
      },
    ]);
    await expect(timeFeatures(values("d", "('x')"), { column: "d", features: { w: "weekday" } })).rejects.toThrow(
      'column "d" of the test table is VARCHAR, expected DATE or TIMESTAMP',
    );
  });

  it("measures durations in days or hours", async () => {
    const rows = values(
      "a, b",
      "(TIMESTAMP '2017-01-01 00:00:00', TIMESTAMP '2017-01-01 01:30:00'), (TIMESTAMP '2017-01-01 00:00:00', TIMESTAMP '2017-01-04 00:00:00')",
    );
    expect(await column(await duration(rows, { start: "a", end: "b", unit: "hours", output: "h" }), "h", "b")).toEqual([
      1.5, 72,
    ]);
    const dates = values("a, b", "(DATE '2016-12-30', DATE '2017-01-02')");
    expect(await column(await duration(dates, { start: "a", end: "b", output: "nights" }), "nights")).toEqual([3]);
  });

  it("log1p is ln(1 + x), NULL below -1", async () => {
    const out = await log1p(values("k, x", `(1, 0), (2, 1), (3, ${Math.E - 1}), (4, -1), (5, 3)`), {
      column: "x",
      output: "y",
    });
    const y = (await column(out, "y", "k")) as (number | null)[];
    expect(y[0]).toBe(0);
    expect(y[1]).toBeCloseTo(Math.LN2, 12);
    expect(y[2]).toBeCloseTo(1, 12);
    expect(y[3]).toBeNull();
    expect(y[4]).toBeCloseTo(Math.log(4), 12);
  });

  it("normalize fits mean and sample deviation on one table and applies them to another", async () => {
    const stats = await fitNormalize(values("x", "(1), (2), (3), (4), (NULL)"), "x");
    expect(stats.count).toBe(4);
    expect(stats.mean).toBe(2.5);
    expect(stats.std).toBeCloseTo(Math.sqrt(5 / 3), 12); // ((1.5² + 0.5²) · 2) / (4 − 1)
    const out = await normalize(values("k, x", "(1, 2.5), (2, 5)"), { column: "x", stats });
    const x = (await column(out, "x", "k")) as number[];
    expect(x[0]).toBe(0);
    expect(x[1]).toBeCloseTo(2.5 / Math.sqrt(5 / 3), 12);
    expect((await fitNormalize(values("x", "(7), (7)"), "x")).std).toBe(1);
    await expect(fitNormalize(values("x", "(NULL::DOUBLE)"), "x")).rejects.toThrow(/has no values to fit/);
  });
});

describe("sessions", () => {
  const events = (): Relation =>
    values(
      "sid, t, item, seq",
      `('s1', 3, 'c', 1), ('s1', 1, 'a', 2), ('s1', 2, 'b', 3), ('s2', 0, 'x', 4),
       ('s3', 5, 'z', 5), ('s3', 5, 'y', 6)`,
    );

  it("groups events into time-ordered lists with first, last and count; sessions ordered by start", async () => {
    const out = await groupbySession(events(), {
      session: "sid",
      time: "t",
      lists: ["item", "t"],
      first: ["item"],
      last: ["item"],
      count: "n",
    });
    expect((await out.columns()).map((c) => c.name)).toEqual([
      "session_id",
      "item_list",
      "t_list",
      "item_first",
      "item_last",
      "n",
    ]);
    expect(await plain(out)).toEqual([
      { session_id: "s2", item_list: ["x"], t_list: [0], item_first: "x", item_last: "x", n: 1 },
      { session_id: "s1", item_list: ["a", "b", "c"], t_list: [1, 2, 3], item_first: "a", item_last: "c", n: 3 },
      // tie at t = 5, no tieBreak: ordered by the collected values ('y' < 'z')
      { session_id: "s3", item_list: ["y", "z"], t_list: [5, 5], item_first: "y", item_last: "z", n: 2 },
    ]);
  });

  it("breaks ties with tieBreak columns", async () => {
    const out = await groupbySession(events(), {
      session: "sid",
      time: "t",
      tieBreak: ["seq"],
      lists: ["item"],
      sessionOutput: "trip",
    });
    expect(await plain(out.derive((from) => `SELECT * FROM ${from} WHERE trip = 's3'`))).toEqual([
      { trip: "s3", item_list: ["z", "y"], count: 2 },
    ]);
  });

  it("sliceLast keeps the newest n entries of every list column", async () => {
    const rows = values("k, a, b, c", "(1, [1, 2, 3, 4, 5], ['p', 'q', 'r', 's', 't'], 9), (2, [7], ['u'], 8)");
    expect(await plain(await sliceLast(rows, { n: 3 }), "k")).toEqual([
      { k: 1, a: [3, 4, 5], b: ["r", "s", "t"], c: 9 },
      { k: 2, a: [7], b: ["u"], c: 8 },
    ]);
    expect(await column(await sliceLast(rows, { n: 2, columns: ["b"] }), "a", "k")).toEqual([[1, 2, 3, 4, 5], [7]]);
    await expect(sliceLast(rows, { n: 2, columns: ["c"] })).rejects.toThrow(
      'sliceLast: column "c" of the test table is not a list',
    );
  });

  it("filterMinLength compares list lengths or counts", async () => {
    const rows = values("k, l, n", "(1, [1, 2], 5), (2, [1], 1), (3, [1, 2, 3], 2)");
    expect(await column(await filterMinLength(rows, { column: "l", min: 2 }), "k", "k")).toEqual([1, 3]);
    expect(await column(await filterMinLength(rows, { column: "n", min: 3 }), "k", "k")).toEqual([1]);
  });

  it("removeConsecutiveRepeats drops an event repeating the previous item of its session", async () => {
    const rows = values(
      "sid, t, item",
      "('s', 1, 'a'), ('s', 2, 'a'), ('s', 3, 'b'), ('s', 4, 'a'), ('s', 5, 'a'), ('s', 6, 'c'), ('r', 1, 'a')",
    );
    const out = await removeConsecutiveRepeats(rows, { session: "sid", time: "t", column: "item" });
    expect(await column(out, "t", "sid, t")).toEqual([1, 1, 3, 4, 6]);
  });
});

describe("splits", () => {
  const events = (): Relation =>
    values(
      "sid, d, item",
      `('s1', DATE '2016-12-30', 1), ('s1', DATE '2017-01-02', 2), ('s2', DATE '2017-01-01', 3),
       ('s3', DATE '2016-06-01', 4), ('s3', DATE '2016-06-02', 5), ('s3', DATE '2016-06-03', 6)`,
    );

  it("timeSplit keeps a session crossing the date whole in train", async () => {
    const split = await timeSplit(events(), { session: "sid", time: "d", date: "2017-01-01" });
    expect(split.counts).toEqual({ train: 5, valid: 1 });
    expect(await column(split.train, "item", "item")).toEqual([1, 2, 4, 5, 6]);
    expect(await column(split.valid, "item", "item")).toEqual([3]);
    expect((await split.train.columns()).map((c) => c.name)).toEqual(["sid", "d", "item"]);
  });

  it("timeSplit fails when a split would be empty, or on a malformed date", async () => {
    await expect(timeSplit(events(), { session: "sid", time: "d", date: "2030-01-01" })).rejects.toThrow(
      /timeSplit: the valid split of the test table has no rows .*"d" runs from 2016-06-01 to 2017-01-02/,
    );
    await expect(timeSplit(events(), { session: "sid", time: "d", date: "2000-01-01" })).rejects.toThrow(
      /the train split of the test table has no rows/,
    );
    await expect(timeSplit(events(), { session: "sid", time: "d", date: "01/01/2017" })).rejects.toThrow(
      'timeSplit: date: expected a date like 2017-01-01 or 2017-01-01 12:00:00, got "01/01/2017"',
    );
    for (const date of ["2017-13-01", "2017-02-30", "2017-01-01 24:00"]) {
      await expect(timeSplit(events(), { session: "sid", time: "d", date })).rejects.toThrow(
        `timeSplit: date: expected a date like 2017-01-01`,
      );
    }
  });

  it("lastItemSplit holds out the last event of each session", async () => {
    const split = await lastItemSplit(events(), { session: "sid", time: "d" });
    expect(await column(split.train, "item", "item")).toEqual([1, 4, 5]);
    expect(await column(split.valid, "item", "item")).toEqual([1, 2, 4, 5, 6]); // s2 has nothing to predict from
    expect(split.counts).toEqual({ train: 3, valid: 5 });
  });
});
