// Session-based kNN, V-SKNN variant (Ludewig & Jannach 2018, "Evaluation of session-based recommendation
// algorithms"; defaults and weighting as in their session-rec VMContextKNN). What is implemented, exactly:
//
// 1. The current session s (ids 0 and 1 dropped, L events left) becomes a weighted item vector: the event at
//    1-based position p weighs p / L (linear decay: the last event weighs 1, the first 1/L); an item seen
//    several times keeps the weight of its latest occurrence.
// 2. Candidate neighbours: the `sampleSize` most recent training sessions that share at least one item with s.
//    "Recent" = later in the array given to `fit`, so pass training sessions in time order.
// 3. Similarity of s with a past session n (its distinct items, unweighted), summing over common items i:
//      "cosine" (default): sum_i w_i / (sqrt(sum_{j in s} w_j^2) * sqrt(|n|))
//      "vec":              sum_i w_i / |s|        (|s| = distinct items of s)
// 4. Neighbours: the `k` most similar candidates (equal similarities: the more recent session first).
// 5. Score of item j = sum of the similarities of the neighbours that contain j. Items in no neighbour score 0;
//    a session without known items scores every item 0.
//
// Speed: an inverted index item → sessions (ascending) lets step 2 merge the posting lists of the session's
// items from their recent ends, summing the common-item weights on the way, so no session is scanned for the
// similarity and only k neighbours are expanded into the [nItems] score array. VSTAN (vstan.ts) shares the index,
// the merge (`recentCandidates`) and the selection of the k nearest (`nearestOf`).
import { checkItemCount, checkSession, checkSessions, knownItems, outputBuffer, type Recommender } from "./recommender";
import { type BaselineState, checkItemIds, checkOffsets, stateArray } from "./state";

export type SessionSimilarity = "cosine" | "vec";

export interface SessionKnnConfig {
  /** Neighbours whose items are scored. Default 100. */
  k?: number;
  /** Most recent sessions sharing an item with the current one that are considered as neighbours. Default 500. */
  sampleSize?: number;
  /** Default "cosine". */
  similarity?: SessionSimilarity;
}

/** Neighbours of a session, most similar first: training-session indices and their similarities. */
export interface Neighbours {
  sessions: Int32Array;
  similarities: Float64Array;
}

/** Compressed rows: the entries of row r are values[start[r]..start[r+1]). */
export interface Rows {
  start: Int32Array;
  values: Int32Array;
}

/** The distinct known items of each session, in first-occurrence order, with the 1-based position of each one's
 *  last occurrence in its session (`lastPosition`, aligned with `values`; VSTAN's item-position weights read it). */
export function distinctItemsBySession(
  sessions: readonly Int32Array[],
  nItems: number,
): Rows & { lastPosition: Int32Array } {
  const lastSessionOf = new Int32Array(nItems).fill(-1);
  const entryOf = new Int32Array(nItems);
  const start = new Int32Array(sessions.length + 1);
  const values: number[] = [];
  const lastPosition: number[] = [];
  sessions.forEach((session, s) => {
    start[s] = values.length;
    for (let j = 0; j < session.length; j++) {
      const item = session[j];
      if (lastSessionOf[item] === s) {
        lastPosition[entryOf[item]] = j + 1;
        continue;
      }
      lastSessionOf[item] = s;
      entryOf[item] = values.length;
      values.push(item);
      lastPosition.push(j + 1);
    }
  });
  start[sessions.length] = values.length;
  return { start, values: Int32Array.from(values), lastPosition: Int32Array.from(lastPosition) };
}

/** Inverted index: the sessions holding each item, ascending (= oldest first). */
export function sessionsByItem(itemsOfSession: Rows, nSessions: number, nItems: number): Rows {
  const start = new Int32Array(nItems + 1);
  for (const item of itemsOfSession.values) start[item + 1]++;
  for (let i = 0; i < nItems; i++) start[i + 1] += start[i];
  const cursor = start.slice(0, nItems);
  const values = new Int32Array(itemsOfSession.values.length);
  for (let s = 0; s < nSessions; s++) {
    for (let r = itemsOfSession.start[s]; r < itemsOfSession.start[s + 1]; r++)
      values[cursor[itemsOfSession.values[r]]++] = s;
  }
  return { start, values };
}

export function checkPositiveInteger(value: number, name: string, who = "SessionKnn"): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${who}: ${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Steps 2–3 of the header for a session whose distinct known items are `distinct` with weights `weightOf[item]`:
 * the `sampleSize` most recent training sessions sharing an item with it, most recent first, and their similarity.
 * Merges the posting lists from their most recent ends; each step yields the next most recent session sharing an
 * item and the summed weights of the items it shares.
 */
export function recentCandidates(
  distinct: readonly number[],
  weightOf: Float64Array,
  index: { itemsOfSession: Rows; sessionsOfItem: Rows },
  sampleSize: number,
  similarity: SessionSimilarity,
): { candidates: number[]; similarities: number[] } {
  const { itemsOfSession, sessionsOfItem } = index;
  const cursor = Int32Array.from(distinct, (item) => sessionsOfItem.start[item + 1] - 1);
  const candidates: number[] = [];
  const overlaps: number[] = [];
  while (candidates.length < sampleSize) {
    let latest = -1;
    distinct.forEach((item, c) => {
      if (cursor[c] >= sessionsOfItem.start[item]) latest = Math.max(latest, sessionsOfItem.values[cursor[c]]);
    });
    if (latest < 0) break;
    let overlap = 0;
    distinct.forEach((item, c) => {
      if (cursor[c] >= sessionsOfItem.start[item] && sessionsOfItem.values[cursor[c]] === latest) {
        overlap += weightOf[item];
        cursor[c]--;
      }
    });
    candidates.push(latest);
    overlaps.push(overlap);
  }
  let squaredNorm = 0;
  for (const item of distinct) squaredNorm += weightOf[item] ** 2;
  const similarities = overlaps.map((overlap, c) => {
    if (similarity === "vec") return overlap / distinct.length;
    const size = itemsOfSession.start[candidates[c] + 1] - itemsOfSession.start[candidates[c]];
    return overlap / (Math.sqrt(squaredNorm) * Math.sqrt(size));
  });
  return { candidates, similarities };
}

/** The `k` most similar candidates, most similar first; candidates come most recent first and the sort is stable,
 *  so equal similarities keep the more recent session first. */
export function nearestOf(candidates: readonly number[], similarities: readonly number[], k: number): Neighbours {
  const order = candidates.map((_, c) => c).sort((a, b) => similarities[b] - similarities[a]);
  const nearest = order.slice(0, k);
  return {
    sessions: Int32Array.from(nearest, (c) => candidates[c]),
    similarities: Float64Array.from(nearest, (c) => similarities[c]),
  };
}

export class SessionKnn implements Recommender {
  readonly name = "v-sknn";
  readonly nItems: number;
  readonly k: number;
  readonly sampleSize: number;
  readonly similarity: SessionSimilarity;
  private itemsOfSession: Rows | null = null;
  private sessionsOfItem: Rows | null = null;
  /** Scratch [nItems]: weight of each item of the session being scored, 0 elsewhere (reset after each call). */
  private readonly weightOf: Float64Array;

  constructor(nItems: number, config: SessionKnnConfig = {}) {
    checkItemCount(nItems, "SessionKnn");
    this.nItems = nItems;
    this.k = checkPositiveInteger(config.k ?? 100, "k");
    this.sampleSize = checkPositiveInteger(config.sampleSize ?? 500, "sampleSize");
    this.similarity = config.similarity ?? "cosine";
    if (this.similarity !== "cosine" && this.similarity !== "vec") {
      throw new Error(`SessionKnn: similarity must be "cosine" or "vec", got "${String(this.similarity)}"`);
    }
    this.weightOf = new Float64Array(nItems);
  }

  /** Indexes the training sessions (in time order: later = more recent). */
  fit(sessions: readonly Int32Array[]): void {
    checkSessions(sessions, this.nItems, "SessionKnn.fit");
    const { start, values } = distinctItemsBySession(sessions.map(knownItems), this.nItems);
    this.itemsOfSession = { start, values };
    this.sessionsOfItem = sessionsByItem(this.itemsOfSession, sessions.length, this.nItems);
  }

  /** The settings, every default filled in. */
  get config(): Record<string, unknown> {
    return { k: this.k, sampleSize: this.sampleSize, similarity: this.similarity };
  }

  /** { sessionStart, sessionItems }: the distinct items of each training session (see saved.ts); the inverted
   *  index is rebuilt from them. */
  state(): BaselineState {
    const { start, values } = this.fitted().itemsOfSession;
    return { sessionStart: start, sessionItems: values };
  }

  restore(state: BaselineState): void {
    const start = stateArray(state, "sessionStart", "int32", null);
    const values = stateArray(state, "sessionItems", "int32", null);
    checkOffsets(start, values.length, "sessionStart");
    checkItemIds(values, this.nItems, "sessionItems");
    this.itemsOfSession = { start, values };
    this.sessionsOfItem = sessionsByItem(this.itemsOfSession, start.length - 1, this.nItems);
  }

  /** The `k` nearest training sessions of `session` (steps 1–4 of the header), most similar first. */
  neighbours(session: Int32Array): Neighbours {
    const { itemsOfSession, sessionsOfItem } = this.fitted();
    checkSession(session, this.nItems, "SessionKnn: session");
    const known = knownItems(session);
    const weightOf = this.weightOf;
    const distinct: number[] = [];
    known.forEach((item, p) => {
      if (weightOf[item] === 0) distinct.push(item);
      weightOf[item] = (p + 1) / known.length;
    });
    const { candidates, similarities } = recentCandidates(
      distinct,
      weightOf,
      { itemsOfSession, sessionsOfItem },
      this.sampleSize,
      this.similarity,
    );
    for (const item of distinct) weightOf[item] = 0;
    return nearestOf(candidates, similarities, this.k);
  }

  score(session: Int32Array, out?: Float32Array): Float32Array {
    const scores = outputBuffer(out, this.nItems, "SessionKnn");
    const { sessions, similarities } = this.neighbours(session);
    const { start, values } = this.fitted().itemsOfSession;
    scores.fill(0);
    sessions.forEach((neighbour, n) => {
      for (let r = start[neighbour]; r < start[neighbour + 1]; r++) scores[values[r]] += similarities[n];
    });
    return scores;
  }

  private fitted(): { itemsOfSession: Rows; sessionsOfItem: Rows } {
    if (this.itemsOfSession === null || this.sessionsOfItem === null)
      throw new Error("SessionKnn: call fit(sessions) first");
    return { itemsOfSession: this.itemsOfSession, sessionsOfItem: this.sessionsOfItem };
  }
}
