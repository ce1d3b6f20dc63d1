// Successor-count baseline (a first-order Markov chain without normalisation): recommend the items that most
// often came right after the session's last item in training, then fall back on popularity.
//
// Transitions are counted between consecutive items of each training session after dropping ids 0 and 1
// (see recommender.ts), and the "last item" of a session is its last known item. The score of item j is
//   count(last → j) + popularity(j) / (maxPopularity + 1)
// The popularity share lies in [0, 1), so items with more transitions always rank first, equal transition
// counts (including the zero count of every item when the last item has no recorded successor, or the
// session no known item) are ordered by popularity, and the full-ranking tie rule settles the rest.
import { FIRST_CANDIDATE } from "../metrics/rank";
import {
  checkItemCount,
  checkSession,
  checkSessions,
  itemCounts,
  knownItems,
  outputBuffer,
  type Recommender,
} from "./recommender";
import { type BaselineState, checkCounts, checkItemIds, checkOffsets, stateArray } from "./state";

/** Transition counts in compressed-row form: the successors of item a are successors[start[a]..start[a+1]). */
interface TransitionTable {
  start: Int32Array; // [nItems + 1]
  successors: Int32Array; // [distinct transitions], ascending within a row
  counts: Float32Array; // [distinct transitions]
}

function countTransitions(sessions: readonly Int32Array[], nItems: number): TransitionTable {
  // First pass: how many transitions leave each item, as row offsets (shifted by one for the prefix sum).
  const rowStart = new Int32Array(nItems + 1);
  for (const session of sessions) for (let j = 1; j < session.length; j++) rowStart[session[j - 1] + 1]++;
  for (let a = 0; a < nItems; a++) rowStart[a + 1] += rowStart[a];
  // Second pass: every successor occurrence, grouped by source item.
  const all = new Int32Array(rowStart[nItems]);
  const cursor = rowStart.slice(0, nItems);
  for (const session of sessions) for (let j = 1; j < session.length; j++) all[cursor[session[j - 1]]++] = session[j];
  // Sort each row and merge repeats into (successor, count) pairs.
  const start = new Int32Array(nItems + 1);
  const successors = new Int32Array(all.length);
  const counts = new Float32Array(all.length);
  let distinct = 0;
  for (let a = 0; a < nItems; a++) {
    start[a] = distinct;
    const row = all.subarray(rowStart[a], rowStart[a + 1]).sort();
    for (let r = 0; r < row.length; r++) {
      if (r > 0 && row[r] === row[r - 1]) counts[distinct - 1]++;
      else {
        successors[distinct] = row[r];
        counts[distinct++] = 1;
      }
    }
  }
  start[nItems] = distinct;
  return { start, successors: successors.slice(0, distinct), counts: counts.slice(0, distinct) };
}

export class SuccessorCounts implements Recommender {
  readonly name = "successor-counts";
  readonly nItems: number;
  private transitions: TransitionTable | null = null;
  /** popularity / (max popularity + 1) per item [nItems]: the back-off part of every score. */
  private popularityShare: Float32Array = new Float32Array(0);

  constructor(nItems: number) {
    checkItemCount(nItems, "SuccessorCounts");
    this.nItems = nItems;
  }

  fit(sessions: readonly Int32Array[]): void {
    checkSessions(sessions, this.nItems, "SuccessorCounts.fit");
    this.transitions = countTransitions(sessions.map(knownItems), this.nItems);
    const popularity = itemCounts(sessions, this.nItems);
    let maxPopularity = 0;
    for (let i = 0; i < this.nItems; i++) maxPopularity = Math.max(maxPopularity, popularity[i]);
    this.popularityShare = Float32Array.from(popularity, (count) => count / (maxPopularity + 1));
  }

  /** No settings. */
  get config(): Record<string, unknown> {
    return {};
  }

  /** { start, successors, counts, popularityShare } (see saved.ts). */
  state(): BaselineState {
    const { start, successors, counts } = this.fitted();
    return { start, successors, counts, popularityShare: this.popularityShare };
  }

  restore(state: BaselineState): void {
    const start = stateArray(state, "start", "int32", this.nItems + 1);
    const successors = stateArray(state, "successors", "int32", null);
    const counts = stateArray(state, "counts", "float32", successors.length);
    const popularityShare = stateArray(state, "popularityShare", "float32", this.nItems);
    checkOffsets(start, successors.length, "start");
    checkItemIds(successors, this.nItems, "successors");
    checkCounts(counts, "counts");
    checkCounts(popularityShare, "popularityShare", 1);
    this.transitions = { start, successors, counts };
    this.popularityShare = popularityShare;
  }

  score(session: Int32Array, out?: Float32Array): Float32Array {
    const { start, successors, counts } = this.fitted();
    checkSession(session, this.nItems, "SuccessorCounts.score: session");
    const scores = outputBuffer(out, this.nItems, "SuccessorCounts");
    scores.set(this.popularityShare);
    let last = session.length - 1;
    while (last >= 0 && session[last] < FIRST_CANDIDATE) last--;
    if (last < 0) return scores;
    const item = session[last];
    for (let r = start[item]; r < start[item + 1]; r++) scores[successors[r]] += counts[r];
    return scores;
  }

  /** Times `next` directly followed `item` in the training sessions. */
  transitionCount(item: number, next: number): number {
    const { start, successors, counts } = this.fitted();
    for (let r = start[item]; r < start[item + 1]; r++) if (successors[r] === next) return counts[r];
    return 0;
  }

  private fitted(): TransitionTable {
    if (this.transitions === null) throw new Error("SuccessorCounts: call fit(sessions) first");
    return this.transitions;
  }
}
