// Live sessions encoded in memory: the raw events of each session (JS objects with the workflow's input columns, as
// in the input log) → the row the DuckDB path gives for them, `workflow.transformRecords(db, events, { filters:
// false })`: the session id, then the output columns (int / float arrays and scalars). No DuckDB and no node modules,
// so a web page can encode with a workflow fetched as JSON (lib/data/fitted.ts). Each step op is redone here for
// one session's events with DuckDB's semantics (input types, NULLs, DOUBLE arithmetic, FLOAT rounding, the order of
// grouped lists); the filters (dropOutOfVocabulary, filterMinLength) are off, as when serving, so unknown values
// stay out-of-vocabulary (id 1) and short sessions are kept.
// Where this is stricter than DuckDB: values are read strictly (dates "YYYY-MM-DD", timestamps
// "YYYY-MM-DD HH:MM[:SS[.ffffff]]" with an optional zone "Z" / "+02:00" (none = UTC), or Date objects); a time or
// session/user id column that orders or identifies events may not be null; the events of one session must agree on its id (an absent id is filled in).
// A gap-based sessionize that cuts one session's events into several keeps the latest of them.
import { FIRST_ID, OOV_ID, type Vocabulary } from "./categorify";
import { type DurationUnit, type NormalizeStats, type TimePart, endBeforeStart } from "./features";
import { type FittedWorkflow, outputColumnsOf } from "./fitted";
import { groupbySessionColumns } from "./sessions";
import { type StepStats, type WorkflowStep, inputTimeOrders, stepFilters, stepReads } from "./steps";

/** A value of an encoded session: numbers (ids, floats, counts), text (session ids), or null (a missing value). */
export type EncodedValue = number | string | null;
/** One encoded session: the session id column, then the workflow's output columns (lists as arrays). */
export type EncodedSession = Record<string, EncodedValue | EncodedValue[]>;
/** Raw events of one live session, oldest first or in any order (the workflow orders them by its time column). */
export type RawSession = readonly Record<string, unknown>[];

/** A value inside the encoder: temporal values are epoch microseconds (as DuckDB stores them). */
type Value = number | string | null;
type Row = Record<string, Value | Value[]>;

// ---------------------------------------------------------------------------------------------------------------
// Column types: what DuckDB type a column has, and how a raw JSON value is read as it.

type TypeClass = "text" | "integer" | "float" | "double" | "decimal" | "date" | "timestamp";

interface ValueType {
  /** DuckDB's name, e.g. "INTEGER", "DECIMAL(2,1)". */
  name: string;
  kind: TypeClass;
  /** Integers: the range the type holds (64-bit ones: the range JS numbers hold exactly). */
  range?: [number, number];
  /** Decimals: total and fractional digits. */
  precision?: number;
  scale?: number;
}

const SAFE: [number, number] = [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
const INTEGER_RANGES: Record<string, [number, number]> = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INTEGER: [-2147483648, 2147483647],
  BIGINT: SAFE,
  HUGEINT: SAFE,
  UTINYINT: [0, 255],
  USMALLINT: [0, 65535],
  UINTEGER: [0, 4294967295],
  UBIGINT: [0, Number.MAX_SAFE_INTEGER],
};

const INTEGER: ValueType = { name: "INTEGER", kind: "integer", range: INTEGER_RANGES.INTEGER };
const BIGINT: ValueType = { name: "BIGINT", kind: "integer", range: SAFE };
const DOUBLE: ValueType = { name: "DOUBLE", kind: "double" };
const VARCHAR: ValueType = { name: "VARCHAR", kind: "text" };
const SUPPORTED_TYPES = "VARCHAR, integer types, FLOAT, DOUBLE, DECIMAL(p,s), DATE, TIMESTAMP";

/** The type DuckDB calls `name`, or null when the live encoder cannot read it. */
function valueType(name: string): ValueType | null {
  const upper = name.trim().toUpperCase();
  if (upper in INTEGER_RANGES) return { name: upper, kind: "integer", range: INTEGER_RANGES[upper] };
  if (upper === "VARCHAR") return VARCHAR;
  if (upper === "FLOAT" || upper === "REAL") return { name: upper, kind: "float" };
  if (upper === "DOUBLE") return DOUBLE;
  if (upper === "DATE") return { name: upper, kind: "date" };
  if (upper === "TIMESTAMP") return { name: upper, kind: "timestamp" };
  const decimal = /^DECIMAL(?:\((\d+),\s*(\d+)\))?$/.exec(upper);
  if (decimal !== null) {
    const precision = decimal[1] === undefined ? 18 : Number(decimal[1]); // DuckDB's DECIMAL is DECIMAL(18,3)
    const scale = decimal[2] === undefined ? 3 : Number(decimal[2]);
    return precision <= 18 ? { name: upper, kind: "decimal", precision, scale } : null;
  }
  return null;
}

const isTemporal = (type: ValueType): boolean => type.kind === "date" || type.kind === "timestamp";
const isNumeric = (type: ValueType): boolean => type.kind === "integer" || type.kind === "float" || type.kind === "double" || type.kind === "decimal";

const MICROS_PER_MS = 1000;
const MS_PER_DAY = 86_400_000;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Epoch milliseconds of a calendar date and time in UTC, or NaN when a field is out of range. */
function utcMilliseconds(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year); // Date.UTC maps years 0..99 to 1900..1999
  const valid = date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
  return valid ? date.getTime() : NaN;
}

/** A zone suffix ("Z", "+02:00", "-0500") as milliseconds ahead of UTC; none is UTC, as the events recipe reads a
 *  time without a zone. NaN for an offset out of range. */
function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === "Z") return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(-2));
  if (hours > 23 || minutes > 59) return NaN;
  return (zone[0] === "-" ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

/** Why `raw` cannot be read as `type` (null: it can). */
class ReadError extends Error {}

/** A JSON value (or Date / bigint) read as DuckDB reads it into `type`; null stays null. */
function readValue(raw: unknown, type: ValueType): Value {
  if (raw === null) return null;
  const fail = (expected: string): never => {
    const shown = raw instanceof Date ? raw.toString() : typeof raw === "bigint" ? `${raw}n` : JSON.stringify(raw);
    throw new ReadError(`cannot read ${shown} as ${type.name} (expected ${expected})`);
  };
  switch (type.kind) {
    case "text":
      if (typeof raw === "string") return raw;
      if ((typeof raw === "number" && Number.isFinite(raw)) || typeof raw === "bigint") return String(raw);
      return fail("text");
    case "integer": {
      const text = typeof raw === "string" && INTEGER_TEXT.test(raw.trim());
      const value = typeof raw === "number" || typeof raw === "bigint" || text ? Number(raw) : NaN;
      const [min, max] = type.range as [number, number];
      if (!Number.isInteger(value)) return fail("an integer");
      if (value < min || value > max) return fail(`an integer in ${min}..${max}`);
      return value;
    }
    case "float":
    case "double": {
      const value = typeof raw === "number" ? raw : typeof raw === "string" && NUMBER_TEXT.test(raw.trim()) ? Number(raw) : NaN;
      const stored = type.kind === "float" ? Math.fround(value) : value;
      return Number.isFinite(stored) ? stored : fail("a finite number");
    }
    case "decimal":
      return readDecimal(raw, type) ?? fail(`a number with at most ${(type.precision as number) - (type.scale as number)} digits before the point`);
    case "date": {
      if (raw instanceof Date) {
        const ms = raw.getTime();
        return Number.isNaN(ms) ? fail("a valid date") : Math.floor(ms / MS_PER_DAY) * MS_PER_DAY * MICROS_PER_MS;
      }
      const parts = typeof raw === "string" ? DATE_TEXT.exec(raw) : null;
      const ms = parts === null ? NaN : utcMilliseconds(Number(parts[1]), Number(parts[2]), Number(parts[3]));
      return Number.isNaN(ms) ? fail('a date "YYYY-MM-DD"') : ms * MICROS_PER_MS;
    }
    case "timestamp": {
      if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? fail("a valid date") : raw.getTime() * MICROS_PER_MS;
      const parts = typeof raw === "string" ? TIMESTAMP_TEXT.exec(raw) : null;
      const expected = 'a timestamp "YYYY-MM-DD HH:MM:SS", optionally with a zone ("2024-03-01T09:00:00+02:00")';
      if (parts === null) return fail(expected);
      const [year, month, day, hour, minute, second] = parts.slice(1, 7).map((p) => Number(p ?? 0));
      const ms = utcMilliseconds(year, month, day, hour, minute, second) - zoneOffsetMs(parts[8]);
      const fraction = Number((parts[7] ?? "").padEnd(6, "0"));
      return Number.isNaN(ms) ? fail(expected) : ms * MICROS_PER_MS + fraction;
    }
  }
}

/** A number or decimal text rounded half away from zero to the type's scale (DuckDB's cast), as a double. */
function readDecimal(raw: unknown, type: ValueType): number | null {
  const text = typeof raw === "number" && Number.isFinite(raw) ? String(raw) : typeof raw === "string" ? raw.trim() : "";
  const parts = DECIMAL_TEXT.exec(text); // numbers JS prints with an exponent (1e-7, 1e21) do not match: refused
  if (parts === null || (parts[2] === "" && (parts[3] ?? "") === "")) return null;
  const scale = type.scale as number;
  const fraction = (parts[3] ?? "").padEnd(scale + 1, "0");
  // Whole units of 10^-scale as text: exact however many digits (no bigint, which tslab's compile target lacks).
  const rounded = Number(fraction[scale]) >= 5 ? addOne((parts[2] || "0") + fraction.slice(0, scale)) : (parts[2] || "0") + fraction.slice(0, scale);
  const digits = rounded.replace(/^0+(?=\d)/, "");
  if (digits.length > (type.precision as number)) return null;
  // DuckDB turns a DECIMAL into a DOUBLE as units / 10^scale.
  return ((parts[1] === "-" ? -1 : 1) * Number(digits)) / 10 ** scale;
}

/** A string of decimal digits plus one. */
function addOne(digits: string): string {
  const i = digits.search(/9*$/);
  return (i === 0 ? "1" : digits.slice(0, i - 1) + String(Number(digits[i - 1]) + 1)) + "0".repeat(digits.length - i);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** A value as DuckDB casts it to VARCHAR (for vocabularies shared by columns of different types). */
function asText(value: number | string, type: ValueType): string {
  if (typeof value === "string") return value;
  switch (type.kind) {
    case "decimal":
      return value.toFixed(type.scale);
    case "date":
    case "timestamp": {
      const date = new Date(Math.floor(value / MICROS_PER_MS));
      const day = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
      if (type.kind === "date") return day;
      const micros = ((value % 1_000_000) + 1_000_000) % 1_000_000;
      const fraction = micros === 0 ? "" : `.${pad(micros, 6).replace(/0+$/, "")}`;
      return `${day} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction}`;
    }
    default:
      return String(value);
  }
}

/** Order of values in DuckDB's sorts: numbers by value, text by code point (as UTF-8 bytes), NULL last. */
function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : 1;
  const [x, y] = [String(a), String(b)];
  for (let i = 0, j = 0; i < x.length && j < y.length; ) {
    const cx = x.codePointAt(i) as number;
    const cy = y.codePointAt(j) as number;
    if (cx !== cy) return cx < cy ? -1 : 1;
    i += cx > 0xffff ? 2 : 1;
    j += cy > 0xffff ? 2 : 1;
  }
  return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
}

const compareBy =
  (columns: readonly string[]) =>
  (a: Row, b: Row): number => {
    for (const column of columns) {
      const order = compareValues(a[column] as Value, b[column] as Value);
      if (order !== 0) return order;
    }
    return 0;
  };

/** The rows of each session (in first-seen order), by the value of `column`. */
function partitions(rows: Row[], column: string): Row[][] {
  const groups = new Map<Value, Row[]>();
  for (const row of rows) {
    const key = row[column] as Value;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  return [...groups.values()];
}

// ---------------------------------------------------------------------------------------------------------------
// Step ops, each compiled once per workflow into a function over the rows of one live session: its events before
// groupbySession, its one row (or, after a gap-based sessionize, its rows) after.

type RowsOp = (rows: Row[]) => Row[];

/** Column types as the steps change them, and which columns are lists. */
interface Columns {
  types: Map<string, ValueType>;
  lists: Set<string>;
}

function typeOf(columns: Columns, column: string, where: string, ok: (type: ValueType) => boolean = () => true, expected = ""): ValueType {
  const type = columns.types.get(column);
  if (type === undefined) throw new Error(`${where}: no column "${column}" at this step (have: ${[...columns.types.keys()].join(", ")})`);
  if (!ok(type)) throw new Error(`${where}: column "${column}" is ${type.name}${columns.lists.has(column) ? "[]" : ""}, expected ${expected}`);
  return type;
}

const MICROS_PER_SECOND = 1_000_000;
/** DuckDB's epoch(): seconds as a DOUBLE. */
const epochSeconds = (micros: number): number => micros / MICROS_PER_SECOND;

const TIME_PARTS: Record<TimePart, (date: Date) => number> = {
  weekday: (d) => (d.getUTCDay() + 6) % 7, // Monday 0 … Sunday 6, as features.ts
  month: (d) => d.getUTCMonth() + 1,
  day: (d) => d.getUTCDate(),
  dayofyear: (d) => Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / MS_PER_DAY) + 1,
  week: isoWeek,
  year: (d) => d.getUTCFullYear(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
};

/** ISO 8601 week 1 … 53: the week (Monday first) holding the year's first Thursday is week 1. */
function isoWeek(d: Date): number {
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const thursday = new Date(day + (3 - ((d.getUTCDay() + 6) % 7)) * MS_PER_DAY);
  return Math.floor((thursday.getTime() - Date.UTC(thursday.getUTCFullYear(), 0, 1)) / (7 * MS_PER_DAY)) + 1;
}

const UNIT_SECONDS: Record<DurationUnit, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };

/** `f` applied to column `column` of every row, written to `output`; NULL stays NULL. */
function mapColumn(column: string, output: string, f: (value: number) => number | null): RowsOp {
  return (rows) => {
    for (const row of rows) {
      const value = row[column] as number | null;
      row[output] = value === null ? null : f(value);
    }
    return rows;
  };
}

function compileStep(step: WorkflowStep, stats: unknown, columns: Columns, where: string): RowsOp {
  const { types, lists } = columns;
  switch (step.op) {
    case "sessionize": {
      const output = step.output ?? "session_id";
      if ("sessionColumn" in step) {
        types.set(output, typeOf(columns, step.sessionColumn, where));
        return (rows) => {
          for (const row of rows) row[output] = row[step.sessionColumn];
          return rows;
        };
      }
      const userType = typeOf(columns, step.user, where);
      const timeType = typeOf(columns, step.time, where, (t) => isTemporal(t) || isNumeric(t), "DATE, TIMESTAMP or seconds");
      const seconds = (value: number): number => (isTemporal(timeType) ? epochSeconds(value) : value);
      types.set(output, VARCHAR);
      return (rows) => {
        for (const events of partitions(rows, step.user)) {
          // A session starts at an event more than gapSeconds after the latest earlier time (same times are peers).
          const times = [...new Set(events.map((row) => seconds(row[step.time] as number)))].sort((a, b) => a - b);
          const sessionOf = new Map<number, number>();
          times.forEach((t, i) => sessionOf.set(t, i === 0 ? 1 : (sessionOf.get(times[i - 1]) as number) + (t - times[i - 1] > step.gapSeconds ? 1 : 0)));
          for (const row of events) {
            row[output] = `${asText(row[step.user] as number | string, userType)}:${sessionOf.get(seconds(row[step.time] as number))}`;
          }
        }
        return rows;
      };
    }
    case "timeFeatures": {
      typeOf(columns, step.column, where, isTemporal, "DATE or TIMESTAMP");
      const features = Object.entries(step.features).map(([output, part]) => {
        const f = TIME_PARTS[part];
        if (f === undefined) throw new Error(`${where}: unknown time part "${part}" for "${output}"`);
        types.set(output, INTEGER);
        return { output, f };
      });
      return (rows) => {
        for (const row of rows) {
          const micros = row[step.column] as number | null;
          const date = micros === null ? null : new Date(Math.floor(micros / MICROS_PER_MS));
          for (const { output, f } of features) row[output] = date === null ? null : f(date);
        }
        return rows;
      };
    }
    case "duration": {
      const unit = UNIT_SECONDS[step.unit ?? "days"];
      if (unit === undefined) throw new Error(`${where}: unknown unit "${step.unit}"`);
      for (const column of [step.start, step.end]) typeOf(columns, column, where, isTemporal, "DATE or TIMESTAMP");
      types.set(step.output, DOUBLE);
      return (rows) => {
        for (const row of rows) {
          const [start, end] = [row[step.start] as number | null, row[step.end] as number | null];
          row[step.output] = start === null || end === null ? null : (epochSeconds(end) - epochSeconds(start)) / unit;
        }
        return rows;
      };
    }
    case "log1p":
    case "normalize": {
      typeOf(columns, step.column, where, (t) => isNumeric(t) && !lists.has(step.column), "a number");
      const output = step.output ?? step.column;
      types.set(output, DOUBLE);
      lists.delete(output);
      if (step.op === "log1p") return mapColumn(step.column, output, (x) => (x > -1 ? Math.log(1 + x) : null));
      const { mean, std } = stats as NormalizeStats;
      return mapColumn(step.column, output, (x) => (x - mean) / std);
    }
    case "categorify":
      return compileCategorify(stats as Vocabulary, columns, where);
    case "removeConsecutiveRepeats": {
      const order = [step.time, ...(step.tieBreak ?? [])];
      for (const column of [step.session, ...order, step.column]) typeOf(columns, column, where);
      const byTime = compareBy(order);
      return (rows) =>
        partitions(rows, step.session).flatMap((events) => {
          const sorted = [...events].sort(byTime); // stable: ties keep the order the events came in
          return sorted.filter((row, i) => i === 0 || compareValues(row[step.column] as Value, sorted[i - 1][step.column] as Value) !== 0);
        });
    }
    case "groupbySession":
      return compileGroupby(step, columns, where);
    case "sliceLast": {
      const sliced = step.columns ?? [...lists];
      for (const column of sliced) typeOf(columns, column, where, () => lists.has(column), "a list");
      return (rows) => {
        for (const row of rows) for (const column of sliced) row[column] = (row[column] as Value[]).slice(-step.n);
        return rows;
      };
    }
    case "dropOutOfVocabulary":
    case "filterMinLength":
      throw new Error(`${where}: a filter step is not applied to live sessions`); // not reached: filters are skipped
  }
}

function compileCategorify(vocabulary: Vocabulary, columns: Columns, where: string): RowsOp {
  const type = valueType(vocabulary.valueType);
  if (type === null) {
    throw new Error(`${where}: vocabulary "${vocabulary.name}" holds ${vocabulary.valueType} values, which the live encoder cannot read (supported: ${SUPPORTED_TYPES})`);
  }
  // Keys are the values as read into `type` (so 2, "2" and "2.0" meet where DuckDB's cast makes them equal).
  const ids = new Map<string, number>();
  vocabulary.values.forEach((value, i) => ids.set(String(readValue(value, type)), i + FIRST_ID));
  const encoders = vocabulary.columns.map((column) => {
    const from = typeOf(columns, column, where);
    if (from.name !== type.name && (type.kind !== "text" || from.kind === "float" || from.kind === "double")) {
      throw new Error(`${where}: the live encoder cannot cast column "${column}" (${from.name}) to the vocabulary's ${type.name}`);
    }
    columns.types.set(column, INTEGER);
    const key = from.name === type.name ? String : (value: number | string) => asText(value, from);
    return { column, key };
  });
  return (rows) => {
    for (const row of rows) {
      for (const { column, key } of encoders) {
        const value = row[column] as number | string | null;
        row[column] = value === null ? OOV_ID : (ids.get(key(value)) ?? OOV_ID);
      }
    }
    return rows;
  };
}

function compileGroupby(step: Extract<WorkflowStep, { op: "groupbySession" }>, columns: Columns, where: string): RowsOp {
  const first = step.first ?? [];
  const last = step.last ?? [];
  const names = groupbySessionColumns(step);
  const keys = [step.time, ...(step.tieBreak ?? [])];
  // DuckDB sorts each session's events as structs: the order keys, then the collected columns (first use order).
  const carried = [...new Set([...step.lists, ...first, ...last])];
  const eventOrder = compareBy([...keys, ...carried]);
  const before = new Map([...names.slice(1, -1)].map((name, i) => [name, [...step.lists, ...first, ...last][i]]));
  const sessionType = typeOf(columns, step.session, where);
  for (const column of [...keys, ...carried]) typeOf(columns, column, where);
  const types = new Map<string, ValueType>([[names[0], sessionType]]);
  for (const [name, source] of before) types.set(name, columns.types.get(source) as ValueType);
  types.set(names[names.length - 1], BIGINT);
  columns.types = types;
  columns.lists = new Set(step.lists.map((c) => `${c}_list`));

  return (rows) => {
    const sessions = partitions(rows, step.session).map((events) => {
      const sorted = [...events].sort(eventOrder);
      const row: Row = { [names[0]]: sorted[0][step.session] };
      for (const c of step.lists) row[`${c}_list`] = sorted.map((e) => e[c] as Value);
      for (const c of first) row[`${c}_first`] = sorted[0][c];
      for (const c of last) row[`${c}_last`] = sorted[sorted.length - 1][c];
      row[names[names.length - 1]] = sorted.length;
      return { row, start: sorted[0][step.time] as Value };
    });
    // Sessions in DuckDB's output order: by their first event's time, then by id.
    sessions.sort((a, b) => compareValues(a.start, b.start) || compareValues(a.row[names[0]] as Value, b.row[names[0]] as Value));
    return sessions.map((s) => s.row);
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The encoder of one workflow.

export interface LiveEncoder {
  /** Names of the encoded columns: the session id, then the output columns (as `Workflow.output` selects them). */
  readonly columns: readonly string[];
  /** One encoded session per input session, in order; errors name the session, the event and the field. */
  encode(sessions: readonly RawSession[]): EncodedSession[];
}

/**
 * Input columns that only break ties between events at the same time (e.g. a file row number), read by no other
 * step: an event may leave them out, and its position in the session's array stands in (the client's order is the
 * session's order). The service does not require them either (lib/serve/events.ts).
 */
export function positionOnlyColumns(steps: readonly WorkflowStep[], inputTypes: Readonly<Record<string, string>>): Set<string> {
  const tieBreaks = new Set(steps.flatMap((step) => (step.op === "groupbySession" || step.op === "removeConsecutiveRepeats" ? (step.tieBreak ?? []) : [])));
  const readOtherwise = new Set(
    steps.flatMap((step) => {
      if (step.op === "removeConsecutiveRepeats") return [step.session, step.time, step.column];
      if (step.op === "groupbySession") return [step.session, step.time, ...step.lists, ...(step.first ?? []), ...(step.last ?? [])];
      return stepReads(step);
    }),
  );
  const integer = (name: string): boolean => inputTypes[name] !== undefined && valueType(inputTypes[name])?.kind === "integer";
  return new Set([...tieBreaks].filter((name) => !readOtherwise.has(name) && integer(name)));
}

/** Encoders by the fitted statistics they were built from (a workflow fitted again gets a new encoder). */
const encoders = new WeakMap<readonly StepStats[], LiveEncoder>();

/** The encoder of a fitted workflow, built once per fit (vocabulary lookups are prepared up front). */
export function liveEncoder(workflow: FittedWorkflow): LiveEncoder {
  const stats = workflow.stepStats;
  let encoder = encoders.get(stats);
  if (encoder === undefined) encoders.set(stats, (encoder = compileEncoder(workflow)));
  return encoder;
}

/** Encodes the raw events of live sessions as the fitted workflow encodes data (see the top of this file). */
export function encodeSessions(workflow: FittedWorkflow, sessions: readonly RawSession[]): EncodedSession[] {
  return liveEncoder(workflow).encode(sessions);
}

interface InputColumn {
  name: string;
  type: ValueType;
  /** Identifies the session (its id, or the user a gap-based sessionize cuts): filled in when absent, one value. */
  identity: boolean;
  /** Orders events: may not be null. */
  required: boolean;
  /**
   * Only breaks ties between events at the same time (e.g. a file row number), read by no other step: when an event
   * leaves it out, its position in the session's array stands in (the client's order is the session's order).
   */
  position: boolean;
}

/** A raw input value as the client gave it, for messages. */
const shown = (raw: unknown): string => (raw instanceof Date ? raw.toISOString() : String(raw));

const quoted = (columns: readonly InputColumn[]): string => columns.map((c) => `"${c.name}"`).join(", ");

function compileEncoder(workflow: FittedWorkflow): LiveEncoder {
  const stats = workflow.stepStats;
  const inputs: InputColumn[] = Object.entries(workflow.inputTypes).map(([name, typeName]) => {
    const type = valueType(typeName);
    if (type === null) throw new Error(`live encoder: input column "${name}" is ${typeName}, which it cannot read (supported: ${SUPPORTED_TYPES})`);
    return { name, type, identity: false, required: false, position: false };
  });
  const mark = (names: readonly string[], field: "identity" | "required"): void => {
    for (const name of names) {
      const column = inputs.find((c) => c.name === name);
      if (column !== undefined) column[field] = true;
    }
  };
  for (const step of workflow.steps) {
    if (step.op === "sessionize") mark("sessionColumn" in step ? [step.sessionColumn] : [step.user], "identity");
    if (step.op === "sessionize" && !("sessionColumn" in step)) mark([step.time], "required");
    if (step.op === "groupbySession" || step.op === "removeConsecutiveRepeats") {
      mark([step.session], "identity");
      mark([step.time, ...(step.tieBreak ?? [])], "required");
    }
  }
  for (const column of inputs) column.required = column.required || column.identity;
  const positions = positionOnlyColumns(workflow.steps, workflow.inputTypes);
  for (const column of inputs) column.position = positions.has(column.name);
  const orders = inputTimeOrders(workflow.steps, inputs.map((column) => column.name));

  const columns: Columns = { types: new Map(inputs.map((column) => [column.name, column.type])), lists: new Set() };
  const ops: RowsOp[] = [];
  workflow.steps.forEach((step, i) => {
    if (!stepFilters(step)) ops.push(compileStep(step, stats[i], columns, `live encoder, workflow step ${i + 1} (${step.op})`));
  });
  const output = outputColumnsOf(workflow);
  const selected = [...output.columns].filter(([, info]) => info.kind !== "raw" && info.kind !== "session");
  const toFloat = (value: Value): Value => (value === null ? null : Math.fround(value as number));

  const readEvents = (events: RawSession, s: number): Row[] => {
    const where = `live session ${s}`;
    if (!Array.isArray(events)) throw new Error(`${where}: expected an array of events, got ${events === null ? "null" : typeof events}`);
    if (events.length === 0) throw new Error(`${where}: no events (a session needs at least one)`);
    events.forEach((event, e) => {
      if (typeof event !== "object" || event === null || Array.isArray(event)) throw new Error(`${where}, event ${e}: expected an object with ${quoted(inputs)}`);
    });
    const rows: Row[] = events.map(() => ({}));
    for (const column of inputs) {
      const given = (e: number): boolean => events[e][column.name] !== undefined;
      const filled = column.identity ? fillValue(events, column, s) : undefined;
      events.forEach((event, e) => {
        if (!given(e) && filled === undefined && !column.position) {
          throw new Error(`${where}, event ${e}: no "${column.name}" (each event needs ${quoted(inputs.filter((c) => !c.identity && !c.position))})`);
        }
        let value: Value;
        try {
          value = readValue(given(e) ? event[column.name] : column.position ? e : filled, column.type);
        } catch (error) {
          if (!(error instanceof ReadError)) throw error;
          throw new Error(`${where}, event ${e}, "${column.name}": ${error.message}`);
        }
        if (value === null && column.required) {
          throw new Error(`${where}, event ${e}, "${column.name}": is null, but the workflow ${column.identity ? "groups" : "orders"} events by it`);
        }
        rows[e][column.name] = value;
      });
    }
    rows.forEach((row, e) => {
      for (const order of orders) {
        const [start, end] = [row[order.start] as number | null, row[order.end] as number | null];
        if (start !== null && end !== null && end < start) {
          throw new Error(`${where}, event ${e}: ${endBeforeStart(order, shown(events[e][order.start]), shown(events[e][order.end]))}`);
        }
      }
    });
    return rows;
  };

  return {
    columns: [output.session, ...selected.map(([name]) => name)],
    encode(sessions) {
      if (!Array.isArray(sessions)) throw new Error("live encoder: expected an array of sessions (each an array of events)");
      return sessions.map((events, s) => {
        const rows = ops.reduce((current, op) => op(current), readEvents(events, s));
        const row = rows[rows.length - 1]; // the latest session when a gap-based sessionize cut the events
        const encoded: EncodedSession = { [output.session]: row[output.session] as Value };
        for (const [name, info] of selected) {
          const value = row[name];
          const cast = info.kind === "continuous" ? toFloat : (v: Value): Value => v;
          encoded[name] = Array.isArray(value) ? value.map(cast) : cast(value);
        }
        return encoded;
      });
    },
  };
}

/**
 * The value of an identity column for session `s`: the one its events give (they must agree), or, when none gives
 * one, a stand-in ("live-<s>" for text, s for numbers). Undefined when the column cannot be filled.
 */
function fillValue(events: RawSession, column: InputColumn, s: number): unknown {
  const given = events.map((event) => event[column.name]).filter((value) => value !== undefined);
  const distinct = [...new Set(given.map((value) => String(value)))];
  if (distinct.length > 1) {
    const shown = distinct.slice(0, 3).map((v) => JSON.stringify(v));
    throw new Error(`live session ${s}: its events disagree on "${column.name}" (${shown.join(", ")}): the events of one session share one id`);
  }
  if (given.length > 0) return given[0];
  return column.type.kind === "text" ? `live-${s}` : column.type.kind === "integer" ? s : undefined;
}
