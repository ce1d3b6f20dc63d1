// Top-k ranking metrics for next-item prediction, accumulated example by example over a whole evaluation set.
//
// Each example has ONE relevant item (its target) with 1-based rank r in the full ranking (lib/metrics/rank.ts).
// With hit = 1 if r <= k else 0, the per-example values are
//   Recall@k    = hit                 (= HitRate@k: with one relevant item recall and hit rate coincide)
//   MRR@k       = hit / r
//   NDCG@k      = hit / log2(r + 1)   (the ideal DCG of one relevant item is 1/log2(2) = 1)
//   Precision@k = hit / k
//   MAP@k       = AP@k = hit / r      (AP@k = sum_{i<=k} P@i * rel_i / min(k, #relevant) with #relevant = 1,
//                                       so MAP@k equals MRR@k here; both are reported for comparability)
// An OOV target (id 1, `UNRANKED`) scores 0 everywhere; a padding target (id 0, `SKIPPED`) is not an example.
// Reported values are means over all examples fed so far (not means of per-batch means).
import { SKIPPED, UNRANKED, targetRanks, targetRanksAsync, type ScoreRows, type Targets } from "./rank";

export type MetricName = "recall" | "mrr" | "ndcg" | "precision" | "map";
export const METRIC_NAMES: readonly MetricName[] = ["recall", "mrr", "ndcg", "precision", "map"];

/** The key a metric is reported under, e.g. `metricKey("ndcg", 10)` = "ndcg@10". */
export function metricKey(name: MetricName, k: number): string {
  return `${name}@${k}`;
}

export interface RankingMetricsConfig {
  /** Cut-offs to report, all from one ranking pass. Default [5, 10, 20]. */
  ks?: readonly number[];
}

export interface RankingResult {
  /** Examples evaluated (padding targets excluded). */
  examples: number;
  /** Of those, examples whose target could never be recommended (OOV id 1), counted as misses. */
  unranked: number;
  /** Mean over examples of every metric at every k, keyed by `metricKey` (e.g. "recall@10"); NaN with no examples. */
  values: Record<string, number>;
}

export const DEFAULT_KS: readonly number[] = [5, 10, 20];

function checkKs(ks: readonly number[], where: string): number[] {
  if (ks.length === 0) throw new Error(`${where}: ks must list at least one cut-off`);
  for (const k of ks)
    if (!Number.isInteger(k) || k < 1) throw new Error(`${where}: every k must be a positive integer, got ${k}`);
  return [...new Set(ks)].sort((a, b) => a - b);
}

/** Accumulates per-example sums; feed `add` / `addAsync` / `addRank` batch after batch, then read `result()`. */
export class RankingMetrics {
  /** The cut-offs, ascending and distinct. */
  readonly ks: readonly number[];
  private examples = 0;
  private unranked = 0;
  // Per cut-off sums over examples, in float64 so that long evaluations do not lose precision.
  private readonly hits: Float64Array;
  private readonly reciprocalRanks: Float64Array;
  private readonly gains: Float64Array;

  constructor(config: RankingMetricsConfig = {}) {
    this.ks = checkKs(config.ks ?? DEFAULT_KS, "RankingMetrics");
    this.hits = new Float64Array(this.ks.length);
    this.reciprocalRanks = new Float64Array(this.ks.length);
    this.gains = new Float64Array(this.ks.length);
  }

  /**
   * Ranks each target in its score row (full catalogue) and adds the examples. Scores [batch, nItems], targets
   * [batch]; tensors are read, not disposed. Tensor scores are ranked on their device (see `targetRanks`).
   */
  add(scores: ScoreRows, targets: Targets): void {
    this.addRanks(targetRanks(scores, targets));
  }

  /** `add` reading tensors back asynchronously (preferred on GPU backends). */
  async addAsync(scores: ScoreRows, targets: Targets): Promise<void> {
    this.addRanks(await targetRanksAsync(scores, targets));
  }

  /** Adds examples given their rank codes: a 1-based rank, `UNRANKED` (a miss) or `SKIPPED` (ignored). */
  addRanks(ranks: ArrayLike<number>): void {
    for (let i = 0; i < ranks.length; i++) this.addRank(ranks[i]);
  }

  addRank(rank: number): void {
    if (rank === SKIPPED) return;
    this.examples++;
    if (rank === UNRANKED) {
      this.unranked++;
      return;
    }
    if (!Number.isInteger(rank) || rank < 1)
      throw new Error(`RankingMetrics.addRank: expected a rank >= 1, SKIPPED or UNRANKED, got ${rank}`);
    const reciprocal = 1 / rank;
    const gain = 1 / Math.log2(rank + 1);
    // ks ascending: the hit cut-offs are a suffix of them.
    for (let c = this.ks.length - 1; c >= 0 && this.ks[c] >= rank; c--) {
      this.hits[c] += 1;
      this.reciprocalRanks[c] += reciprocal;
      this.gains[c] += gain;
    }
  }

  result(): RankingResult {
    const n = this.examples;
    const values: Record<string, number> = {};
    this.ks.forEach((k, c) => {
      const recall = this.hits[c] / n;
      const mrr = this.reciprocalRanks[c] / n;
      values[metricKey("recall", k)] = recall;
      values[metricKey("mrr", k)] = mrr;
      values[metricKey("ndcg", k)] = this.gains[c] / n;
      values[metricKey("precision", k)] = recall / k;
      values[metricKey("map", k)] = mrr;
    });
    return { examples: n, unranked: this.unranked, values };
  }

  /** Forgets every example (e.g. before the next epoch's validation). */
  reset(): void {
    this.examples = 0;
    this.unranked = 0;
    this.hits.fill(0);
    this.reciprocalRanks.fill(0);
    this.gains.fill(0);
  }
}
