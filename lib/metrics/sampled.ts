// The sampled evaluation protocol of SASRec (Kang & McAuley 2018): rank each target among itself and N
// negatives drawn uniformly from the items the user never interacted with, then report HR@k (= recall@k)
// and NDCG@k (and the other RankingMetrics values) over those N + 1 candidates.
//
// Choices made here (documented because papers differ):
// - Negatives are distinct candidate ids (>= 2), never the target, never an item of the example's history.
// - The target's rank among the candidates uses the same tie rule as the full ranking (lower id first).
// - Draws come from one seeded generator consumed example by example in feeding order, so the negatives do
//   not depend on how the examples are split into batches; padding (target 0) and OOV (target 1) examples
//   draw nothing (OOV counts as a miss, padding is skipped, as in the full protocol).
// Sampled metrics overestimate full-ranking quality and may even order models differently (Krichene &
// Rendle 2020); report them only next to the full-ranking ones.
import { Random } from "../util/random";
import { RankingMetrics, type RankingResult } from "./accumulator";
import { FIRST_CANDIDATE, SKIPPED, UNRANKED, hostRows, hostTargetIds, type ScoreRows, type Targets } from "./rank";

export interface SampledRankingConfig {
  /** Negatives per example. Default 100 (SASRec). */
  negatives?: number;
  /** Seed of the negative sampler. Default 42. */
  seed?: number;
  /** Cut-offs. Default [1, 5, 10]. */
  ks?: readonly number[];
}

/**
 * `count` distinct negative ids drawn uniformly from [2, nItems) minus the target and the `history` items,
 * by rejection (cheap while the excluded items are a small part of the catalogue).
 */
export function sampleNegatives(
  rng: Random,
  nItems: number,
  target: number,
  history: ArrayLike<number>,
  count: number,
): Int32Array {
  if (!Number.isInteger(count) || count < 0)
    throw new Error(`sampleNegatives: count must be an integer >= 0, got ${count}`);
  const excluded = new Set<number>([target]);
  for (let i = 0; i < history.length; i++) excluded.add(history[i]);
  let excludedCandidates = 0;
  for (const id of excluded) if (id >= FIRST_CANDIDATE && id < nItems) excludedCandidates++;
  const available = nItems - FIRST_CANDIDATE - excludedCandidates;
  if (count > available) {
    throw new Error(
      `sampleNegatives: ${count} negatives requested for target ${target} but only ${available} items are eligible`,
    );
  }
  const negatives = new Int32Array(count);
  for (let drawn = 0; drawn < count;) {
    const id = rng.int(FIRST_CANDIDATE, nItems);
    if (excluded.has(id)) continue;
    excluded.add(id);
    negatives[drawn++] = id;
  }
  return negatives;
}

/** 1-based rank of `target` among itself and `negatives` in a score row [nItems] (higher score, then lower id, first). */
export function sampledRank(
  row: Float32Array,
  target: number,
  negatives: ArrayLike<number>,
  where = "sampledRank",
): number {
  const t = row[target];
  if (t !== t) throw new Error(`${where}: score of target item ${target} is NaN`);
  let before = 0;
  for (let i = 0; i < negatives.length; i++) {
    const id = negatives[i];
    const s = row[id];
    if (s !== s) throw new Error(`${where}: score of negative item ${id} is NaN`);
    if (s > t || (s === t && id < target)) before++;
  }
  return before + 1;
}

/** Accumulates sampled-protocol metrics; feed `add(scores, targets, histories)` batch after batch. */
export class SampledRankingMetrics {
  readonly nItems: number;
  readonly negatives: number;
  readonly seed: number;
  private readonly metrics: RankingMetrics;
  private rng: Random;

  constructor(nItems: number, config: SampledRankingConfig = {}) {
    if (!Number.isInteger(nItems) || nItems <= FIRST_CANDIDATE) {
      throw new Error(`SampledRankingMetrics: nItems must be an integer > ${FIRST_CANDIDATE}, got ${nItems}`);
    }
    this.nItems = nItems;
    this.negatives = config.negatives ?? 100;
    this.seed = config.seed ?? 42;
    this.metrics = new RankingMetrics({ ks: config.ks ?? [1, 5, 10] });
    this.rng = new Random(this.seed);
  }

  get ks(): readonly number[] {
    return this.metrics.ks;
  }

  /**
   * Scores [batch, nItems] (tensors are read back with `dataSync`), targets [batch] and, per example, the item
   * ids the user already interacted with (excluded from its negatives; usually the session before the target).
   */
  add(scores: ScoreRows, targets: Targets, histories: readonly ArrayLike<number>[]): void {
    const rows = hostRows(scores);
    if (rows.length > 0 && rows[0].length !== this.nItems) {
      throw new Error(
        `SampledRankingMetrics.add: score rows have ${rows[0].length} items, expected nItems = ${this.nItems}`,
      );
    }
    const targetIds = hostTargetIds(targets, rows.length, this.nItems);
    if (histories.length !== rows.length) {
      throw new Error(
        `SampledRankingMetrics.add: expected ${rows.length} histories (one per score row), got ${histories.length}`,
      );
    }
    for (let i = 0; i < rows.length; i++) {
      const target = targetIds[i];
      if (target === 0) this.metrics.addRank(SKIPPED);
      else if (target === 1) this.metrics.addRank(UNRANKED);
      else {
        const negatives = sampleNegatives(this.rng, this.nItems, target, histories[i], this.negatives);
        this.metrics.addRank(sampledRank(rows[i], target, negatives, `scores row ${i}`));
      }
    }
  }

  result(): RankingResult {
    return this.metrics.result();
  }

  /** Forgets every example and restarts the sampler, so a re-evaluation draws the same negatives. */
  reset(): void {
    this.metrics.reset();
    this.rng = new Random(this.seed);
  }
}
