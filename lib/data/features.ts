// Per-event feature operators: parts of a date/time, durations between two times, log1p, and z-score
// normalization whose mean and standard deviation are fitted on one relation (the train split) and applied to any.
import type { Relation } from "./relation";
import { doubleLiteral, ident, isNumericType, isTemporalType } from "./sql";

/** Calendar parts `timeFeatures` can extract; all are INTEGER. */
export type TimePart = "weekday" | "month" | "day" | "dayofyear" | "week" | "year" | "hour" | "minute";

const TIME_PARTS: Record<TimePart, (column: string) => string> = {
  weekday: (c) => `isodow(${c}) - 1`, // Monday 0 … Sunday 6, as pandas' dt.weekday (the reference course)
  month: (c) => `month(${c})`, // 1 … 12
  day: (c) => `dayofmonth(${c})`, // 1 … 31
  dayofyear: (c) => `dayofyear(${c})`, // 1 … 366
  week: (c) => `weekofyear(${c})`, // ISO week 1 … 53
  year: (c) => `year(${c})`,
  hour: (c) => `hour(${c})`, // 0 … 23
  minute: (c) => `minute(${c})`, // 0 … 59
};

export const TIME_PART_NAMES = Object.keys(TIME_PARTS) as TimePart[];

async function requireType(relation: Relation, column: string, where: string, ok: (type: string) => boolean, expected: string): Promise<void> {
  const type = (await relation.requireColumns([column], where)).get(column) as string;
  if (!ok(type)) throw new Error(`${where}: column "${column}" of ${relation.label} is ${type}, expected ${expected}`);
}

export interface TimeFeaturesOptions {
  /** A DATE or TIMESTAMP column. */
  column: string;
  /** Output column name → calendar part, e.g. `{ weekday_checkin: "weekday", month_checkin: "month" }`. */
  features: Record<string, TimePart>;
}

/** Adds INTEGER calendar features of a DATE/TIMESTAMP column (weekday counts Monday = 0 … Sunday = 6). */
export async function timeFeatures(relation: Relation, options: TimeFeaturesOptions): Promise<Relation> {
  const where = "timeFeatures";
  await requireType(relation, options.column, where, isTemporalType, "DATE or TIMESTAMP");
  const expressions: Record<string, string> = {};
  for (const [output, part] of Object.entries(options.features)) {
    const sql = TIME_PARTS[part];
    if (sql === undefined) throw new Error(`${where}: unknown time part "${part}" for "${output}" (known: ${TIME_PART_NAMES.join(", ")})`);
    expressions[output] = `CAST(${sql(ident(options.column))} AS INTEGER)`;
  }
  return relation.withColumns(expressions);
}

export type DurationUnit = "seconds" | "minutes" | "hours" | "days";

const UNIT_SECONDS: Record<DurationUnit, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };

export interface DurationOptions {
  start: string;
  end: string;
  /** Default "days". */
  unit?: DurationUnit;
  output: string;
}

/** Two time columns of one event where `end` may not come before `start` (a `duration` between inputs, e.g. a stay). */
export interface TimeOrder {
  start: string;
  end: string;
}

/** How every reader of events (files, live sessions) words an event that ends before it starts. */
export function endBeforeStart(order: TimeOrder, start: string, end: string): string {
  return `"${order.end}" (${end}) is before "${order.start}" (${start})`;
}

/** Adds `end - start` in `unit` (DOUBLE, fractional for timestamps; whole days between two DATEs). */
export async function duration(relation: Relation, options: DurationOptions): Promise<Relation> {
  const where = "duration";
  const unit = options.unit ?? "days";
  if (!(unit in UNIT_SECONDS)) throw new Error(`${where}: unknown unit "${unit}" (known: ${Object.keys(UNIT_SECONDS).join(", ")})`);
  for (const column of [options.start, options.end]) await requireType(relation, column, where, isTemporalType, "DATE or TIMESTAMP");
  const seconds = `(epoch(${ident(options.end)}) - epoch(${ident(options.start)}))`;
  return relation.withColumns({ [options.output]: `CAST(${seconds} AS DOUBLE) / ${UNIT_SECONDS[unit]}` });
}

export interface ColumnOptions {
  /** A numeric column. */
  column: string;
  /** Where the result goes. Default: `column` itself (replaced in place). */
  output?: string;
}

/** ln(1 + x) as DOUBLE; NULL where x <= -1. */
export async function log1p(relation: Relation, options: ColumnOptions): Promise<Relation> {
  await requireType(relation, options.column, "log1p", isNumericType, "a number");
  const x = `CAST(${ident(options.column)} AS DOUBLE)`;
  return relation.withColumns({ [options.output ?? options.column]: `CASE WHEN ${x} > -1 THEN ln(1 + ${x}) END` });
}

export interface NormalizeStats {
  /** Mean of the fitted values. */
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 1 when the values do not vary, so nothing divides by 0. */
  std: number;
  /** Number of non-NULL values fitted on. */
  count: number;
}

/** Mean and sample standard deviation of a numeric column, ignoring NULLs. */
export async function fitNormalize(relation: Relation, column: string): Promise<NormalizeStats> {
  const where = "normalize";
  await requireType(relation, column, where, isNumericType, "a number");
  const row = await relation.db.row(
    `SELECT count(c) AS n, avg(c) AS mean, stddev_samp(c) AS std FROM (SELECT CAST(${ident(column)} AS DOUBLE) AS c FROM (${relation.sql}) AS t) AS t`,
  );
  const count = Number(row?.n ?? 0);
  if (count === 0) throw new Error(`${where}: column "${column}" of ${relation.label} has no values to fit the mean and deviation on`);
  const std = row?.std === null ? 0 : Number(row?.std);
  return { mean: Number(row?.mean), std: std > 0 ? std : 1, count };
}

/** (x − mean) / std as DOUBLE, with statistics from `fitNormalize`. */
export async function normalize(relation: Relation, options: ColumnOptions & { stats: NormalizeStats }): Promise<Relation> {
  await requireType(relation, options.column, "normalize", isNumericType, "a number");
  const { mean, std } = options.stats;
  const x = `CAST(${ident(options.column)} AS DOUBLE)`;
  return relation.withColumns({ [options.output ?? options.column]: `(${x} - ${doubleLiteral(mean)}) / ${doubleLiteral(std)}` });
}
