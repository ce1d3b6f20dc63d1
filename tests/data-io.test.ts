// Reading events (CSV / Parquet / JS records), writing Parquet and prepared folders, schema.json: the happy paths
// and every kind of bad input, each of which must name the file, the column and the row.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../lib/data/index";
import { writeDataset } from "../lib/data/index";
import { fromRecords, readEvents, writeParquet } from "../lib/data/index";
import { Relation } from "../lib/data/index";
import { Workflow } from "../lib/data/index";
import { readSchema } from "../lib/data/index";
import { validateSchema } from "../lib/data/index";

let db: Database;
let dir: string;

beforeAll(async () => {
  db = await Database.open({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), "sessionrec-data-io-"));
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function csv(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const COLUMNS = { trip: "VARCHAR", checkin: "DATE", city: "INTEGER" };
const GOOD = "trip,checkin,city,extra\nt1,2017-01-02,10,x\nt1,2017-01-05,11,y\nt2,2016-12-31,10,z\n";

async function plain(relation: Relation): Promise<unknown[]> {
  return JSON.parse(JSON.stringify(await relation.rows(), (_k, v) => (typeof v === "bigint" ? Number(v) : v)));
}

describe("readEvents", () => {
  it("reads the listed columns of a CSV with their types, in that order", async () => {
    const events = await readEvents(db, csv("good.csv", GOOD), {
      columns: { city: "INTEGER", checkin: "DATE", trip: "VARCHAR" },
    });
    expect(await events.columns()).toEqual([
      { name: "city", type: "INTEGER" },
      { name: "checkin", type: "DATE" },
      { name: "trip", type: "VARCHAR" },
    ]);
    expect(await plain(events)).toEqual([
      { city: 10, checkin: "2017-01-02T00:00:00.000Z", trip: "t1" },
      { city: 11, checkin: "2017-01-05T00:00:00.000Z", trip: "t1" },
      { city: 10, checkin: "2016-12-31T00:00:00.000Z", trip: "t2" },
    ]);
    expect(events.label).toContain("good.csv");
  });

  it("keeps every column, with sniffed types, when none are listed", async () => {
    const events = await readEvents(db, csv("all.csv", GOOD));
    expect((await events.columns()).map((c) => `${c.name}:${c.type}`)).toEqual([
      "trip:VARCHAR",
      "checkin:DATE",
      "city:BIGINT",
      "extra:VARCHAR",
    ]);
  });

  it("parses dates with a given format", async () => {
    const file = csv("format.csv", "trip,checkin,city\nt1,02/01/2017,10\n");
    const events = await readEvents(db, file, { columns: COLUMNS, dateFormat: "%d/%m/%Y" });
    expect(await plain(events)).toEqual([{ trip: "t1", checkin: "2017-01-02T00:00:00.000Z", city: 10 }]);
  });

  it("reads Parquet, converting text dates to the listed type", async () => {
    const file = join(dir, "events.parquet");
    await db.run(
      `COPY (SELECT 't1' AS trip, '2017-01-02' AS checkin, 10::BIGINT AS city) TO '${file}' (FORMAT parquet)`,
    );
    const events = await readEvents(db, file, { columns: COLUMNS });
    expect(await events.columns()).toEqual([
      { name: "trip", type: "VARCHAR" },
      { name: "checkin", type: "DATE" },
      { name: "city", type: "INTEGER" },
    ]);
    expect(await plain(events)).toEqual([{ trip: "t1", checkin: "2017-01-02T00:00:00.000Z", city: 10 }]);
  });

  it("names the row, column and value of an unparseable date (CSV and Parquet)", async () => {
    const file = csv("bad-date.csv", "trip,checkin,city\nt1,2017-01-02,10\nt1,2017-13-45,11\nt2,2017-01-03,12\n");
    await expect(readEvents(db, file, { columns: COLUMNS })).rejects.toThrow(
      `${file}: row 2 (line 3), column "checkin": cannot read "2017-13-45" as DATE`,
    );
    const parquet = join(dir, "bad-date.parquet");
    await db.run(
      `COPY (SELECT * FROM (VALUES ('t1', '2017-01-02', 1), ('t1', 'soon', 2)) AS v(trip, checkin, city)) TO '${parquet}' (FORMAT parquet)`,
    );
    await expect(readEvents(db, parquet, { columns: COLUMNS })).rejects.toThrow(
      `${parquet}: row 2, column "checkin": cannot read "soon" as DATE`,
    );
  });

  it("names an unparseable number", async () => {
    const file = csv("bad-number.csv", "trip,checkin,city\nt1,2017-01-02,ten\n");
    await expect(readEvents(db, file, { columns: COLUMNS })).rejects.toThrow(
      `${file}: row 1 (line 2), column "city": cannot read "ten" as INTEGER`,
    );
  });

  it("names missing columns and lists the ones there are", async () => {
    const file = csv("missing.csv", "trip,checkin\nt1,2017-01-02\n");
    await expect(readEvents(db, file, { columns: COLUMNS })).rejects.toThrow(
      `${file}: missing column "city" (the file has: trip, checkin)`,
    );
  });

  it("names a ragged row: which row and line, how many fields against the header's", async () => {
    const short = csv(
      "ragged.csv",
      "trip,checkin,city,extra\nt1,2017-01-02,10,x\nt1,2017-01-05,11\nt2,2016-12-31,10,z\n",
    );
    await expect(readEvents(db, short, { columns: COLUMNS })).rejects.toThrow(
      `${short}: row 2 (line 3) has 3 fields, but the header has 4`,
    );
    const long = csv("long-row.csv", "trip,checkin,city\nt1,2017-01-02,10\nt1,2017-01-05,11,oops\n");
    await expect(readEvents(db, long, { columns: COLUMNS })).rejects.toThrow(
      `${long}: row 2 (line 3) has 4 fields, but the header has 3`,
    );
    // Far down a big file the sniffer has seen only good rows, and the typed read is what fails.
    const rows = Array.from({ length: 5000 }, (_, i) => `t${i},2017-01-02,${i},x`);
    rows[4200] = "t4200,2017-01-02";
    const deep = csv("ragged-deep.csv", `trip,checkin,city,extra\n${rows.join("\n")}\n`);
    await expect(readEvents(db, deep, { columns: COLUMNS })).rejects.toThrow(
      `${deep}: row 4201 (line 4202) has 2 fields, but the header has 4`,
    );
    await expect(readEvents(db, deep)).rejects.toThrow(
      `${deep}: row 4201 (line 4202) has 2 fields, but the header has 4`,
    );
  });

  it("rejects an empty file, a header without rows, a missing path and a folder", async () => {
    const empty = csv("empty.csv", "");
    await expect(readEvents(db, empty, { columns: COLUMNS })).rejects.toThrow(`${empty}: the file is empty`);
    const header = csv("header.csv", "trip,checkin,city\n");
    await expect(readEvents(db, header, { columns: COLUMNS })).rejects.toThrow(
      `${header}: no data rows (only a header line)`,
    );
    const nowhere = join(dir, "nowhere.csv");
    await expect(readEvents(db, nowhere)).rejects.toThrow(`${nowhere}: no such file`);
    await expect(readEvents(db, dir)).rejects.toThrow(`${dir}: is a folder`);
  });

  it("names the first row missing a required value", async () => {
    const file = csv("nulls.csv", "trip,checkin,city\nt1,2017-01-02,10\n,2017-01-03,11\n");
    await expect(readEvents(db, file, { columns: COLUMNS, notNull: ["trip"] })).rejects.toThrow(
      `${file}: row 2 (line 3), column "trip": is empty (a value is required)`,
    );
  });

  it("names a timestamp that does not match the given format", async () => {
    const file = csv("bad-time.csv", "trip,at\nt1,02/01/2017 10:00\nt1,2017-01-02 11:00\n");
    await expect(
      readEvents(db, file, { columns: { trip: "VARCHAR", at: "TIMESTAMP" }, timestampFormat: "%d/%m/%Y %H:%M" }),
    ).rejects.toThrow(
      `${file}: row 2 (line 3), column "at": cannot read "2017-01-02 11:00" as TIMESTAMP with format %d/%m/%Y %H:%M`,
    );
  });

  it("names the first row whose end is before its start, with both columns (CSV and Parquet)", async () => {
    const columns = { trip: "VARCHAR", checkin: "DATE", checkout: "DATE" };
    const ordered = [{ start: "checkin", end: "checkout" }];
    const text =
      "trip,checkin,checkout\nt1,2017-01-02,2017-01-02\nt1,2017-01-05,2017-01-04\nt2,2017-01-03,2016-01-01\n";
    const file = csv("backwards.csv", text);
    await expect(readEvents(db, file, { columns, ordered })).rejects.toThrow(
      `${file}: row 2 (line 3), "checkout" (2017-01-04) is before "checkin" (2017-01-05)`,
    );
    const parquet = join(dir, "backwards.parquet");
    await db.run(
      `COPY (SELECT * FROM read_csv('${file}', header = true, all_varchar = true)) TO '${parquet}' (FORMAT parquet)`,
    );
    await expect(readEvents(db, parquet, { columns, ordered })).rejects.toThrow(
      `${parquet}: row 2, "checkout" (2017-01-04) is before "checkin" (2017-01-05)`,
    );
    expect(await (await readEvents(db, file, { columns })).count()).toBe(3); // without the rule, read as it is
    await expect(
      readEvents(db, file, { columns: { trip: "VARCHAR", checkin: "DATE", checkout: "VARCHAR" }, ordered }),
    ).rejects.toThrow('ordered column "checkout" must be read as DATE or TIMESTAMP');
  });

  it("refuses a notNull column that is not read", async () => {
    await expect(
      readEvents(db, csv("nn.csv", GOOD), { columns: { trip: "VARCHAR" }, notNull: ["city"] }),
    ).rejects.toThrow(/notNull column "city" is not one of the columns read/);
  });

  it("refuses a type name that is not one", async () => {
    await expect(
      readEvents(db, csv("t.csv", GOOD), { columns: { trip: "VARCHAR); DROP TABLE x; --" } }),
    ).rejects.toThrow(/is not a DuckDB type name/);
  });
});

describe("fromRecords", () => {
  it("builds a typed table from JS objects, Dates included", async () => {
    const events = await fromRecords(
      db,
      [
        { trip: "t1", checkin: new Date(Date.UTC(2017, 0, 2)), city: 10 },
        { trip: "t1", checkin: "2017-01-03", city: null },
      ],
      COLUMNS,
    );
    expect(await plain(events)).toEqual([
      { trip: "t1", checkin: "2017-01-02T00:00:00.000Z", city: 10 },
      { trip: "t1", checkin: "2017-01-03T00:00:00.000Z", city: null },
    ]);
  });

  it("names the record and column at fault", async () => {
    await expect(fromRecords(db, [{ trip: "t1", checkin: "2017-01-02" }], COLUMNS, "live session")).rejects.toThrow(
      'live session: record 0 has no "city" (needed: trip, checkin, city)',
    );
    await expect(
      fromRecords(
        db,
        [
          { trip: "t1", checkin: "2017-01-02", city: 1 },
          { trip: "t1", checkin: "tomorrow", city: 2 },
        ],
        COLUMNS,
        "live session",
      ),
    ).rejects.toThrow('live session: record 1, column "checkin": cannot read "tomorrow" as DATE');
    await expect(fromRecords(db, [], COLUMNS)).rejects.toThrow("records: expected at least one record");
  });
});

describe("atomic writes", () => {
  it("writeParquet leaves nothing behind when the query fails", async () => {
    const out = join(dir, "atomic");
    mkdirSync(out);
    const failing = new Relation(db, "SELECT CAST(x AS INTEGER) AS y FROM (VALUES ('1'), ('oops')) AS v(x)", "failing");
    await expect(writeParquet(failing, join(out, "x.parquet"))).rejects.toThrow();
    expect(readdirSync(out)).toEqual([]);
    await writeParquet(new Relation(db, "SELECT 1 AS y", "one"), join(out, "x.parquet"));
    expect(readdirSync(out)).toEqual(["x.parquet"]);
  });

  it("writeDataset keeps an existing folder untouched and leaves no temporary folder when a split is empty", async () => {
    const workflow = new Workflow({
      item: "item_list",
      steps: [
        { op: "categorify", name: "item", columns: ["item"] },
        { op: "groupbySession", session: "sid", time: "t", lists: ["item"] },
      ],
    });
    const train = await workflow.fit(
      new Relation(db, "SELECT * FROM (VALUES ('s', 1, 'a'), ('s', 2, 'b')) AS v(sid, t, item)", "train"),
    );
    const empty = await workflow.transform(
      new Relation(db, "SELECT * FROM (VALUES ('s', 1, 'a')) AS v(sid, t, item) WHERE false", "empty valid"),
    );
    const parent = join(dir, "prepared");
    const out = join(parent, "data");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "schema.json"), "previous run");
    await expect(writeDataset(out, { train, valid: empty }, workflow)).rejects.toThrow(
      `writeDataset(${out}): the valid split has no sessions left after preparation (input: empty valid)`,
    );
    expect(readdirSync(parent)).toEqual(["data"]);
    expect(readdirSync(out)).toEqual(["schema.json"]);
    expect(readFileSync(join(out, "schema.json"), "utf8")).toBe("previous run");

    const written = await writeDataset(out, { train }, workflow);
    expect(readdirSync(out).sort()).toEqual(["schema.json", "train.parquet", "workflow"]);
    expect(written.sessions).toEqual({ train: 1 });
    expect(written.schema.maxLength).toBe(2); // no sliceLast: the longest list
    expect(readdirSync(parent)).toEqual(["data"]);

    // Only a prepared data set (or an empty folder) is replaced: not a folder of other files, not a file.
    const other = join(dir, "not-a-dataset");
    mkdirSync(other);
    writeFileSync(join(other, "notes.txt"), "mine");
    await expect(writeDataset(other, { train }, workflow)).rejects.toThrow(
      `writeDataset(${other}): ${other} holds other files and no schema.json: it is not a prepared data set`,
    );
    expect(readdirSync(other)).toEqual(["notes.txt"]);
    await expect(writeDataset(join(other, "notes.txt"), { train }, workflow)).rejects.toThrow(
      `${join(other, "notes.txt")} is a file, not a folder`,
    );
    const emptyFolder = join(dir, "empty-folder");
    mkdirSync(emptyFolder);
    await writeDataset(emptyFolder, { train }, workflow);
    expect(readdirSync(emptyFolder).sort()).toEqual(["schema.json", "train.parquet", "workflow"]);
  });
});

describe("readSchema", () => {
  const SCHEMA = {
    version: 1,
    sessionId: "session_id",
    item: "item_list",
    maxLength: 3,
    columns: [
      {
        name: "item_list",
        kind: "item",
        list: true,
        dtype: "int32",
        cardinality: 10,
        maxLength: 3,
        vocabulary: "item",
      },
      { name: "price_list", kind: "continuous", list: true, dtype: "float32", maxLength: 3 },
      { name: "n", kind: "count", list: false, dtype: "int32" },
    ],
  };

  function schemaDir(name: string, content: string): string {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "schema.json"), content);
    return d;
  }

  it("reads a valid schema.json", async () => {
    const d = schemaDir("schema-ok", JSON.stringify(SCHEMA));
    expect(await readSchema(d)).toEqual(SCHEMA);
  });

  it("names the file and the field at fault", async () => {
    const file = (d: string): string => join(d, "schema.json");
    const missing = join(dir, "schema-missing");
    await expect(readSchema(missing)).rejects.toThrow(`${file(missing)} not found`);
    const garbled = schemaDir("schema-garbled", "{ not json");
    await expect(readSchema(garbled)).rejects.toThrow(`${file(garbled)}: not valid JSON`);
    const wrongDtype = schemaDir(
      "schema-dtype",
      JSON.stringify({ ...SCHEMA, columns: [SCHEMA.columns[0], { ...SCHEMA.columns[1], dtype: "int32" }] }),
    );
    await expect(readSchema(wrongDtype)).rejects.toThrow(
      `${file(wrongDtype)}: column "price_list": a continuous column must have dtype "float32", got "int32"`,
    );
    const noItem = schemaDir("schema-noitem", JSON.stringify({ ...SCHEMA, columns: SCHEMA.columns.slice(1) }));
    await expect(readSchema(noItem)).rejects.toThrow(
      `${file(noItem)}: expected exactly one column of kind "item", found 0`,
    );
    expect(() => validateSchema({ ...SCHEMA, columns: [{ ...SCHEMA.columns[0], cardinality: 1 }] }, "x.json")).toThrow(
      'x.json: column "item_list": "cardinality" must be an integer >= 2',
    );
    expect(() => validateSchema({ ...SCHEMA, columns: [{ ...SCHEMA.columns[0], maxLength: 4 }] }, "x.json")).toThrow(
      /"maxLength" must be an integer in 1..3/,
    );
  });

  it("the written schema.json of a prepared folder reads back", async () => {
    const written = JSON.parse(readFileSync(join(dir, "prepared", "data", "schema.json"), "utf8"));
    expect(await readSchema(join(dir, "prepared", "data"))).toEqual(written);
  });
});
