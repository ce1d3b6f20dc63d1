// The interface every non-neural baseline implements, and what they share: input checks and item counts.
//
// Sessions are encoded item-id sequences, oldest first (lib/data's encoding: 0 = padding, 1 = OOV,
// 2..nItems-1 = known items). Ids 0 and 1 carry no item identity, so every baseline drops them from a
// session before using it (for fitting and for scoring); they are never recommended either.
import { FIRST_CANDIDATE } from "../metrics/rank";

export interface Recommender {
  readonly name: string;
  /** Catalogue size including ids 0 and 1 (the schema's `cardinality` of the item column). */
  readonly nItems: number;
  /** Learns from training sessions (each oldest first). Call once; a second call starts over. */
  fit(sessions: readonly Int32Array[]): void;
  /**
   * Scores [nItems] of what comes after `session` (oldest first); higher = recommended earlier. Scores of ids
   * 0 and 1 are meaningless. Writes into `out` when given (length nItems; lets a caller reuse one buffer
   * across many calls), else allocates.
   */
  score(session: Int32Array, out?: Float32Array): Float32Array;
}

/** Throws unless nItems is a usable catalogue size. */
export function checkItemCount(nItems: number, who: string): void {
  if (!Number.isInteger(nItems) || nItems <= FIRST_CANDIDATE) {
    throw new Error(`${who}: nItems must be an integer > ${FIRST_CANDIDATE} (ids 0 and 1 are reserved), got ${nItems}`);
  }
}

/** Throws, naming the position (and `where`), unless every id of the session lies in [0, nItems). */
export function checkSession(session: Int32Array, nItems: number, where: string): void {
  for (let j = 0; j < session.length; j++) {
    const id = session[j];
    if (id < 0 || id >= nItems) throw new Error(`${where}[${j}] = ${id} is outside [0, ${nItems})`);
  }
}

/** `checkSession` for every training session. */
export function checkSessions(sessions: readonly Int32Array[], nItems: number, who: string): void {
  sessions.forEach((session, s) => checkSession(session, nItems, `${who}: sessions[${s}]`));
}

/** The session's item ids without 0 and 1, oldest first (the session itself when it has none). */
export function knownItems(session: Int32Array): Int32Array {
  let known = 0;
  for (let j = 0; j < session.length; j++) if (session[j] >= FIRST_CANDIDATE) known++;
  if (known === session.length) return session;
  const items = new Int32Array(known);
  let next = 0;
  for (let j = 0; j < session.length; j++) if (session[j] >= FIRST_CANDIDATE) items[next++] = session[j];
  return items;
}

/** Occurrences of each known item over all sessions (an item seen twice in a session counts twice), [nItems]. */
export function itemCounts(sessions: readonly Int32Array[], nItems: number): Float64Array {
  const counts = new Float64Array(nItems);
  for (const session of sessions) {
    for (let j = 0; j < session.length; j++) if (session[j] >= FIRST_CANDIDATE) counts[session[j]]++;
  }
  return counts;
}

/** `out` checked to hold nItems scores, or a new zeroed array. */
export function outputBuffer(out: Float32Array | undefined, nItems: number, who: string): Float32Array {
  if (out === undefined) return new Float32Array(nItems);
  if (out.length !== nItems) throw new Error(`${who}.score: out has length ${out.length}, expected nItems = ${nItems}`);
  return out;
}
