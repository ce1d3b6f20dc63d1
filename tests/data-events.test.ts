// prepareEvents on the hand-countable clickstream (tests/fixtures/clickstream/clicks.csv): every number checked here
// is derived by hand in tests/helpers/clickstream.ts.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type EventsRecipeInput,
  Workflow,
  checkEventsRecipe,
  prepareEvents,
  sessionWorkflow,
  withDatabase,
} from "../lib/data";
import { encodeSessions } from "../lib/data/live";
import { readSchema } from "../lib/data/index";
import {
  BY_DATE,
  BY_DATE_WITH_VALIDATION,
  CLEANING,
  CLICKSTREAM_ROWS,
  CLICKSTREAM_SESSIONS,
  LAST_DAY,
  LAST_QUARTER,
  LEAVE_ONE_OUT,
  LEAVE_ONE_OUT_WITH_VALIDATION,
  SESSIONS_AT_GAP,
} from "./helpers/clickstream";
import { splitRows } from "./helpers/tables-fixtures";

const FIXTURE = join(import.meta.dirname, "fixtures", "clickstream", "clicks.csv");
const COLUMNS = { item: "item_id", time: "timestamp", user: "user_id", categorical: ["device"] };
const work = mkdtempSync(join(tmpdir(), "sessionrec-events-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let next = 0;
const outDir = (): string => join(work, `out-${next++}`);
const recipe = (extra: Partial<EventsRecipeInput>): EventsRecipeInput => ({
  input: FIXTURE,
  columns: COLUMNS,
  split: BY_DATE.split,
  ...extra,
});

/** Writes `sql` (a query over the fixture, `fixture`) to `file` in `format` with DuckDB. */
async function writeVariant(
  file: string,
  select: string,
  format: "csv" | "tsv" | "parquet" | "jsonl",
): Promise<string> {
  const options = {
    csv: "FORMAT csv, HEADER",
    tsv: "FORMAT csv, HEADER, DELIMITER '\t'",
    parquet: "FORMAT parquet",
    jsonl: "FORMAT json",
  }[format];
  await withDatabase(async (db) => {
    await db.run(
      `COPY (SELECT ${select} FROM read_csv('${FIXTURE}', header = true, all_varchar = true)) TO '${file}' (${options})`,
    );
  });
  return file;
}

describe("prepareEvents on the clickstream fixture", () => {
  it("cuts sessions at the 30-minute gap, cleans in GRU4Rec's order and splits by date", async () => {
    const dir = outDir();
    const prepared = await prepareEvents(recipe({}), { outDir: dir });
    expect(prepared.counts.events).toBe(CLICKSTREAM_ROWS);
    expect(prepared.counts.sessions).toBe(CLICKSTREAM_SESSIONS);
    expect(prepared.counts.dropped).toEqual(CLEANING.dropped);
    expect(prepared.counts.kept).toEqual(CLEANING.kept);
    expect(prepared.counts.splits).toEqual(BY_DATE.splits);
    expect(prepared.workflow.vocabulary("item").values).toEqual(BY_DATE.items);
    expect(prepared.workflow.vocabulary("device").values).toEqual(BY_DATE.devices);
    expect(await splitRows(dir, "train")).toEqual(BY_DATE.train);
    expect(await splitRows(dir, "test")).toEqual(BY_DATE.test);
    expect(readdirSync(dir).sort()).toEqual(["schema.json", "test.parquet", "train.parquet", "workflow"]);
    const schema = await readSchema(dir);
    expect(schema).toEqual(prepared.schema);
    expect(schema.item).toBe("item_id_list");
    expect(schema.maxLength).toBe(4); // S1, the longest session
    expect(schema.columns.map((c) => [c.name, c.kind, c.cardinality])).toEqual([
      ["item_id_list", "item", 7],
      ["device_list", "categorical", 4],
      ["length", "count", undefined],
    ]);
  });

  it("encodes live sessions (serving) from item, time and features alone: the file row stands in as the array order", async () => {
    const dir = outDir();
    await prepareEvents(recipe({}), { outDir: dir });
    const workflow = await Workflow.load(join(dir, "workflow"));
    const at = "2024-03-05 10:00:00"; // two events at the same time: their order in the array decides
    const sessions = [
      [
        { item_id: "hat", device: "mobile", timestamp: at },
        { item_id: "shoes", device: "desktop", timestamp: at },
      ],
      [
        { item_id: "shoes", device: "desktop", timestamp: at },
        { item_id: "hat", device: "mobile", timestamp: at },
      ],
    ];
    // BY_DATE's ids: hat 4, shoes 3; mobile 2, desktop 3.
    expect(encodeSessions(workflow, sessions).map((s) => [s.item_id_list, s.device_list])).toEqual([
      [
        [4, 3],
        [2, 3],
      ],
      [
        [3, 4],
        [3, 2],
      ],
    ]);
    expect(() => encodeSessions(workflow, [[{ item_id: "hat", device: "mobile" }]])).toThrow(
      'live session 0, event 0: no "timestamp" (each event needs "item_id", "device", "timestamp")',
    );
  });

  it("cuts at gaps longer than gapMinutes only", async () => {
    for (const gapMinutes of [29, 31] as const) {
      const prepared = await prepareEvents(recipe({ gapMinutes }), { outDir: outDir() });
      expect(prepared.counts.sessions, `gap ${gapMinutes}`).toBe(SESSIONS_AT_GAP[gapMinutes]);
    }
  });

  it("carves validation from train the same way", async () => {
    const dir = outDir();
    const prepared = await prepareEvents(recipe({ validation: BY_DATE_WITH_VALIDATION.validation }), { outDir: dir });
    expect(prepared.counts.splits).toEqual(BY_DATE_WITH_VALIDATION.splits);
    expect(prepared.workflow.vocabulary("item").values).toEqual(BY_DATE_WITH_VALIDATION.items);
    expect(await splitRows(dir, "valid")).toEqual(BY_DATE_WITH_VALIDATION.valid);
  });

  it("splits by the last N days and by the last fraction of sessions", async () => {
    const lastDay = await prepareEvents(recipe({ split: LAST_DAY.split }), { outDir: outDir() });
    expect(lastDay.counts.splits).toEqual(LAST_DAY.splits);
    expect(lastDay.workflow.vocabulary("item").values).toEqual(LAST_DAY.items);
    const quarter = await prepareEvents(recipe({ split: LAST_QUARTER.split }), { outDir: outDir() });
    expect(quarter.counts.splits).toEqual(LAST_QUARTER.splits);
  });

  it("leaves each user's last event out, keeping unseen targets as out-of-vocabulary", async () => {
    const dir = outDir();
    const prepared = await prepareEvents(recipe({ split: LEAVE_ONE_OUT.split }), { outDir: dir });
    expect(prepared.counts.dropped).toEqual(LEAVE_ONE_OUT.dropped);
    expect(prepared.counts.kept).toEqual(LEAVE_ONE_OUT.kept);
    expect(prepared.counts.splits).toEqual(LEAVE_ONE_OUT.splits);
    expect(prepared.workflow.vocabulary("item").values).toEqual(LEAVE_ONE_OUT.items);
    expect((await splitRows(dir, "test")).map((row) => row[row.length - 1])).toEqual(LEAVE_ONE_OUT.testTargets);
    expect(prepared.workflow.steps.map((s) => s.op)).not.toContain("dropOutOfVocabulary");
    const twice = await prepareEvents(
      recipe({ split: LEAVE_ONE_OUT.split, validation: LEAVE_ONE_OUT_WITH_VALIDATION.validation }),
      { outDir: outDir() },
    );
    expect(twice.counts.splits).toEqual(LEAVE_ONE_OUT_WITH_VALIDATION.splits);
  });

  it("reads each time format: ISO without a zone as UTC, epoch seconds, epoch milliseconds", async () => {
    const utc = "strftime(CAST(\"timestamp\" AS TIMESTAMPTZ), '%Y-%m-%d %H:%M:%S')";
    const variants = [
      { timeUnit: "iso", select: `user_id, ${utc} AS "timestamp", item_id, device` },
      { timeUnit: "s", select: `user_id, epoch(CAST("timestamp" AS TIMESTAMPTZ)) AS "timestamp", item_id, device` },
      { timeUnit: "ms", select: `user_id, epoch_ms(CAST("timestamp" AS TIMESTAMPTZ)) AS "timestamp", item_id, device` },
    ] as const;
    for (const variant of variants) {
      const input = await writeVariant(join(work, `time-${variant.timeUnit}.csv`), variant.select, "csv");
      const dir = outDir();
      const prepared = await prepareEvents(recipe({ input, timeUnit: variant.timeUnit }), { outDir: dir });
      expect(prepared.counts.splits, variant.timeUnit).toEqual(BY_DATE.splits);
      expect(await splitRows(dir, "train"), variant.timeUnit).toEqual(BY_DATE.train);
      expect(await splitRows(dir, "test"), variant.timeUnit).toEqual(BY_DATE.test);
    }
  });

  it("reads TSV, Parquet and JSON lines (by extension or by format) like the CSV", async () => {
    const inputs = [
      { file: "clicks.tsv", format: "tsv" },
      { file: "clicks.parquet", format: "parquet" },
      { file: "clicks.jsonl", format: "jsonl" },
      { file: "clicks-tsv.txt", format: "tsv", explicit: true },
    ] as const;
    for (const { file, format, ...rest } of inputs) {
      const input = await writeVariant(join(work, file), "*", format);
      const dir = outDir();
      const prepared = await prepareEvents(recipe({ input, ...("explicit" in rest ? { format } : {}) }), {
        outDir: dir,
      });
      expect(prepared.counts.kept, file).toEqual(CLEANING.kept);
      expect(await splitRows(dir, "train"), file).toEqual(BY_DATE.train);
      expect(await splitRows(dir, "test"), file).toEqual(BY_DATE.test);
    }
  });

  it("writes continuous features as z-scored list columns, fitted on train", async () => {
    // price 10 on mobile, 20 on desktop. BY_DATE's train events are 11 mobile and 10 desktop (tests/helpers/clickstream.ts),
    // but the statistics are fitted on the events as they reach the step: S5's "shoes shoes" (mobile) has lost its repeat.
    const input = await writeVariant(
      join(work, "prices.csv"),
      `*, CASE device WHEN 'mobile' THEN 10 ELSE 20 END AS price`,
      "csv",
    );
    const dir = outDir();
    const prepared = await prepareEvents(recipe({ input, columns: { ...COLUMNS, continuous: ["price"] } }), {
      outDir: dir,
    });
    const mean = (10 * 10 + 10 * 20) / 20; // 15
    const std = Math.sqrt((10 * (10 - mean) ** 2 + 10 * (20 - mean) ** 2) / 19); // sample deviation
    const fitted = prepared.workflow.normalization("price");
    expect(fitted.mean).toBeCloseTo(mean, 12);
    expect(fitted.std).toBeCloseTo(std, 12);
    expect(prepared.schema.columns.find((c) => c.name === "price_list")).toEqual({
      name: "price_list",
      kind: "continuous",
      list: true,
      dtype: "float32",
      maxLength: 4,
    });
    const rows = await withDatabase((db) =>
      db.rows(`SELECT device_list, price_list FROM read_parquet('${join(dir, "train.parquet")}')`),
    );
    for (const row of rows) {
      const devices = row.device_list as number[];
      const prices = row.price_list as number[];
      devices.forEach((device, i) => expect(prices[i]).toBeCloseTo(((device === 2 ? 10 : 20) - mean) / std, 5)); // mobile is id 2
    }
  });

  it("keeps integer item ids as numbers", async () => {
    const ids =
      "CASE item_id WHEN 'shoes' THEN 101 WHEN 'socks' THEN 102 WHEN 'hat' THEN 103 WHEN 'scarf' THEN 104 WHEN 'gloves' THEN 105 WHEN 'belt' THEN 106 ELSE 107 END";
    const input = await writeVariant(
      join(work, "integer-items.csv"),
      `user_id, "timestamp", ${ids} AS item_id, device`,
      "csv",
    );
    const prepared = await prepareEvents(recipe({ input }), { outDir: outDir() });
    // BY_DATE's counts, ties now by number: shoes 101 and gloves 105 (5 each), socks 102 and hat 103 (4 each), scarf 104.
    expect(prepared.workflow.vocabulary("item").values).toEqual([101, 105, 102, 103, 104]);
  });

  it("takes a session column instead of cutting sessions", async () => {
    // The fixture's user as the session: 6 sessions (no gap cut), u3's one after cleaning starts on the 4th.
    const prepared = await prepareEvents(
      recipe({ columns: { item: "item_id", time: "timestamp", session: "user_id" } }),
      { outDir: outDir() },
    );
    expect(prepared.counts.sessions).toBe(6);
    expect(prepared.schema.columns.map((c) => c.name)).toEqual(["item_id_list", "length"]);
  });
});

describe("prepareEvents errors", () => {
  it("names a mapped column the file lacks, with the file's columns", async () => {
    await expect(prepareEvents(recipe({ columns: { ...COLUMNS, item: "sku" } }), { outDir: outDir() })).rejects.toThrow(
      `${FIXTURE}: missing column "sku" (the file has: user_id, timestamp, item_id, device)`,
    );
  });

  it("names the row and value of a time it cannot read", async () => {
    const lines = readFileSync(FIXTURE, "utf8").split("\n");
    lines[5] = lines[5].replace("2024-03-01T10:00:00+02:00", "yesterday");
    const input = join(work, "bad-time.csv");
    writeFileSync(input, lines.join("\n"));
    await expect(prepareEvents(recipe({ input }), { outDir: outDir() })).rejects.toThrow(
      `${input}: row 5 (line 6), column "timestamp": cannot read "yesterday" as an ISO timestamp like 2024-03-01T10:00:00+02:00 (timeUnit "iso")`,
    );
    const jsonl = join(work, "bad-time.jsonl");
    const event = (time: string): string =>
      JSON.stringify({ user_id: "u1", timestamp: time, item_id: "hat", device: "mobile" });
    writeFileSync(
      jsonl,
      [event("2024-03-01T09:00:00Z"), event("2024-03-01T09:01:00Z"), event("soon")].join("\n") + "\n",
    );
    await expect(prepareEvents(recipe({ input: jsonl }), { outDir: outDir() })).rejects.toThrow(
      `${jsonl}: line 3, column "timestamp": cannot read "soon" as an ISO timestamp`,
    );
    await expect(prepareEvents(recipe({ timeUnit: "s" }), { outDir: outDir() })).rejects.toThrow(
      `${FIXTURE}: row 1 (line 2), column "timestamp": cannot read "2024-03-01T09:00:00Z" as epoch seconds (timeUnit "s")`,
    );
  });

  it("says which split a split setting leaves empty", async () => {
    await expect(
      prepareEvents(recipe({ split: { by: "date", date: "2024-04-01" } }), { outDir: outDir() }),
    ).rejects.toThrow(
      /prepareEvents: timeSplit: the test split of .*clicks.csv has no rows \(sessions starting before 2024-04-01 go to train, the others to test; "timestamp" runs from 2024-03-01 08:00:00 to 2024-03-04 11:03:00\)/,
    );
    await expect(prepareEvents(recipe({ split: { by: "lastDays", days: 10 } }), { outDir: outDir() })).rejects.toThrow(
      /the train split of .* has no rows/,
    );
    await expect(
      prepareEvents(recipe({ split: { by: "fraction", fraction: 0.01 } }), { outDir: outDir() }),
    ).rejects.toThrow("prepareEvents: a fraction of 0.01 of 13 sessions is 0: both parts need at least one session");
  });

  it("checks the recipe with errors naming the key", () => {
    expect(() => checkEventsRecipe({ ...recipe({}), colums: {} })).toThrow("events recipe: colums: unknown key");
    expect(() => checkEventsRecipe(recipe({ filters: { minItemSupport: "5" as never } }))).toThrow(
      "events recipe: filters.minItemSupport: Invalid input: expected number, received string",
    );
    expect(() => checkEventsRecipe(recipe({ columns: { item: "item_id", time: "timestamp" } }))).toThrow(
      'events recipe: columns: give a "session" column, or a "user" column',
    );
    expect(() =>
      checkEventsRecipe(recipe({ columns: { item: "i", time: "t", session: "s" }, split: { by: "leaveOneOut" } })),
    ).toThrow("events recipe: columns.user: leaveOneOut needs a user column");
    expect(() => checkEventsRecipe(recipe({ split: { by: "date", date: "2024-02-30" } }))).toThrow(
      "events recipe: split.date: expected a date like 2024-03-01",
    );
    expect(() => checkEventsRecipe(recipe({ split: { by: "fraction", fraction: 1.5 } }))).toThrow(
      "events recipe: split.fraction: ",
    );
    expect(() => checkEventsRecipe(recipe({ validation: { by: "date", date: "2024-03-05" } }))).toThrow(
      "events recipe: validation.date: must come before split.date (2024-03-04)",
    );
    expect(() => checkEventsRecipe(recipe({ columns: { ...COLUMNS, categorical: ["item_id"] } }))).toThrow(
      'events recipe: columns.categorical.0: "item_id" is already mapped',
    );
    expect(checkEventsRecipe({ recipe: "events", ...recipe({}) }).filters).toEqual({
      minItemSupport: 5,
      minLength: 2,
      removeRepeats: true,
    });
  });

  it("builds the same session workflow the other recipes use", () => {
    const workflow = sessionWorkflow({
      item: "i",
      session: "s",
      time: "t",
      categorical: ["c"],
      continuous: ["x"],
      unseenItems: "drop",
      removeRepeats: true,
      maxLength: 5,
      minLength: 2,
      recipe: "r",
    });
    expect(workflow.steps.map((s) => s.op)).toEqual([
      "categorify",
      "categorify",
      "dropOutOfVocabulary",
      "removeConsecutiveRepeats",
      "normalize",
      "groupbySession",
      "sliceLast",
      "filterMinLength",
    ]);
  });

  it("writes nothing when it fails part way, and leaves an earlier output as it was", async () => {
    const parent = join(work, "failing");
    mkdirSync(parent);
    const dir = join(parent, "prepared");
    // Sessions of 4 or more events (no support filter): S1 (train) and S14 (test); S14 loses belt, unseen in train, and
    // is then too short, so the test split ends empty after train.parquet was written.
    const emptyTest = recipe({ filters: { minLength: 4, minItemSupport: 1 } });
    await expect(prepareEvents(emptyTest, { outDir: dir })).rejects.toThrow(/the test split has no sessions left/);
    expect(readdirSync(parent)).toEqual([]);
    await prepareEvents(recipe({}), { outDir: dir });
    const before = readFileSync(join(dir, "schema.json"), "utf8");
    await expect(prepareEvents(emptyTest, { outDir: dir })).rejects.toThrow(/the test split has no sessions left/);
    expect(readdirSync(parent)).toEqual(["prepared"]);
    expect(readFileSync(join(dir, "schema.json"), "utf8")).toBe(before);
    expect(existsSync(join(dir, "test.parquet"))).toBe(true);
  });
});
