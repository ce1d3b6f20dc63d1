// The contract between prepared data (lib/data) and the models (lib/data/loader, lib/models): the shape of
// `<dir>/schema.json` next to `train.parquet` / `valid.parquet`. docs/data-formats.md describes the whole folder.
// No file system here (a web page checks a fetched schema with it): loader.ts's `readSchema` reads the file.

/**
 * "item": the next-item target sequence (exactly one list column); "categorical": encoded ids with an embedding
 * table; "continuous": a float fed as-is; "count": informational (e.g. events per session), never a model input.
 */
export type ColumnKind = "item" | "categorical" | "continuous" | "count";

export const COLUMN_KINDS: readonly ColumnKind[] = ["item", "categorical", "continuous", "count"];

export interface ColumnSchema {
  name: string;
  kind: ColumnKind;
  /** true: one value per event (a Parquet LIST in time order, oldest first); false: one value per session. */
  list: boolean;
  /** "int32" for item/categorical/count columns, "float32" for continuous ones. */
  dtype: "int32" | "float32";
  /** Item/categorical: embedding rows, ids 0 (padding) and 1 (out-of-vocabulary) included. */
  cardinality?: number;
  /** List columns: the most entries a list holds (lists are truncated to their last `maxLength` entries). */
  maxLength?: number;
  /** Item/categorical: name of the vocabulary the ids come from (several columns may share one). */
  vocabulary?: string;
}

export interface DatasetSchema {
  version: 1;
  /** Column holding the original session id (VARCHAR or BIGINT), kept for tracing. */
  sessionId: string;
  /** Name of the item column (the one column of kind "item"). */
  item: string;
  /** Longest list in the data set: the padded sequence length. */
  maxLength: number;
  columns: ColumnSchema[];
}

export const SCHEMA_FILE = "schema.json";

/** Checks that `value` is a `DatasetSchema`; `source` (a file name) starts every error message. */
export function validateSchema(value: unknown, source: string): DatasetSchema {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  if (!isRecord(value)) return fail("expected a JSON object");
  if (value.version !== 1) fail(`"version" must be 1, got ${JSON.stringify(value.version)}`);
  for (const key of ["sessionId", "item"] as const) {
    if (typeof value[key] !== "string" || value[key] === "") fail(`"${key}" must be a non-empty string`);
  }
  if (!isPositiveInteger(value.maxLength)) fail(`"maxLength" must be an integer >= 1, got ${JSON.stringify(value.maxLength)}`);
  if (!Array.isArray(value.columns) || value.columns.length === 0) fail(`"columns" must be a non-empty array`);

  const columns = (value.columns as unknown[]).map((column, i) => validateColumn(column, `columns[${i}]`, value.maxLength as number, fail));
  const names = new Set<string>();
  for (const column of columns) {
    if (names.has(column.name)) fail(`column "${column.name}" is listed twice`);
    names.add(column.name);
  }
  const items = columns.filter((c) => c.kind === "item");
  if (items.length !== 1) fail(`expected exactly one column of kind "item", found ${items.length}`);
  if (items[0].name !== value.item) fail(`"item" is "${value.item}" but the column of kind "item" is "${items[0].name}"`);
  if (!items[0].list) fail(`the item column "${items[0].name}" must be a list column`);
  return {
    version: 1,
    sessionId: value.sessionId as string,
    item: value.item as string,
    maxLength: value.maxLength as number,
    columns,
  };
}

function validateColumn(value: unknown, where: string, maxLength: number, fail: (message: string) => never): ColumnSchema {
  if (!isRecord(value)) return fail(`${where} must be an object`);
  if (typeof value.name !== "string" || value.name === "") fail(`${where}.name must be a non-empty string`);
  const at = `column "${value.name}"`;
  const kind = value.kind as ColumnKind;
  if (!COLUMN_KINDS.includes(kind)) fail(`${at}: "kind" must be one of ${COLUMN_KINDS.join(", ")}, got ${JSON.stringify(value.kind)}`);
  if (typeof value.list !== "boolean") fail(`${at}: "list" must be true or false`);
  const expectedDtype = kind === "continuous" ? "float32" : "int32";
  if (value.dtype !== expectedDtype) fail(`${at}: a ${kind} column must have dtype "${expectedDtype}", got ${JSON.stringify(value.dtype)}`);
  const column: ColumnSchema = { name: value.name as string, kind, list: value.list as boolean, dtype: expectedDtype };
  if (kind === "item" || kind === "categorical") {
    if (!isPositiveInteger(value.cardinality) || (value.cardinality as number) < 2) {
      fail(`${at}: "cardinality" must be an integer >= 2 (ids 0 and 1 included), got ${JSON.stringify(value.cardinality)}`);
    }
    if (typeof value.vocabulary !== "string" || value.vocabulary === "") fail(`${at}: "vocabulary" must name the vocabulary`);
    column.cardinality = value.cardinality as number;
    column.vocabulary = value.vocabulary as string;
  }
  if (column.list) {
    const length = value.maxLength ?? maxLength;
    if (!isPositiveInteger(length) || (length as number) > maxLength) {
      fail(`${at}: "maxLength" must be an integer in 1..${maxLength} (the data set's maxLength), got ${JSON.stringify(value.maxLength)}`);
    }
    column.maxLength = length as number;
  }
  return column;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= 1;
}
