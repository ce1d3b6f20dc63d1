// Getting events in and prepared tables out: CSV / TSV / Parquet / JSON lines files → typed DuckDB tables (with errors that name the
// file, the row and the column), JS records → a table (serving), a relation → Parquet (atomically).
import * as fs from "fs";
import type { Database } from "./database";
import { type TimeOrder, endBeforeStart } from "./features";
import { writeFileAtomically } from "./files";
import { Relation } from "./relation";
import { ident, identList, isTemporalType, literal, typeName } from "./sql";

export type FileFormat = "csv" | "tsv" | "parquet" | "jsonl";

export const FILE_FORMATS: readonly FileFormat[] = ["csv", "tsv", "parquet", "jsonl"];

/** The type of a column in `ReadEventsOptions.columns` that keeps whatever type the file gives it. */
export const AUTO_TYPE = "AUTO";

export interface ReadEventsOptions {
  /**
   * Columns to keep, with their DuckDB types ("DATE", "TIMESTAMP", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", …, or
   * `AUTO_TYPE`: the type CSV sniffing or the file gives): each must exist in the file, every value must parse as its
   * type, and the table has exactly these columns, in this order. Default: every column, with the types CSV sniffing
   * or the Parquet / JSON file gives.
   */
  columns?: Record<string, string>;
  /** Columns that need a value on every row (an empty cell is an error naming the row). Default: none. */
  notNull?: string[];
  /**
   * Pairs of DATE / TIMESTAMP columns among `columns` whose `end` may not be before their `start` (a check-out before
   * its check-in): such a row is an error naming the row and both columns. Default: none.
   */
  ordered?: TimeOrder[];
  /** strptime format of DATE columns given as text, e.g. "%d/%m/%Y". Default: ISO (2017-01-31). */
  dateFormat?: string;
  /** strptime format of TIMESTAMP columns given as text, e.g. "%d/%m/%Y %H:%M". Default: ISO (2017-01-31 13:45:00). */
  timestampFormat?: string;
  /** Name of the table to create. Default: a fresh name. */
  table?: string;
  /** How to read the file. Default: `detectFormat`'s answer. */
  format?: FileFormat;
}

/**
 * "parquet" when the file starts with Parquet's magic bytes; else by extension: .tsv / .tab → "tsv", .jsonl / .ndjson /
 * .json → "jsonl" (one JSON object per line); anything else "csv" (CSV and TSV files need a header line).
 */
export function detectFormat(file: string): FileFormat {
  const magic = Buffer.alloc(4);
  const fd = fs.openSync(file, "r");
  try {
    fs.readSync(fd, magic, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (magic.toString("latin1") === "PAR1") return "parquet";
  const extension = /\.([A-Za-z]+)$/.exec(file)?.[1]?.toLowerCase();
  if (extension === "tsv" || extension === "tab") return "tsv";
  if (extension === "jsonl" || extension === "ndjson" || extension === "json") return "jsonl";
  return "csv";
}

/**
 * Reads a CSV or TSV (with a header line), Parquet or JSON lines file of events into a new temporary table, parsed and
 * typed once, and returns it. Errors name the file, and where it applies the column, the row (rows count from 1 after
 * the header; CSV / TSV errors also give the line; a JSON line's row is its line) and the offending value.
 */
export async function readEvents(db: Database, file: string, options: ReadEventsOptions = {}): Promise<Relation> {
  checkReadableFile(file);
  const format = options.format ?? detectFormat(file);
  if (!FILE_FORMATS.includes(format)) throw new Error(`readEvents(${file}): format must be one of ${FILE_FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
  const source = new EventSource(file, format, options);
  // CSV: the header as text columns (types come later, from `options.columns`); Parquet: the file's own types.
  let described: Record<string, unknown>[];
  try {
    described = await db.rows(`DESCRIBE SELECT * FROM ${source.scan(source.isText)}`);
  } catch (error) {
    await source.throwFirstMalformedRow(db);
    throw new Error(`${file}: cannot read it as ${format.toUpperCase()}: ${firstLine(error)}`);
  }
  const available = described.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  const availableNames = available.map((c) => c.name);
  const wanted = options.columns ? Object.keys(options.columns) : availableNames;
  const notNull = options.notNull ?? [];
  const missing = [...wanted, ...notNull].filter((name) => !availableNames.includes(name));
  if (missing.length > 0) {
    // A ragged row can make the CSV sniffer miss the delimiter, and then the whole header reads as one column.
    await source.throwFirstMalformedRow(db);
    throw new Error(`${file}: missing column ${[...new Set(missing)].map((m) => `"${m}"`).join(", ")} (the file has: ${availableNames.join(", ")})`);
  }
  const unread = notNull.filter((name) => !wanted.includes(name));
  if (unread.length > 0) throw new Error(`readEvents(${file}): notNull column "${unread[0]}" is not one of the columns read`);
  const ordered = options.ordered ?? [];
  for (const column of ordered.flatMap((order) => [order.start, order.end])) {
    if (!isTemporalType(source.declaredType(column) ?? "")) throw new Error(`readEvents(${file}): ordered column "${column}" must be read as DATE or TIMESTAMP`);
  }

  const table = options.table ?? db.uniqueName("events");
  const sourceTypes = new Map(available.map((c) => [c.name, c.type]));
  const selectList = wanted.map((name) => source.typedColumn(name, sourceTypes.get(name) as string)).join(", ");
  try {
    const unused = availableNames.filter((name) => !wanted.includes(name));
    await db.run(`CREATE OR REPLACE TEMP TABLE ${ident(table)} AS SELECT ${selectList} FROM ${source.scan(false, unused)}`);
  } catch (error) {
    await source.throwFirstMalformedRow(db);
    await source.throwFirstBadRow(db, wanted, sourceTypes, [], []);
    throw new Error(`${file}: cannot read it as ${format.toUpperCase()}: ${firstLine(error)}`);
  }

  const counts = await db.row(
    `SELECT count(*) AS n${notNull.map((c, i) => `, count(*) FILTER (WHERE ${ident(c)} IS NULL) AS null_${i}`).join("")}
     ${ordered.map((o, i) => `, count(*) FILTER (WHERE ${ident(o.end)} < ${ident(o.start)}) AS order_${i}`).join("")} FROM ${ident(table)}`,
  );
  if (Number(counts?.n) === 0) {
    await db.run(`DROP TABLE ${ident(table)}`);
    throw new Error(source.isText ? `${file}: no data rows (only a header line)` : `${file}: the file has no rows`);
  }
  if (notNull.some((_, i) => Number(counts?.[`null_${i}`]) > 0) || ordered.some((_, i) => Number(counts?.[`order_${i}`]) > 0)) {
    await db.run(`DROP TABLE ${ident(table)}`);
    await source.throwFirstBadRow(db, wanted, sourceTypes, notNull, ordered);
    throw new Error(`${file}: empty values or ends before starts`); // not reached: the scan finds the row
  }
  return Relation.table(db, table, file);
}

function checkReadableFile(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new Error(`${file}: no such file`);
  }
  if (stat.isDirectory()) throw new Error(`${file}: is a folder, expected a CSV, TSV, Parquet or JSON lines file`);
  if (stat.size === 0) throw new Error(`${file}: the file is empty (expected a header line and rows of events)`);
}

/** How one input file is scanned, typed and, when that fails, searched for the first row at fault. */
class EventSource {
  constructor(
    readonly file: string,
    readonly format: FileFormat,
    readonly options: ReadEventsOptions,
  ) {}

  /** CSV or TSV: cells are text until typed (and rows have line numbers one past them, after the header). */
  get isText(): boolean {
    return this.format === "csv" || this.format === "tsv";
  }

  declaredType(name: string): string | undefined {
    const type = this.options.columns?.[name];
    return type === undefined || type === AUTO_TYPE ? undefined : typeName(type, `${this.file}: type of column "${name}"`);
  }

  /**
   * The table function reading the file. `raw`: CSV cells as text (no parsing), single-threaded in file order.
   * `unused`: CSV columns read as text, so that a column nobody asked for can never fail to parse.
   */
  scan(raw: boolean, unused: string[] = []): string {
    if (this.format === "parquet") return `read_parquet(${literal(this.file)}${raw ? ", file_row_number = true" : ""})`;
    if (this.format === "jsonl") return `read_json(${literal(this.file)}, format = 'newline_delimited')`;
    const settings = ["header = true", ...(this.format === "tsv" ? ["delim = '\\t'"] : [])];
    if (raw) settings.push("all_varchar = true", "parallel = false");
    else {
      const declared = [
        ...Object.keys(this.options.columns ?? {}).flatMap((name) => {
          const type = this.declaredType(name);
          return type === undefined ? [] : [`${literal(name)}: ${literal(type)}`];
        }),
        ...unused.map((name) => `${literal(name)}: 'VARCHAR'`),
      ];
      if (declared.length > 0) settings.push(`types = {${declared.join(", ")}}`);
      if (this.options.dateFormat !== undefined) settings.push(`dateformat = ${literal(this.options.dateFormat)}`);
      if (this.options.timestampFormat !== undefined) settings.push(`timestampformat = ${literal(this.options.timestampFormat)}`);
    }
    return `read_csv(${literal(this.file)}, ${settings.join(", ")})`;
  }

  /** The select item giving column `name` its declared type (CSV columns are typed by the reader itself). */
  typedColumn(name: string, sourceType: string): string {
    const declared = this.declaredType(name);
    if (this.isText || declared === undefined || declared === sourceType) return ident(name);
    return `${this.parse(ident(name), sourceType, declared, false)} AS ${ident(name)}`;
  }

  /** SQL converting `expr` (of `sourceType`) to `type`; `tolerant`: NULL instead of an error when it cannot. */
  private parse(expr: string, sourceType: string, type: string, tolerant: boolean): string {
    const format = this.formatOf(type);
    if (format !== undefined && sourceType === "VARCHAR") {
      return `CAST(${tolerant ? "try_strptime" : "strptime"}(${expr}, ${literal(format)}) AS ${type})`;
    }
    return `${tolerant ? "TRY_CAST" : "CAST"}(${expr} AS ${type})`;
  }

  /** The strptime format given for a DATE / TIMESTAMP type, if any. */
  private formatOf(type: string): string | undefined {
    return type === "DATE" ? this.options.dateFormat : type.startsWith("TIMESTAMP") ? this.options.timestampFormat : undefined;
  }

  /**
   * CSV only: scans the file for the first line whose fields do not match the header (too few, too many, a broken
   * quote) and throws an error naming its row, line and field count. Returns when every line is well-formed.
   */
  async throwFirstMalformedRow(db: Database): Promise<void> {
    if (!this.isText) return;
    const [rejects, scans] = [db.uniqueName("csv_rejects"), db.uniqueName("csv_reject_scans")];
    let bad: Record<string, unknown> | undefined;
    try {
      // store_rejects reads on past malformed lines and records them (and lets the sniffer ignore them).
      await db.run(
        `SELECT count(*) FROM read_csv(${literal(this.file)}, header = true, all_varchar = true, parallel = false,${this.format === "tsv" ? " delim = '\\t'," : ""}
           store_rejects = true, rejects_table = ${literal(rejects)}, rejects_scan = ${literal(scans)})`,
      );
      bad = await db.row(`SELECT line, error_type, error_message FROM ${ident(rejects)} ORDER BY line LIMIT 1`);
    } catch {
      return; // not even readable line by line: the caller's own error says so
    } finally {
      await db.run(`DROP TABLE IF EXISTS ${ident(rejects)}; DROP TABLE IF EXISTS ${ident(scans)}`);
    }
    if (bad === undefined) return;
    const line = Number(bad.line);
    const at = `row ${line - 1} (line ${line})`;
    const counts = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(String(bad.error_message));
    if ((bad.error_type === "MISSING COLUMNS" || bad.error_type === "TOO MANY COLUMNS") && counts !== null) {
      const [expected, found] = [Number(counts[1]), Number(counts[2])];
      throw new Error(`${this.file}: ${at} has ${found} field${found === 1 ? "" : "s"}, but the header has ${expected}`);
    }
    throw new Error(`${this.file}: ${at}: ${firstLine(String(bad.error_message))}`);
  }

  /**
   * Scans the raw file in order for the first row where a declared column does not parse, a `notNull` column is
   * empty or an `ordered` pair ends before it starts, and throws an error describing it. Returns when no such row exists.
   */
  async throwFirstBadRow(db: Database, columns: string[], sourceTypes: Map<string, string>, notNull: string[], ordered: TimeOrder[]): Promise<void> {
    /** `describe` gets the raw values of `columns`, as text. */
    const checks: { columns: string[]; sql: string; describe: (values: string[]) => string }[] = [];
    const parsed = (column: string, tolerant: boolean): string => {
      const rawType = this.isText ? "VARCHAR" : (sourceTypes.get(column) as string);
      return this.parse(ident(column), rawType, this.declaredType(column) as string, tolerant);
    };
    for (const column of columns) {
      const declared = this.declaredType(column);
      if (declared === undefined) continue;
      const format = this.formatOf(declared);
      const how = format === undefined ? "" : ` with format ${format}`;
      checks.push({
        columns: [column],
        sql: `${ident(column)} IS NOT NULL AND ${parsed(column, true)} IS NULL`,
        describe: ([value]) => `column "${column}": cannot read ${JSON.stringify(value)} as ${declared}${how}`,
      });
    }
    for (const column of notNull) {
      checks.push({ columns: [column], sql: `${ident(column)} IS NULL`, describe: () => `column "${column}": is empty (a value is required)` });
    }
    for (const order of ordered) {
      checks.push({
        columns: [order.start, order.end],
        sql: `${parsed(order.end, true)} < ${parsed(order.start, true)}`,
        describe: ([start, end]) => endBeforeStart(order, start, end),
      });
    }
    if (checks.length === 0) return;

    // A JSON lines file is read in order by one thread at these sizes; its row is its line.
    const rowNumber = this.format === "parquet" ? "file_row_number + 1" : "row_number() OVER ()";
    const read = [...new Set(checks.flatMap((c) => c.columns))];
    const bad = await db.row(
      `SELECT __row, ${checks.map((check, i) => `(${check.sql}) AS bad_${i}`).join(", ")}, ${read.map((c, k) => `CAST(${ident(c)} AS VARCHAR) AS value_${k}`).join(", ")}
       FROM (SELECT ${rowNumber} AS __row, ${identList(read)} FROM ${this.scan(true)}) AS t
       WHERE ${checks.map((check) => `(${check.sql})`).join(" OR ")}
       ORDER BY __row LIMIT 1`,
    );
    if (bad === undefined) return;
    const row = Number(bad.__row);
    const at = this.isText ? `row ${row} (line ${row + 1})` : this.format === "jsonl" ? `line ${row}` : `row ${row}`;
    const check = checks[checks.findIndex((_, k) => bad[`bad_${k}`] === true)];
    throw new Error(`${this.file}: ${at}, ${check.describe(check.columns.map((c) => String(bad[`value_${read.indexOf(c)}`])))}`);
  }
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0];
}

/**
 * A table from JS records (e.g. the events of one live session, for serving), with the given DuckDB column types.
 * Every record needs every column (null is allowed and reads as NULL); Date objects are accepted for DATE and
 * TIMESTAMP columns (taken in UTC). Errors name `label`, the record (counting from 0) and the column.
 */
export async function fromRecords(
  db: Database,
  records: readonly Record<string, unknown>[],
  columns: Record<string, string>,
  label = "records",
): Promise<Relation> {
  if (!Array.isArray(records) || records.length === 0) throw new Error(`${label}: expected at least one record`);
  const names = Object.keys(columns);
  const types = names.map((name) => typeName(columns[name], `${label}: type of column "${name}"`));
  const rows = records.map((record, i) => {
    if (typeof record !== "object" || record === null) throw new Error(`${label}: record ${i} is not an object`);
    return Object.fromEntries(
      names.map((name, c) => {
        if (!(name in record) || record[name] === undefined) throw new Error(`${label}: record ${i} has no "${name}" (needed: ${names.join(", ")})`);
        return [name, jsonValue(record[name], types[c])];
      }),
    );
  });
  const structType = JSON.stringify([Object.fromEntries(names.map((name) => [name, "VARCHAR"]))]);
  const raw = db.uniqueName("records_raw");
  await db.run(
    `CREATE TEMP TABLE ${ident(raw)} AS SELECT unnest(range(len(l))) AS __record, unnest(l, recursive := true)
     FROM (SELECT from_json(?, ${literal(structType)}) AS l)`,
    [JSON.stringify(rows)],
  );
  try {
    const checks = names.map((name, c) => `${ident(name)} IS NOT NULL AND TRY_CAST(${ident(name)} AS ${types[c]}) IS NULL`);
    const bad = await db.row(
      `SELECT __record, ${names.map((name, c) => `(${checks[c]}) AS bad_${c}, ${ident(name)} AS value_${c}`).join(", ")}
       FROM ${ident(raw)} WHERE ${checks.map((check) => `(${check})`).join(" OR ")} ORDER BY __record LIMIT 1`,
    );
    if (bad !== undefined) {
      const c = names.findIndex((_, k) => bad[`bad_${k}`] === true);
      throw new Error(`${label}: record ${Number(bad.__record)}, column "${names[c]}": cannot read ${JSON.stringify(bad[`value_${c}`])} as ${types[c]}`);
    }
    const table = db.uniqueName("records");
    await db.run(
      `CREATE TEMP TABLE ${ident(table)} AS SELECT ${names.map((name, c) => `CAST(${ident(name)} AS ${types[c]}) AS ${ident(name)}`).join(", ")}
       FROM ${ident(raw)} ORDER BY __record`,
    );
    return Relation.table(db, table, label);
  } finally {
    await db.run(`DROP TABLE ${ident(raw)}`);
  }
}

/** A JS value as JSON DuckDB will cast to `type`: Dates in UTC ISO form, bigints as text. */
function jsonValue(value: unknown, type: string): unknown {
  if (value instanceof Date) {
    const iso = value.toISOString();
    return type === "DATE" ? iso.slice(0, 10) : iso.slice(0, 23).replace("T", " ");
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

export interface WriteParquetOptions {
  /** Parquet compression codec. Default "zstd". */
  compression?: "zstd" | "snappy" | "uncompressed";
}

/** Writes a relation to a Parquet file atomically (temporary file in the same folder, then rename). */
export async function writeParquet(relation: Relation, file: string, options: WriteParquetOptions = {}): Promise<void> {
  const compression = options.compression ?? "zstd";
  await writeFileAtomically(file, (temporary) =>
    relation.db.run(`COPY (${relation.sql}) TO ${literal(temporary)} (FORMAT parquet, COMPRESSION ${compression})`),
  );
}
