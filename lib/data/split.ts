// Train / validation splits of an event relation. Both materialize the events once with a split flag (so that
// fitting and writing read a table, not the whole upstream query again) and fail when a split would be empty.
import { Relation } from "./relation";
import { formatCount, ident, isTemporalType, literal } from "./sql";
import type { EventOrder } from "./sessions";

export interface Split {
  train: Relation;
  valid: Relation;
  /** Events in each split. */
  counts: { train: number; valid: number };
}

export interface TimeSplitOptions {
  /** Session id column: a session is never cut in two. */
  session: string;
  /** DATE/TIMESTAMP column. */
  time: string;
  /** Sessions whose first event is before this date/time go to train, the others to valid: "2017-01-01" or "2017-01-01 12:00:00". */
  date: string;
}

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/;

/**
 * `text` when it is a calendar date "2017-01-01" or date and time "2017-01-01 12:00[:00[.000]]" that exists (no
 * month 13, no 30 February, no hour 24); else an error starting with `where` (the option or flag it came from).
 */
export function checkDateText(text: string, where: string): string {
  const parts = DATE_TEXT.exec(text);
  const [year, month, day, hour, minute, second] = (parts?.slice(1) ?? []).map((p) => (p === undefined ? 0 : Number(p)));
  const date = new Date(Date.UTC(year, month - 1, day));
  const exists =
    parts !== null && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
  if (!exists) throw new Error(`${where}: expected a date like 2017-01-01 or 2017-01-01 12:00:00, got ${JSON.stringify(text)}`);
  return text;
}

/**
 * Splits by time at session level: a session that starts before `date` goes to train whole, even when it ends
 * after it (so each session lives in exactly one split, as in the reference course).
 */
export async function timeSplit(relation: Relation, options: TimeSplitOptions): Promise<Split> {
  const where = "timeSplit";
  checkDateText(options.date, `${where}: date`);
  const types = await relation.requireColumns([options.session, options.time], where);
  const timeType = types.get(options.time) as string;
  if (!isTemporalType(timeType)) throw new Error(`${where}: column "${options.time}" of ${relation.label} is ${timeType}, expected DATE or TIMESTAMP`);
  const boundary = `CAST(${literal(options.date)} AS TIMESTAMP)`;
  const s = ident(options.session);
  const flagged = await materializeWithFlag(
    relation,
    `SELECT t.*, s.__start >= ${boundary} AS __later FROM (${relation.sql}) AS t
     JOIN (SELECT ${s} AS __session, min(${ident(options.time)}) AS __start FROM (${relation.sql}) AS t GROUP BY ${s}) AS s ON t.${s} = s.__session`,
  );
  const row = await relation.db.row(`SELECT count(*) FILTER (WHERE NOT __later) AS train, count(*) FILTER (WHERE __later) AS valid FROM (${flagged.sql}) AS t`);
  const counts = { train: Number(row?.train), valid: Number(row?.valid) };
  for (const name of ["train", "valid"] as const) {
    if (counts[name] > 0) continue;
    await flagged.drop();
    const range = await relation.db.row(
      `SELECT CAST(min(${ident(options.time)}) AS VARCHAR) AS first, CAST(max(${ident(options.time)}) AS VARCHAR) AS last FROM (${relation.sql}) AS t`,
    );
    throw new Error(
      `${where}: the ${name} split of ${relation.label} has no rows (sessions starting before ${options.date} go to train, the others to valid; ` +
        `"${options.time}" runs from ${range?.first} to ${range?.last})`,
    );
  }
  const part = (name: "train" | "valid", keep: string): Relation =>
    flagged.derive((from) => `SELECT * EXCLUDE (__later) FROM ${from} WHERE ${keep}`, `${relation.label} (${name} split, ${formatCount(counts[name])} events)`);
  return { train: part("train", "NOT __later"), valid: part("valid", "__later"), counts };
}

export interface LastItemSplitOptions extends EventOrder {
  /** Events held out at the end of each session. Default 1. */
  n?: number;
}

/**
 * Leave-last-out: train gets every session without its last `n` events; valid gets the whole sessions that have
 * more than `n` events, whose last `n` events are the ones to predict.
 */
export async function lastItemSplit(relation: Relation, options: LastItemSplitOptions): Promise<Split> {
  const where = "lastItemSplit";
  const n = options.n ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: n must be an integer >= 1, got ${options.n}`);
  await relation.requireColumns([options.session, options.time, ...(options.tieBreak ?? [])], where);
  const s = ident(options.session);
  const newestFirst = [options.time, ...(options.tieBreak ?? [])].map((c) => `${ident(c)} DESC`).join(", ");
  const flagged = await materializeWithFlag(
    relation,
    `SELECT *, row_number() OVER (PARTITION BY ${s} ORDER BY ${newestFirst}) AS __from_end, count(*) OVER (PARTITION BY ${s}) AS __length
     FROM (${relation.sql}) AS t`,
  );
  const train = flagged.derive((from) => `SELECT * EXCLUDE (__from_end, __length) FROM ${from} WHERE __from_end > ${n}`, `${relation.label} (train: all but the last ${n} of each session)`);
  const valid = flagged.derive((from) => `SELECT * EXCLUDE (__from_end, __length) FROM ${from} WHERE __length > ${n}`, `${relation.label} (valid: sessions of more than ${n} events)`);
  const counts = { train: await train.count(), valid: await valid.count() };
  if (counts.train === 0) throw new Error(`${where}: no session of ${relation.label} has more than ${n} events, so both splits are empty`);
  return { train, valid, counts };
}

async function materializeWithFlag(relation: Relation, sql: string): Promise<Relation> {
  return new Relation(relation.db, sql, relation.label).materialize(relation.db.uniqueName("split"));
}
