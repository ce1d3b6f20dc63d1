// Which session each event belongs to: either a session id the data already has (Booking's utrip_id), or
// sessions cut from each user's event stream wherever the user was inactive for longer than a gap.
import type { Relation } from "./relation";
import { ident, isNumericType, isTemporalType } from "./sql";

export type SessionizeOptions =
  | {
      /** Existing session id column, copied to `output`. */
      sessionColumn: string;
      /** Default "session_id". */
      output?: string;
    }
  | {
      user: string;
      /** DATE/TIMESTAMP column, or a number of seconds. */
      time: string;
      /** A new session starts when the previous event of the user is more than this many seconds earlier. */
      gapSeconds: number;
      /** Default "session_id". */
      output?: string;
    };

/**
 * Adds a session id column. With `gapSeconds`, the id is `<user>:<n>` where n counts the user's sessions from 1 in
 * time order (VARCHAR); with `sessionColumn`, it is a copy of that column.
 */
export async function sessionize(relation: Relation, options: SessionizeOptions): Promise<Relation> {
  const where = "sessionize";
  const output = options.output ?? "session_id";
  if ("sessionColumn" in options) {
    await relation.requireColumns([options.sessionColumn], where);
    return relation.withColumns({ [output]: ident(options.sessionColumn) });
  }
  const { user, time, gapSeconds } = options;
  if (!(typeof gapSeconds === "number" && gapSeconds >= 0)) throw new Error(`${where}: gapSeconds must be a number >= 0, got ${gapSeconds}`);
  const types = await relation.requireColumns([user, time], where);
  const timeType = types.get(time) as string;
  if (!isTemporalType(timeType) && !isNumericType(timeType)) {
    throw new Error(`${where}: column "${time}" of ${relation.label} is ${timeType}, expected DATE, TIMESTAMP or seconds`);
  }
  const seconds = isTemporalType(timeType) ? `epoch(${ident(time)})` : `CAST(${ident(time)} AS DOUBLE)`;
  // Events at the same time are peers (RANGE frames), so ties always land in the same session.
  const byUser = `PARTITION BY ${ident(user)} ORDER BY __seconds`;
  const withSeconds = relation.derive((from) => `SELECT *, ${seconds} AS __seconds FROM ${from}`);
  const starts = withSeconds.derive(
    (from) =>
      `SELECT *, coalesce(__seconds - max(__seconds) OVER (${byUser} RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP) > ${gapSeconds}, true) AS __starts FROM ${from}`,
  );
  const sessionStarts = starts.derive(
    (from) => `SELECT *, max(CASE WHEN __starts THEN __seconds END) OVER (${byUser} RANGE UNBOUNDED PRECEDING) AS __session_start FROM ${from}`,
  );
  return sessionStarts.derive(
    (from) =>
      `SELECT * EXCLUDE (__seconds, __starts, __session_start), concat(CAST(${ident(user)} AS VARCHAR), ':', ` +
      `dense_rank() OVER (PARTITION BY ${ident(user)} ORDER BY __session_start)) AS ${ident(output)} FROM ${from}`,
  );
}
