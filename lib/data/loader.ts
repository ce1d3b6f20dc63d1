// Prepared split (Parquet, one row per session; see docs/data-formats.md) → compact typed arrays, read once →
// `SessionBatch`es of tensors built on demand. Only the batch being consumed holds tensors: the consumer disposes it
// with `disposeBatch` before asking for the next, so memory stays bounded however large the split is.
import type { DuckDBConnection, DuckDBListVector, DuckDBVector } from "@duckdb/node-api";
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { SessionBatch } from "../models/types";
import { Random } from "../util/random";
import { mapValues } from "../util/records";
import { SCHEMA_FILE, type ColumnSchema, type DatasetSchema, validateSchema } from "./schema";

/**
 * A split held in memory as flat typed arrays. Sequence columns are [numSessions × maxLength], row-major, right-padded
 * with 0 (real events first, oldest → newest); context columns are [numSessions].
 */
export interface SessionTable {
  readonly schema: DatasetSchema;
  readonly numSessions: number;
  /** Padded sequence length (the schema's `maxLength`). */
  readonly maxLength: number;
  /** Number of real events per session, [numSessions]. */
  readonly lengths: Int32Array;
  /** Item ids, [numSessions × maxLength]. */
  readonly items: Int32Array;
  /** Categorical sequence columns by name, [numSessions × maxLength]. */
  readonly categorical: Record<string, Int32Array>;
  /** Continuous sequence columns by name, [numSessions × maxLength]. */
  readonly continuous: Record<string, Float32Array>;
  /** Per-session columns by name, [numSessions]: int32 (categorical) or float32 (continuous). */
  readonly context: Record<string, Int32Array | Float32Array>;
}

export interface BatchOptions {
  /** Sessions per batch (the last batch may be smaller unless `dropLast`). */
  batchSize: number;
  /** Shuffle the sessions with this seed (`new Random(seed).permutation(n)`); omitted: file order. */
  shuffleSeed?: number;
  /** Skip the last batch when it has fewer than `batchSize` sessions. Default false. */
  dropLast?: boolean;
}

/** What `fit` trains from: anything that can hand out batches of a fixed set of sessions. */
export interface BatchSource {
  readonly numSessions: number;
  /** The table it batches, when it holds one (SessionLoader, LengthBucketedBatches): data-parallel workers rebuild
   *  the model from its schema, and `fit` reads a model's `fitSessions` input from it. */
  readonly table?: SessionTable;
  /** Batches of one pass over the sessions; each must be released with `disposeBatch` before the next is taken. */
  batches(options: BatchOptions): IterableIterator<SessionBatch>;
}

/** Number of batches `batches(options)` yields for `numSessions` sessions. */
export function batchCount(numSessions: number, options: Pick<BatchOptions, "batchSize" | "dropLast">): number {
  return options.dropLast ? Math.floor(numSessions / options.batchSize) : Math.ceil(numSessions / options.batchSize);
}

/** Disposes every tensor of a batch. */
export function disposeBatch(batch: SessionBatch): void {
  tf.dispose([
    batch.items,
    batch.mask,
    batch.lengths,
    ...Object.values(batch.categorical),
    ...Object.values(batch.continuous),
    ...Object.values(batch.context),
  ]);
}

/**
 * The batch's sessions as `groups` batches of similar length (shortest first, sizes differing by at most one), each
 * padded only to its own longest session. A model whose padded positions affect nothing (masked attention, masked
 * recurrence) gives every session the same states either way, at a fraction of the padding: a uniform batch of 128
 * Amazon Games users padded to 51 positions holds ~6,500 positions for ~1,000 events. The caller owns the groups.
 */
export function groupByLength(batch: SessionBatch, groups: number): SessionBatch[] {
  if (!(Number.isInteger(groups) && groups >= 1)) throw new Error(`groupByLength: groups must be an integer >= 1, got ${groups}`);
  const lengths = batch.lengths.dataSync();
  const order = Array.from({ length: batch.size }, (_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const count = Math.min(groups, batch.size);
  return Array.from({ length: count }, (_, g) => {
    const rows = order.slice(Math.round((g * batch.size) / count), Math.round(((g + 1) * batch.size) / count));
    const longest = Math.max(1, lengths[rows[rows.length - 1]]);
    return tf.tidy(() => {
      const index = tf.tensor1d(rows, "int32");
      const sequence = (x: tf.Tensor2D) => tf.slice(tf.gather(x, index), [0, 0], [rows.length, longest]) as tf.Tensor2D;
      return {
        items: sequence(batch.items),
        categorical: mapValues(batch.categorical, sequence),
        continuous: mapValues(batch.continuous, sequence),
        context: mapValues(batch.context, (x) => tf.gather(x, index) as tf.Tensor1D),
        mask: sequence(batch.mask),
        lengths: tf.gather(batch.lengths, index) as tf.Tensor1D,
        size: rows.length,
      };
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Batching

export class SessionLoader implements BatchSource {
  constructor(readonly table: SessionTable) {
    checkTable(table);
  }

  /** Reads `<dir>/<split>.parquet` with `<dir>/schema.json`. */
  static async open(dir: string, split = "train"): Promise<SessionLoader> {
    return new SessionLoader(await readSplit(dir, split));
  }

  get numSessions(): number {
    return this.table.numSessions;
  }

  batches(options: BatchOptions): IterableIterator<SessionBatch> {
    const { batchSize, shuffleSeed, dropLast = false } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batches: batchSize must be an integer >= 1, got ${batchSize}`);
    const n = this.table.numSessions;
    const order = shuffleSeed === undefined ? Int32Array.from({ length: n }, (_, i) => i) : new Random(shuffleSeed).permutation(n);
    return this.batchesInOrder(order, batchSize, batchCount(n, { batchSize, dropLast }));
  }

  /** Tensors are made only when the consumer asks for the next batch. */
  private *batchesInOrder(order: Int32Array, batchSize: number, count: number): IterableIterator<SessionBatch> {
    for (let b = 0; b < count; b++) yield this.batch(order.subarray(b * batchSize, Math.min(order.length, (b + 1) * batchSize)));
  }

  /** A batch of the given sessions (row indices into the table), in that order. */
  batch(rows: ArrayLike<number>): SessionBatch {
    const { maxLength: len, lengths } = this.table;
    const size = rows.length;
    for (let r = 0; r < size; r++) {
      if (!(Number.isInteger(rows[r]) && rows[r] >= 0 && rows[r] < this.table.numSessions)) {
        throw new Error(`batch: row ${rows[r]} is not a session index in [0, ${this.table.numSessions})`);
      }
    }
    const gatherSequence = <A extends Int32Array | Float32Array>(source: A, out: A): A => {
      for (let r = 0; r < size; r++) out.set(source.subarray(rows[r] * len, (rows[r] + 1) * len), r * len);
      return out;
    };
    const gatherContext = <A extends Int32Array | Float32Array>(source: A, out: A): A => {
      for (let r = 0; r < size; r++) out[r] = source[rows[r]];
      return out;
    };
    const batchLengths = gatherContext(lengths, new Int32Array(size));
    const mask = new Float32Array(size * len);
    for (let r = 0; r < size; r++) mask.fill(1, r * len, r * len + batchLengths[r]);

    const shape: [number, number] = [size, len];
    return {
      items: tf.tensor2d(gatherSequence(this.table.items, new Int32Array(size * len)), shape, "int32"),
      categorical: mapValues(this.table.categorical, (a) => tf.tensor2d(gatherSequence(a, new Int32Array(size * len)), shape, "int32")),
      continuous: mapValues(this.table.continuous, (a) => tf.tensor2d(gatherSequence(a, new Float32Array(size * len)), shape, "float32")),
      context: mapValues(this.table.context, (a) =>
        a instanceof Int32Array ? tf.tensor1d(gatherContext(a, new Int32Array(size)), "int32") : tf.tensor1d(gatherContext(a, new Float32Array(size)), "float32"),
      ),
      mask: tf.tensor2d(mask, shape, "float32"),
      lengths: tf.tensor1d(batchLengths, "int32"),
      size,
    };
  }
}

/** Array sizes must agree with numSessions × maxLength: a table built by hand gets a clear error here. */
function checkTable(t: SessionTable): void {
  const expect = (what: string, actual: number, expected: number): void => {
    if (actual !== expected) throw new Error(`SessionLoader: ${what} has ${actual} values, expected ${expected}`);
  };
  const cells = t.numSessions * t.maxLength;
  expect("lengths", t.lengths.length, t.numSessions);
  expect("items", t.items.length, cells);
  for (const [name, a] of Object.entries(t.categorical)) expect(`categorical "${name}"`, a.length, cells);
  for (const [name, a] of Object.entries(t.continuous)) expect(`continuous "${name}"`, a.length, cells);
  for (const [name, a] of Object.entries(t.context)) expect(`context "${name}"`, a.length, t.numSessions);
  for (let i = 0; i < t.numSessions; i++) {
    if (!(t.lengths[i] >= 1 && t.lengths[i] <= t.maxLength)) {
      throw new Error(`SessionLoader: session ${i} has length ${t.lengths[i]}, expected 1..${t.maxLength}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading Parquet

/** Where a schema column goes in a `SessionTable`; "count" columns are informational and not read. */
type Destination = "items" | "categorical" | "continuous" | "context";

interface PlannedColumn {
  column: ColumnSchema;
  destination: Destination;
  /** DuckDB's name for the Parquet type the column must have, e.g. "INTEGER[]". */
  duckType: string;
}

/** `schema` comes from `readSchema`, which already checked kinds, dtypes and the single item column. */
function planColumns(schema: DatasetSchema): PlannedColumn[] {
  return schema.columns
    .filter((column) => column.kind !== "count")
    .map((column) => ({
      column,
      destination: !column.list ? "context" : column.kind === "item" ? "items" : (column.kind as "categorical" | "continuous"),
      duckType: (column.dtype === "int32" ? "INTEGER" : "FLOAT") + (column.list ? "[]" : ""),
    }));
}

const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteString = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** Reads and validates `<dir>/schema.json`; errors name the file and the offending field. */
export async function readSchema(dir: string): Promise<DatasetSchema> {
  const file = join(dir, SCHEMA_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`${file} not found: prepare the data set first (it is written next to train.parquet)`);
    }
    throw new Error(`${file}: cannot read: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  return validateSchema(parsed, file);
}

/** Reads `<dir>/<split>.parquet` into typed arrays, checking it against `<dir>/schema.json`. */
export async function readSplit(dir: string, split = "train"): Promise<SessionTable> {
  const file = join(dir, `${split}.parquet`);
  if (!existsSync(file)) throw new Error(`readSplit: ${file} not found (prepare the data first, or check the split name)`);
  const schema = await readSchema(dir);
  const plan = planColumns(schema);
  // Loaded here, not at the top: code that only batches in-memory tables (the benches, the GPU check's bundle)
  // then runs without DuckDB's native binary.
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create();
  const connection = await instance.connect();
  try {
    await checkColumnTypes(connection, file, plan);
    const numSessions = await checkValues(connection, file, plan, schema);
    return await readColumns(connection, file, plan, schema, numSessions);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function checkColumnTypes(connection: DuckDBConnection, file: string, plan: PlannedColumn[]): Promise<void> {
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteString(file)})`);
  const types = new Map(described.getRowObjectsJS().map((row) => [String(row.column_name), String(row.column_type)]));
  for (const { column, duckType } of plan) {
    const actual = types.get(column.name);
    const expected = column.list ? `a list of ${column.dtype} (Parquet LIST of ${duckType.slice(0, -2)})` : `${column.dtype}`;
    if (actual === undefined) {
      throw new Error(`${file}: schema.json lists column "${column.name}" but the file has none (it has: ${[...types.keys()].join(", ")})`);
    }
    if (actual !== duckType) throw new Error(`${file}: column "${column.name}" has type ${actual}, but schema.json says ${expected}`);
  }
}

/**
 * One scan that finds the first row breaking each rule (NULLs, empty or too long sessions, lists of another length
 * than the item list), so the read loop can trust the data. Returns the number of sessions.
 */
async function checkValues(connection: DuckDBConnection, file: string, plan: PlannedColumn[], schema: DatasetSchema): Promise<number> {
  const item = quoteIdentifier(schema.item);
  const rules: { sql: string; message: (row: number) => string }[] = [
    { sql: `len(${item}) = 0`, message: (row) => `row ${row} has an empty "${schema.item}" list (every session needs an event)` },
  ];
  for (const { column } of plan) {
    const c = quoteIdentifier(column.name);
    rules.push({ sql: `${c} IS NULL`, message: (row) => `row ${row}: column "${column.name}" is NULL` });
    if (!column.list) continue;
    const maxLength = column.maxLength ?? schema.maxLength;
    rules.push(
      { sql: `list_count(${c}) <> len(${c})`, message: (row) => `row ${row}: list "${column.name}" holds a NULL element` },
      {
        sql: `len(${c}) > ${maxLength}`,
        message: (row) => `row ${row}: list "${column.name}" is longer than its maxLength ${maxLength} (it should be truncated when preparing)`,
      },
      { sql: `len(${c}) <> len(${item})`, message: (row) => `row ${row}: list "${column.name}" has another length than "${schema.item}"` },
    );
  }
  const firstRows = rules.map((r) => `min(file_row_number) FILTER (WHERE ${r.sql})`).join(", ");
  const result = await connection.runAndReadAll(
    `SELECT count(*), ${firstRows} FROM read_parquet(${quoteString(file)}, file_row_number = true)`,
  );
  const [count, ...firsts] = result.getRowsJS()[0];
  const broken = firsts.findIndex((row) => row !== null);
  if (broken >= 0) throw new Error(`${file}: ${rules[broken].message(Number(firsts[broken]))} (rows count from 0)`);
  return Number(count);
}

async function readColumns(
  connection: DuckDBConnection,
  file: string,
  plan: PlannedColumn[],
  schema: DatasetSchema,
  numSessions: number,
): Promise<SessionTable> {
  const len = schema.maxLength;
  const lengths = new Int32Array(numSessions);
  const arrays = plan.map(({ column }) => {
    const size = column.list ? numSessions * len : numSessions;
    return column.dtype === "int32" ? new Int32Array(size) : new Float32Array(size);
  });
  const itemIndex = plan.findIndex((p) => p.destination === "items");
  const result = await connection.stream(
    `SELECT ${plan.map((p) => quoteIdentifier(p.column.name)).join(", ")} FROM read_parquet(${quoteString(file)})`,
  );
  let start = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const rows = chunk.rowCount;
    if (start + rows > numSessions) throw new Error(`${file}: more rows than the ${numSessions} counted (file changed while reading?)`);
    plan.forEach(({ column }, c) => {
      const vector = chunk.getColumnVector(c);
      if (column.list) copyList(vector as DuckDBListVector, rows, arrays[c], start, len);
      else for (let r = 0; r < rows; r++) arrays[c][start + r] = vector.getItem(r) as number;
    });
    const items = chunk.getColumnVector(itemIndex) as DuckDBListVector;
    for (let r = 0; r < rows; r++) lengths[start + r] = items.getEntryLength(r);
    start += rows;
  }
  if (start !== numSessions) throw new Error(`${file}: read ${start} rows but counted ${numSessions}`);

  const table: SessionTable = {
    schema,
    numSessions,
    maxLength: len,
    lengths,
    items: arrays[itemIndex] as Int32Array,
    categorical: {},
    continuous: {},
    context: {},
  };
  plan.forEach(({ column, destination }, c) => {
    if (destination === "categorical") table.categorical[column.name] = arrays[c] as Int32Array;
    else if (destination === "continuous") table.continuous[column.name] = arrays[c] as Float32Array;
    else if (destination === "context") table.context[column.name] = arrays[c];
  });
  return table;
}

/** Copies `rows` lists (already checked: no NULLs, at most `len` long) into [row × len] slots from row `start`. */
function copyList(vector: DuckDBListVector, rows: number, out: Int32Array | Float32Array, start: number, len: number): void {
  const child: DuckDBVector = vector.childVector;
  for (let r = 0; r < rows; r++) {
    const offset = vector.getEntryOffset(r);
    const count = vector.getEntryLength(r);
    const base = (start + r) * len;
    for (let i = 0; i < count; i++) out[base + i] = child.getItem(offset + i) as number;
  }
}

/** Item sequences of a split as arrays (oldest first), for the baselines. */
export function sessionsOf(table: SessionTable): Int32Array[] {
  const out: Int32Array[] = [];
  for (let s = 0; s < table.numSessions; s++) {
    const start = s * table.maxLength;
    out.push(table.items.subarray(start, start + table.lengths[s]));
  }
  return out;
}

/** Sessions `start` … `end` − 1 of `table` as a table of their own (views of the same arrays, nothing copied). */
export function sessionRange(table: SessionTable, start: number, end: number): SessionTable {
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= table.numSessions))
    throw new Error(`sessionRange: [${start}, ${end}) is not a range of the table's ${table.numSessions} sessions`);
  const len = table.maxLength;
  const rows = <T extends Int32Array | Float32Array>(array: T): T => array.subarray(start * len, end * len) as T;
  return {
    schema: table.schema,
    numSessions: end - start,
    maxLength: len,
    lengths: table.lengths.subarray(start, end),
    items: rows(table.items),
    categorical: mapValues(table.categorical, rows),
    continuous: mapValues(table.continuous, rows),
    context: mapValues(table.context, (array) => array.subarray(start, end)),
  };
}
