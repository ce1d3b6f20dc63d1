// VSTAN: sequence- and time-aware session kNN (Ludewig, Latifi & Jannach, "Empirical analysis of session-based
// recommendation algorithms", UMUAI 2021; session-rec's algorithms/knn/vstan.py), which is STAN (Garg et al.,
// "Sequence and time aware neighborhood for session-based recommendations", SIGIR 2019; session-rec's stan.py) plus
// two of V-SKNN's options: sequence-aware scoring (λ_ipw) and IDF weighting (λ_idf). With every λ null it is S-KNN
// with a binary cosine (see "V-SKNN" below). What is implemented, exactly (positions 1-based over the session's known
// items, duplicates counted; L = their number):
//
// 1. The current session s: its item at position p weighs w = exp((p − L) / λ_spw) (the last one 1); an item seen
//    several times keeps the weight of its latest occurrence. λ_spw null: every item weighs 1.
// 2. Candidates: the `sampleSize` most recent training sessions sharing an item with s (sknn.ts's merge of the
//    inverted index; "recent" = later in the array given to `fit`, so pass training sessions in time order).
// 3. Similarity with a candidate n (its distinct items, unweighted), summing over the common items i:
//      "cosine" (default, vstan.py's only one): sum_i w_i / (sqrt(sum_{j in s} w_j^2) * sqrt(|n|))
//      "vec":              sum_i w_i / |s|        (|s| = distinct items of s; V-SKNN's option)
//    times the neighbour's recency exp(−age(n) / λ_snh), where age(n) = (training sessions after n) / (training
//    sessions): the share of the training log that came after it (0 for the newest session, → 1 for the oldest).
//    Deviation: vstan.py uses exp(−(t_now − t_n) / λ_snh) with timestamps (λ_snh = 5 days). The Recommender interface
//    carries no times (and Tmall / Nowplaying have none: their Time is an ordinal), so the age is measured in
//    sessions; λ_snh is then a share of the training log rather than days. vstan.py's t_now is the current event's
//    time, the same for every neighbour of a session, so measuring from the newest training session instead scales
//    all of a session's scores by one factor and ranks them the same.
// 4. Neighbours: the `k` most similar candidates (equal similarities: the more recent session first).
// 5. Score of item j = sum over the neighbours n containing j of
//      sim(n) · exp(−|pos_n(j) − pos_n(i*)| / λ_inh) · exp((p* − L) / λ_ipw) · (1 + λ_idf · idf(j))
//    pos_n(x): the position of x's last occurrence in n; i*: the shared item occurring last in n (STAN's "item
//    neighbourhood": items near where n meets s count more); p*: the position in s of the latest event whose item
//    is in n (V-SKNN's sequence-aware scoring); idf(j) = ln(training sessions / training occurrences of j) (vstan.py:
//    occurrences count repeats). Each factor is 1 when its λ is null. Items of s itself are scored too (vstan.py's
//    remind=True). Items in no neighbour score 0; a session without known items scores every item 0.
//
// V-SKNN (sknn.ts) is the same steps 2–4 with linear position weights p / L in step 1 and none of the factors of
// step 5. So VSTAN with λ_snh, λ_inh, λ_ipw and λ_idf null equals V-SKNN on a session of one distinct item (both
// weigh it 1) and differs from it on longer sessions only by exp((p − L)/λ_spw) vs p / L.
import {
  checkItemCount,
  checkSession,
  checkSessions,
  itemCounts,
  knownItems,
  outputBuffer,
  type Recommender,
} from "./recommender";
import {
  type Neighbours,
  type Rows,
  type SessionSimilarity,
  checkPositiveInteger,
  distinctItemsBySession,
  nearestOf,
  recentCandidates,
  sessionsByItem,
} from "./sknn";
import { type BaselineState, checkCounts, checkItemIds, checkOffsets, stateArray } from "./state";

// Defaults: vstan.py's constructor defaults (sampleSize 5000, λ_spw 1.02, λ_snh 5 days, λ_inh 2.05, λ_ipw 1.02,
// λ_idf 5; k 100 as its docstring) except three, chosen on validation only (the last 10% of each train log by time;
// every-next Recall@20 and MRR@20; bench/knn.ts) and the same on every data set:
//   λ_snh = 1 (a new unit, see step 3), on YOOCHOOSE-100k among off, 0.05, 0.1, 0.25, 0.5, 1, 4;
//   λ_spw = 4 and λ_ipw off, by the mean of Recall@20 and MRR@20 over YOOCHOOSE-100k and Tmall, among λ_spw
//   1.02, 2, 4, 8, off × λ_ipw 1.02, 4, 8, off (× λ_inh 2.05, 8, off: 2.05 kept). vstan.py's 1.02 / 1.02 focus on the
//   last clicks: best on YOOCHOOSE (MRR@20 35.5 vs 33.5) but 9.8 points of Recall@20 below on Tmall (32.2 vs 42.0),
//   whose long sessions return to earlier items.
export interface VstanConfig {
  /** Neighbours whose items are scored. Default 100 (vstan.py's docstring, and V-SKNN's here). */
  k?: number;
  /** Most recent sessions sharing an item with the current one that are considered as neighbours. Default 5000
   *  (vstan.py). */
  sampleSize?: number;
  /** Default "cosine" (vstan.py's). */
  similarity?: SessionSimilarity;
  /** Decay of the current session's item weights with their distance from its end (step 1). Default 4 (chosen on
   *  validation, see above; vstan.py's 1.02); null: off. */
  lambdaSpw?: number | null;
  /** Decay of a neighbour's similarity with its age, as a share of the training log (step 3). Default 1: the oldest
   *  training session weighs e^-1 (vstan.py's 5 days are ≈ 0.8 of YOOCHOOSE-100k's 6-day train log). Chosen on
   *  validation (see above); null: off. */
  lambdaSnh?: number | null;
  /** Decay of an item's score with its distance in the neighbour from the last shared item (step 5). Default 2.05
   *  (vstan.py); null: off. */
  lambdaInh?: number | null;
  /** Decay of a neighbour's scores with how far back in the current session its latest shared item lies (step 5).
   *  Default off (chosen on validation, see above; vstan.py's 1.02). */
  lambdaIpw?: number | null;
  /** Weight of the IDF boost (step 5). Default 5 (vstan.py); null: off. */
  lambdaIdf?: number | null;
}

export const VSTAN_DEFAULTS = {
  k: 100,
  sampleSize: 5000,
  similarity: "cosine",
  lambdaSpw: 4,
  lambdaSnh: 1,
  lambdaInh: 2.05,
  lambdaIpw: null,
  lambdaIdf: 5,
} as const satisfies Required<VstanConfig>;

const LAMBDAS = ["lambdaSpw", "lambdaSnh", "lambdaInh", "lambdaIpw", "lambdaIdf"] as const;

function checkLambda(value: number | null, name: string): number | null {
  if (value !== null && !(typeof value === "number" && Number.isFinite(value) && value > 0)) {
    throw new Error(`Vstan: ${name} must be a positive number or null (off), got ${String(value)}`);
  }
  return value;
}

/** The fitted index: sknn.ts's, plus each entry's last position in its session and the items' IDF. */
interface VstanIndex {
  itemsOfSession: Rows;
  /** [entries] 1-based position of the entry's item's last occurrence in its session. */
  lastPosition: Int32Array;
  sessionsOfItem: Rows;
  /** [nItems] training occurrences per item (repeats counted). */
  occurrences: Float32Array;
  /** [nItems] ln(sessions / occurrences); 0 for items never seen. */
  idf: Float64Array;
}

export class Vstan implements Recommender {
  readonly name = "vstan";
  readonly nItems: number;
  readonly k: number;
  readonly sampleSize: number;
  readonly similarity: SessionSimilarity;
  readonly lambdaSpw: number | null;
  readonly lambdaSnh: number | null;
  readonly lambdaInh: number | null;
  readonly lambdaIpw: number | null;
  readonly lambdaIdf: number | null;
  private index: VstanIndex | null = null;
  /** Scratch [nItems]: step 1's weight of each item of the session being scored, 0 elsewhere. */
  private readonly weightOf: Float64Array;
  /** Scratch [nItems]: the 1-based position of each item's last occurrence in the session being scored, 0 elsewhere. */
  private readonly positionOf: Int32Array;

  constructor(nItems: number, config: VstanConfig = {}) {
    checkItemCount(nItems, "Vstan");
    this.nItems = nItems;
    this.k = checkPositiveInteger(config.k ?? VSTAN_DEFAULTS.k, "k", "Vstan");
    this.sampleSize = checkPositiveInteger(config.sampleSize ?? VSTAN_DEFAULTS.sampleSize, "sampleSize", "Vstan");
    this.similarity = config.similarity ?? VSTAN_DEFAULTS.similarity;
    if (this.similarity !== "cosine" && this.similarity !== "vec") {
      throw new Error(`Vstan: similarity must be "cosine" or "vec", got "${String(this.similarity)}"`);
    }
    const lambda = (name: (typeof LAMBDAS)[number]) =>
      checkLambda(config[name] ?? (config[name] === null ? null : VSTAN_DEFAULTS[name]), name);
    this.lambdaSpw = lambda("lambdaSpw");
    this.lambdaSnh = lambda("lambdaSnh");
    this.lambdaInh = lambda("lambdaInh");
    this.lambdaIpw = lambda("lambdaIpw");
    this.lambdaIdf = lambda("lambdaIdf");
    this.weightOf = new Float64Array(nItems);
    this.positionOf = new Int32Array(nItems);
  }

  /** Indexes the training sessions (in time order: later = more recent). */
  fit(sessions: readonly Int32Array[]): void {
    checkSessions(sessions, this.nItems, "Vstan.fit");
    const known = sessions.map(knownItems);
    const { start, values, lastPosition } = distinctItemsBySession(known, this.nItems);
    this.index = this.indexOf({ start, values }, lastPosition, Float32Array.from(itemCounts(known, this.nItems)));
  }

  /** The settings, every default filled in. */
  get config(): Record<string, unknown> {
    const { k, sampleSize, similarity, lambdaSpw, lambdaSnh, lambdaInh, lambdaIpw, lambdaIdf } = this;
    return { k, sampleSize, similarity, lambdaSpw, lambdaSnh, lambdaInh, lambdaIpw, lambdaIdf };
  }

  /** { sessionStart, sessionItems, sessionPositions, itemOccurrences } (see saved.ts); the inverted index and the
   *  IDF are rebuilt from them. */
  state(): BaselineState {
    const { itemsOfSession, lastPosition, occurrences } = this.fitted();
    return {
      sessionStart: itemsOfSession.start,
      sessionItems: itemsOfSession.values,
      sessionPositions: lastPosition,
      itemOccurrences: occurrences,
    };
  }

  restore(state: BaselineState): void {
    const start = stateArray(state, "sessionStart", "int32", null);
    const values = stateArray(state, "sessionItems", "int32", null);
    const lastPosition = stateArray(state, "sessionPositions", "int32", values.length);
    const occurrences = stateArray(state, "itemOccurrences", "float32", this.nItems);
    checkOffsets(start, values.length, "sessionStart");
    checkItemIds(values, this.nItems, "sessionItems");
    const at = lastPosition.findIndex((position) => position < 1);
    if (at >= 0)
      throw new Error(`state array "sessionPositions" holds ${lastPosition[at]} at index ${at} (positions start at 1)`);
    checkCounts(occurrences, "itemOccurrences");
    this.index = this.indexOf({ start, values }, lastPosition, occurrences);
  }

  /** The `k` nearest training sessions of `session` (steps 1–4 of the header), most similar first; the
   *  similarities include the recency decay. */
  neighbours(session: Int32Array): Neighbours {
    return this.withSession(session, (distinct) => this.nearest(distinct));
  }

  score(session: Int32Array, out?: Float32Array): Float32Array {
    const scores = outputBuffer(out, this.nItems, "Vstan");
    scores.fill(0);
    const { itemsOfSession, lastPosition, idf } = this.fitted();
    const { start, values } = itemsOfSession;
    const positionOf = this.positionOf;
    this.withSession(session, (distinct, length) => {
      const { sessions, similarities } = this.nearest(distinct);
      sessions.forEach((neighbour, n) => {
        // i*'s position in the neighbour, and p*: the latest position in the current session of a shared item.
        let anchor = 0;
        let latestShared = 0;
        for (let r = start[neighbour]; r < start[neighbour + 1]; r++) {
          const position = positionOf[values[r]];
          if (position === 0) continue;
          anchor = Math.max(anchor, lastPosition[r]);
          latestShared = Math.max(latestShared, position);
        }
        const weight =
          similarities[n] * (this.lambdaIpw === null ? 1 : Math.exp((latestShared - length) / this.lambdaIpw));
        for (let r = start[neighbour]; r < start[neighbour + 1]; r++) {
          let contribution = weight;
          if (this.lambdaInh !== null) contribution *= Math.exp(-Math.abs(lastPosition[r] - anchor) / this.lambdaInh);
          if (this.lambdaIdf !== null) contribution *= 1 + this.lambdaIdf * idf[values[r]];
          scores[values[r]] += contribution;
        }
      });
    });
    return scores;
  }

  /** Steps 2–4 for the session loaded by `withSession`. */
  private nearest(distinct: readonly number[]): Neighbours {
    const index = this.fitted();
    const { candidates, similarities } = recentCandidates(
      distinct,
      this.weightOf,
      index,
      this.sampleSize,
      this.similarity,
    );
    if (this.lambdaSnh !== null) {
      const nSessions = index.itemsOfSession.start.length - 1;
      candidates.forEach((s, c) => {
        similarities[c] *= Math.exp(-(nSessions - 1 - s) / nSessions / (this.lambdaSnh as number));
      });
    }
    return nearestOf(candidates, similarities, this.k);
  }

  /** Runs `use` with step 1's weights and the last positions of the session's items in the scratch arrays, which
   *  it clears afterwards; `use` gets the distinct known items and L. */
  private withSession<T>(session: Int32Array, use: (distinct: readonly number[], length: number) => T): T {
    this.fitted();
    checkSession(session, this.nItems, "Vstan: session");
    const known = knownItems(session);
    const { weightOf, positionOf } = this;
    const distinct: number[] = [];
    known.forEach((item, p) => {
      if (positionOf[item] === 0) distinct.push(item);
      positionOf[item] = p + 1;
      weightOf[item] = this.lambdaSpw === null ? 1 : Math.exp((p + 1 - known.length) / this.lambdaSpw);
    });
    try {
      return use(distinct, known.length);
    } finally {
      for (const item of distinct) {
        weightOf[item] = 0;
        positionOf[item] = 0;
      }
    }
  }

  private indexOf(itemsOfSession: Rows, lastPosition: Int32Array, occurrences: Float32Array): VstanIndex {
    const nSessions = itemsOfSession.start.length - 1;
    const idf = Float64Array.from(occurrences, (count) => (count > 0 ? Math.log(nSessions / count) : 0));
    return {
      itemsOfSession,
      lastPosition,
      sessionsOfItem: sessionsByItem(itemsOfSession, nSessions, this.nItems),
      occurrences,
      idf,
    };
  }

  private fitted(): VstanIndex {
    if (this.index === null) throw new Error("Vstan: call fit(sessions) first");
    return this.index;
  }
}
