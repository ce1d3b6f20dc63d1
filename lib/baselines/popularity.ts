// Most-popular baseline: every session gets the same list, the items seen most often in training.
import { checkItemCount, checkSession, checkSessions, itemCounts, outputBuffer, type Recommender } from "./recommender";
import { type BaselineState, checkCounts, stateArray } from "./state";

export class MostPopular implements Recommender {
  readonly name = "most-popular";
  readonly nItems: number;
  /** Training occurrences per item [nItems] (ids 0 and 1 stay 0). */
  private counts: Float32Array = new Float32Array(0);

  constructor(nItems: number) {
    checkItemCount(nItems, "MostPopular");
    this.nItems = nItems;
  }

  fit(sessions: readonly Int32Array[]): void {
    checkSessions(sessions, this.nItems, "MostPopular.fit");
    this.counts = Float32Array.from(itemCounts(sessions, this.nItems));
  }

  /** No settings. */
  get config(): Record<string, unknown> {
    return {};
  }

  /** { counts } (see saved.ts). */
  state(): BaselineState {
    if (this.counts.length === 0) throw new Error("MostPopular: call fit(sessions) first");
    return { counts: this.counts };
  }

  restore(state: BaselineState): void {
    const counts = stateArray(state, "counts", "float32", this.nItems);
    checkCounts(counts, "counts");
    this.counts = counts;
  }

  /** Score of item i = its number of occurrences in the training sessions, whatever the session. */
  score(session: Int32Array, out?: Float32Array): Float32Array {
    if (this.counts.length === 0) throw new Error("MostPopular: call fit(sessions) first");
    checkSession(session, this.nItems, "MostPopular.score: session");
    const scores = outputBuffer(out, this.nItems, "MostPopular");
    scores.set(this.counts);
    return scores;
  }
}
