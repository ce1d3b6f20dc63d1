// From events to sessions: drop consecutive repeats, group each session's events into time-ordered list columns
// (one row per session), keep the last n entries of the lists, drop sessions that are too short.
import type { Relation } from "./relation";
import { ident, isListType, isNumericType } from "./sql";

/** How the events of a session are ordered (oldest first). */
export interface EventOrder {
  /** The session id column. */
  session: string;
  /** The time column. */
  time: string;
  /**
   * Columns breaking ties between events of a session at the same time. Default: none (groupbySession then orders
   * ties by the values of the columns it collects; elsewhere their order is unspecified).
   */
  tieBreak?: string[];
}

function orderSql(order: EventOrder): string {
  return [order.time, ...(order.tieBreak ?? [])].map(ident).join(", ");
}

function orderColumns(order: EventOrder): string[] {
  return [order.session, order.time, ...(order.tieBreak ?? [])];
}

/** Drops an event when `column` has the same value as the session's previous event (e.g. reloads of one page). */
export async function removeConsecutiveRepeats(relation: Relation, options: EventOrder & { column: string }): Promise<Relation> {
  await relation.requireColumns([...orderColumns(options), options.column], "removeConsecutiveRepeats");
  const c = ident(options.column);
  return relation.derive(
    (from) => `SELECT * FROM ${from} QUALIFY ${c} IS DISTINCT FROM lag(${c}) OVER (PARTITION BY ${ident(options.session)} ORDER BY ${orderSql(options)})`,
  );
}

export interface GroupbySessionOptions extends EventOrder {
  /** Columns collected into time-ordered lists named `<column>_list`. */
  lists: string[];
  /** Columns whose first value (oldest event) becomes `<column>_first`. Default none. */
  first?: string[];
  /** Columns whose last value (newest event) becomes `<column>_last`. Default none. */
  last?: string[];
  /** Name of the events-per-session column (counted before any slicing). Default "count". */
  count?: string;
  /** Name of the session id column in the output. Default "session_id". */
  sessionOutput?: string;
}

/** Output column names of `groupbySession`, in order. */
export function groupbySessionColumns(options: GroupbySessionOptions): string[] {
  return [
    options.sessionOutput ?? "session_id",
    ...options.lists.map((c) => `${c}_list`),
    ...(options.first ?? []).map((c) => `${c}_first`),
    ...(options.last ?? []).map((c) => `${c}_last`),
    options.count ?? "count",
  ];
}

/**
 * One row per session: the session id, list columns in event order (oldest first), first/last values and the
 * number of events. Sessions come out ordered by their first event's time, then by id.
 */
export async function groupbySession(relation: Relation, options: GroupbySessionOptions): Promise<Relation> {
  const where = "groupbySession";
  if (options.lists.length === 0) throw new Error(`${where}: "lists" needs at least one column`);
  const first = options.first ?? [];
  const last = options.last ?? [];
  await relation.requireColumns([...orderColumns(options), ...options.lists, ...first, ...last], where);
  const names = groupbySessionColumns(options);
  if (new Set(names).size !== names.length) throw new Error(`${where}: output column names collide: ${names.join(", ")}`);

  // One unordered list of structs per session, sorted once: DuckDB's ordered aggregates (list(x ORDER BY t)) sort
  // per aggregate and are several times slower. Structs compare field by field, so the order keys come first.
  const keys = [options.time, ...(options.tieBreak ?? [])];
  const carried = [...new Set([...options.lists, ...first, ...last])];
  const field = (column: string): string => ident(`v${carried.indexOf(column)}`);
  const struct = [...keys.map((c, i) => `${ident(`k${i}`)} := ${ident(c)}`), ...carried.map((c) => `${field(c)} := ${ident(c)}`)];
  const events = relation.derive(
    (from) => `SELECT ${ident(options.session)} AS __session, list_sort(list(struct_pack(${struct.join(", ")}))) AS __events FROM ${from} GROUP BY ${ident(options.session)}`,
  );
  const outputs = [
    `__session AS ${ident(names[0])}`,
    ...options.lists.map((c) => `list_transform(__events, lambda e: e.${field(c)}) AS ${ident(`${c}_list`)}`),
    ...first.map((c) => `__events[1].${field(c)} AS ${ident(`${c}_first`)}`),
    ...last.map((c) => `__events[-1].${field(c)} AS ${ident(`${c}_last`)}`),
    `len(__events) AS ${ident(options.count ?? "count")}`,
  ];
  return events.derive((from) => `SELECT ${outputs.join(", ")} FROM ${from} ORDER BY __events[1].k0, __session`);
}

export interface SliceLastOptions {
  /** Entries kept: the last (newest) n. */
  n: number;
  /** List columns to cut. Default: every list column. */
  columns?: string[];
}

/** Keeps the last `n` entries of list columns (shorter lists are unchanged). */
export async function sliceLast(relation: Relation, options: SliceLastOptions): Promise<Relation> {
  const where = "sliceLast";
  if (!Number.isInteger(options.n) || options.n < 1) throw new Error(`${where}: n must be an integer >= 1, got ${options.n}`);
  const types = await relation.requireColumns(options.columns ?? [], where);
  const columns = options.columns ?? [...types].filter(([, type]) => isListType(type)).map(([name]) => name);
  for (const column of columns) {
    if (!isListType(types.get(column) as string)) throw new Error(`${where}: column "${column}" of ${relation.label} is not a list`);
  }
  return relation.withColumns(Object.fromEntries(columns.map((c) => [c, `list_slice(${ident(c)}, -${options.n}, -1)`])));
}

export interface FilterMinLengthOptions {
  /** A list column (its length is compared) or a count column. */
  column: string;
  /** Sessions with fewer entries are dropped. */
  min: number;
}

/** Keeps the rows whose list `column` has at least `min` entries (or whose count `column` is at least `min`). */
export async function filterMinLength(relation: Relation, options: FilterMinLengthOptions): Promise<Relation> {
  const where = "filterMinLength";
  if (!Number.isInteger(options.min) || options.min < 0) throw new Error(`${where}: min must be an integer >= 0, got ${options.min}`);
  const length = await lengthOf(relation, options.column, where);
  return relation.derive((from) => `SELECT * FROM ${from} WHERE ${length} >= ${options.min}`);
}

/** The largest length (list column) or count (count column) of `column`; null when `relation` has no rows. */
export async function longest(relation: Relation, column: string): Promise<number | null> {
  const length = await lengthOf(relation, column, "longest");
  const row = await relation.db.row(`SELECT max(${length}) AS n FROM (${relation.sql}) AS t`);
  return row?.n === null || row?.n === undefined ? null : Number(row.n);
}

/** SQL for the length of list `column`, or the value of count `column`. */
async function lengthOf(relation: Relation, column: string, where: string): Promise<string> {
  const type = (await relation.requireColumns([column], where)).get(column) as string;
  const c = ident(column);
  if (!isListType(type) && !isNumericType(type)) throw new Error(`${where}: column "${column}" of ${relation.label} is ${type}, expected a list or a count`);
  return isListType(type) ? `len(${c})` : c;
}
