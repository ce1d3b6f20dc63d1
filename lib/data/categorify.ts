// Categorical encoding. A vocabulary is fitted on one relation (the train split) over one column, or jointly over
// several columns that share values (e.g. booker_country and hotel_country); encoding maps every value to
//   0 = padding (never produced here; lists are padded with it later), 1 = out-of-vocabulary (unseen when fitting,
//   seen fewer than `minFrequency` times, or NULL), 2.. = known values, most frequent first, ties by value.
// Vocabularies are plain JSON-able objects (values and counts in id order), so a workflow can save and reload them
// and encode new data anywhere; inside DuckDB they become a small lookup table joined to the events.
import type { Database } from "./database";
import type { Relation } from "./relation";
import { ident } from "./sql";

export const PAD_ID = 0;
export const OOV_ID = 1;
/** Id of the most frequent known value. */
export const FIRST_ID = 2;

export interface VocabularySpec {
  /** Name of the vocabulary (the schema's `vocabulary` field; a file name when saved): letters, digits, _ . - */
  name: string;
  /** Columns whose values it counts (together) and then encodes. */
  columns: string[];
  /** Values seen fewer times than this when fitting are out-of-vocabulary. Default 1 (keep every value). */
  minFrequency?: number;
}

export interface Vocabulary {
  name: string;
  columns: string[];
  minFrequency: number;
  /** DuckDB type of the values (a common type of the columns; VARCHAR when they differ). */
  valueType: string;
  /** Known values in id order: `values[i]` has id i + 2. Numbers for types JSON holds exactly, else text. */
  values: (string | number)[];
  /** How often each known value occurred when fitting (same order as `values`). */
  counts: number[];
  /** Occurrences mapped to out-of-vocabulary because their value was too rare. */
  rareCount: number;
  /** NULL occurrences (also encoded as out-of-vocabulary). */
  nullCount: number;
}

/** Embedding rows the vocabulary needs: its known values plus ids 0 and 1. */
export function cardinality(vocabulary: Vocabulary): number {
  return vocabulary.values.length + FIRST_ID;
}

/** The id `value` gets (computed in JS; for spot checks and serving of single values). */
export function encodeValue(vocabulary: Vocabulary, value: string | number | null): number {
  if (value === null) return OOV_ID;
  const index = vocabulary.values.findIndex((v) => String(v) === String(value));
  return index < 0 ? OOV_ID : index + FIRST_ID;
}

/** The value of an id (null for padding and out-of-vocabulary). */
export function decodeId(vocabulary: Vocabulary, id: number): string | number | null {
  return id >= FIRST_ID && id < cardinality(vocabulary) ? vocabulary.values[id - FIRST_ID] : null;
}

const VOCABULARY_NAME = /^[A-Za-z0-9_.-]+$/;

export function checkVocabularySpec(spec: VocabularySpec, where: string): void {
  if (typeof spec.name !== "string" || !VOCABULARY_NAME.test(spec.name)) {
    throw new Error(`${where}: vocabulary name ${JSON.stringify(spec.name)} must use only letters, digits, _ . -`);
  }
  if (!Array.isArray(spec.columns) || spec.columns.length === 0) throw new Error(`${where}: vocabulary "${spec.name}" needs at least one column`);
  const minFrequency = spec.minFrequency ?? 1;
  if (!Number.isInteger(minFrequency) || minFrequency < 1) {
    throw new Error(`${where}: vocabulary "${spec.name}": minFrequency must be an integer >= 1, got ${spec.minFrequency}`);
  }
}

// Integer types up to 32 bits and floats print and parse exactly as JSON numbers; 64-bit integers only when small.
const JSON_NUMBER_TYPES = /^(U?(TINYINT|SMALLINT|INTEGER)|FLOAT|DOUBLE)$/;
const WIDE_INTEGER_TYPES = /^U?(BIGINT|HUGEINT)$/;

/** Counts the values of `spec.columns` in `relation` and builds the vocabulary. */
export async function fitVocabulary(relation: Relation, spec: VocabularySpec): Promise<Vocabulary> {
  const where = `categorify "${spec.name}"`;
  checkVocabularySpec(spec, where);
  const minFrequency = spec.minFrequency ?? 1;
  const types = await relation.requireColumns(spec.columns, where);
  const columnTypes = [...new Set(spec.columns.map((c) => types.get(c) as string))];
  const valueType = columnTypes.length === 1 ? columnTypes[0] : "VARCHAR";
  const values = spec.columns.map((c) => `CAST(${ident(c)} AS ${valueType})`);
  const valueList = values.length === 1 ? values[0] : `unnest([${values.join(", ")}])`;

  const db = relation.db;
  const counted = db.uniqueName(`vocab_counts_${spec.name.replace(/\W/g, "_")}`);
  // One scan: each event contributes the values of all the vocabulary's columns.
  await db.run(
    `CREATE TEMP TABLE ${ident(counted)} AS SELECT value, count(*) AS n
     FROM (SELECT ${valueList} AS value FROM (${relation.sql}) AS t) AS t GROUP BY value`,
  );
  try {
    const known = `value IS NOT NULL AND n >= ${minFrequency}`;
    const order = "ORDER BY n DESC, value";
    const safeNumbers = WIDE_INTEGER_TYPES.test(valueType)
      ? Boolean((await db.row(`SELECT coalesce(max(abs(value)) <= 9007199254740991, true) AS ok FROM ${ident(counted)}`))?.ok)
      : JSON_NUMBER_TYPES.test(valueType);
    const jsonValue = safeNumbers ? "value" : "CAST(value AS VARCHAR)";
    const row = await db.row(
      `SELECT CAST(to_json(coalesce(list(${jsonValue} ${order}) FILTER (WHERE ${known}), [])) AS VARCHAR) AS "values",
              CAST(to_json(coalesce(list(n ${order}) FILTER (WHERE ${known}), [])) AS VARCHAR) AS counts,
              coalesce(sum(n) FILTER (WHERE value IS NOT NULL AND n < ${minFrequency}), 0) AS rare,
              coalesce(sum(n) FILTER (WHERE value IS NULL), 0) AS nulls
       FROM ${ident(counted)}`,
    );
    const vocabulary: Vocabulary = {
      name: spec.name,
      columns: [...spec.columns],
      minFrequency,
      valueType,
      values: JSON.parse(String(row?.values)),
      counts: JSON.parse(String(row?.counts)),
      rareCount: Number(row?.rare),
      nullCount: Number(row?.nulls),
    };
    if (vocabulary.values.length === 0) {
      throw new Error(`${where}: no value of ${spec.columns.join(", ")} in ${relation.label} occurs ${minFrequency} or more times`);
    }
    return vocabulary;
  } finally {
    await db.run(`DROP TABLE ${ident(counted)}`);
  }
}

/** Per database, the lookup table already built for a vocabulary object. */
const lookupTables = new WeakMap<Database, WeakMap<Vocabulary, string>>();

/** The (value, id) lookup table of `vocabulary` in `db`, built on first use. */
export async function vocabularyTable(db: Database, vocabulary: Vocabulary): Promise<string> {
  let tables = lookupTables.get(db);
  if (tables === undefined) lookupTables.set(db, (tables = new WeakMap()));
  const existing = tables.get(vocabulary);
  if (existing !== undefined) return existing;
  const table = db.uniqueName(`vocab_${vocabulary.name.replace(/\W/g, "_")}`);
  await db.run(
    `CREATE TEMP TABLE ${ident(table)} AS
     SELECT CAST(unnest(l) AS ${vocabulary.valueType}) AS value, CAST(generate_subscripts(l, 1) + ${FIRST_ID - 1} AS INTEGER) AS id
     FROM (SELECT from_json(?, '["VARCHAR"]') AS l) AS t`,
    [JSON.stringify(vocabulary.values)],
  );
  tables.set(vocabulary, table);
  return table;
}

/** Replaces each vocabulary's columns by their INTEGER ids (1 for values outside the vocabulary and NULLs). */
export async function categorify(relation: Relation, vocabularies: readonly Vocabulary[]): Promise<Relation> {
  const encoded: { column: string; vocabulary: Vocabulary; table: string }[] = [];
  for (const vocabulary of vocabularies) {
    await relation.requireColumns(vocabulary.columns, `categorify "${vocabulary.name}"`);
    const table = await vocabularyTable(relation.db, vocabulary);
    for (const column of vocabulary.columns) encoded.push({ column, vocabulary, table });
  }
  const replaced = encoded.map(({ column }, i) => `coalesce(v${i}.id, ${OOV_ID}) AS ${ident(column)}`);
  const joins = encoded.map(
    ({ column, vocabulary, table }, i) => `LEFT JOIN ${ident(table)} AS v${i} ON CAST(t.${ident(column)} AS ${vocabulary.valueType}) = v${i}.value`,
  );
  return relation.derive((from) => `SELECT t.* REPLACE (${replaced.join(", ")}) FROM ${from} ${joins.join(" ")}`);
}

/** Drops the rows where any of the encoded `columns` is out-of-vocabulary (id 1). */
export async function dropOutOfVocabulary(relation: Relation, columns: readonly string[]): Promise<Relation> {
  await relation.requireColumns(columns, "dropOutOfVocabulary");
  return relation.derive((from) => `SELECT * FROM ${from} WHERE ${columns.map((c) => `${ident(c)} <> ${OOV_ID}`).join(" AND ")}`);
}

/** Validates a vocabulary read from a file; `source` names the file in errors. */
export function checkVocabulary(value: unknown, source: string): Vocabulary {
  const v = value as Vocabulary;
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  if (typeof v !== "object" || v === null) fail("expected a JSON object");
  checkVocabularySpec(v, source);
  if (typeof v.valueType !== "string") fail(`"valueType" must be a DuckDB type name`);
  if (!Array.isArray(v.values) || !Array.isArray(v.counts) || v.values.length !== v.counts.length) {
    fail(`"values" and "counts" must be arrays of the same length`);
  }
  for (const key of ["rareCount", "nullCount"] as const) if (!Number.isInteger(v[key])) fail(`"${key}" must be an integer`);
  return v;
}
