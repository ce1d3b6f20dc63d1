// The checks every loaded model folder (neural or baseline) runs on a recommend call before scoring, so both answer
// a bad k or a disposed model with the same words.
import type { RawSession } from "../data/live";

/** Throws unless the folder `name` is live, `k` lies in 1..`known` and `sessions` is an array. */
export function checkRecommendCall(
  name: string,
  disposed: boolean,
  sessions: readonly RawSession[],
  k: number,
  known: number,
): void {
  if (disposed) throw new Error(`recommend: the model "${name}" has been disposed`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`recommend: k must be an integer >= 1, got ${k}`);
  if (k > known) throw new Error(`recommend: k = ${k} is more than the ${known} items the model knows`);
  if (!Array.isArray(sessions)) throw new Error("recommend: expected an array of sessions (each an array of events)");
}
