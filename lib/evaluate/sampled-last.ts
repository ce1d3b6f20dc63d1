// Protocol (b), SASRec's (Kang & McAuley 2018): the last item of each row is ranked against `negatives` (100) items
// drawn uniformly from those the user never interacted with; HR@k (= recall@k) and NDCG@k, k = 10.
// The draws follow lib/metrics/sampled.ts (`sampleNegatives`, `sampledRank`; the same as feeding the rows to
// `SampledRankingMetrics` in table order): one seeded generator consumed row by row in table order, so every model
// and baseline evaluated with the same seed meets the same negatives for the same row, however it is batched.
// A row's "seen" items are the row itself (history and target); rows hold the user's last maxHistory + 1 items, so
// for users with longer histories older items may be drawn (SASRec itself excludes only the training items).
// Targets out of the vocabulary (id 1) are misses and draw no negatives.
import * as tf from "@tensorflow/tfjs";
import type { Recommender } from "../baselines/recommender";
import { disposeBatch, type SessionTable } from "../data/loader";
import { RankingMetrics, type RankingResult } from "../metrics/accumulator";
import { FIRST_CANDIDATE, UNRANKED, hostRowsAsync } from "../metrics/rank";
import { sampleNegatives, sampledRank } from "../metrics/sampled";
import type { SessionModel } from "../models/model";
import type { ItemOutputHead } from "../models/outputs";
import { evaluationExample, nextItemStates } from "../models/targets";
import { Random } from "../util/random";
import { byLength, gatherBatch } from "./batches";

export interface SampledLastConfig {
  /** Negatives per row. Default 100. */
  negatives?: number;
  /** Seed of the negative sampler. Default 42. */
  seed?: number;
  /** Cut-offs. Default [1, 5, 10]. */
  ks?: readonly number[];
  /** Rows per forward pass. Default 256. */
  batchSize?: number;
  /** Score only the first `rows` rows (e.g. a cheaper validation after each epoch). Default: all. */
  rows?: number;
}

export const SAMPLED_KS: readonly number[] = [1, 5, 10];

/** Row s of the table as item ids, [length]. */
function rowItems(table: SessionTable, s: number): Int32Array {
  return table.items.subarray(s * table.maxLength, s * table.maxLength + table.lengths[s]);
}

function rowCount(table: SessionTable, config: SampledLastConfig): number {
  const rows = config.rows ?? table.numSessions;
  if (!(Number.isInteger(rows) && rows >= 1))
    throw new Error(`sampled-last: rows must be a positive integer, got ${rows}`);
  return Math.min(rows, table.numSessions);
}

/**
 * The negatives of each of the first `rows` rows, drawn in table order: the row's target is its last item; rows
 * whose target is not a candidate (OOV) get null.
 */
export function drawNegatives(
  table: SessionTable,
  nItems: number,
  config: SampledLastConfig = {},
): (Int32Array | null)[] {
  const rng = new Random(config.seed ?? 42);
  const count = config.negatives ?? 100;
  return Array.from({ length: rowCount(table, config) }, (_, s) => {
    const items = rowItems(table, s);
    if (items.length < 2)
      throw new Error(`sampled-last: row ${s} has ${items.length} item(s); it needs a history and a target`);
    const target = items[items.length - 1];
    return target < FIRST_CANDIDATE ? null : sampleNegatives(rng, nItems, target, items, count);
  });
}

/** Adds the rank code of row s's target in `scores` [nItems] among its negatives. */
function addRow(
  metrics: RankingMetrics,
  scores: Float32Array,
  target: number,
  negatives: Int32Array | null,
  s: number,
): void {
  metrics.addRank(negatives === null ? UNRANKED : sampledRank(scores, target, negatives, `sampled-last row ${s}`));
}

/** Protocol (b) for a model: the state after each row's history scores its last item and the row's negatives. */
export async function evaluateSampledLast(
  model: SessionModel,
  head: ItemOutputHead,
  table: SessionTable,
  config: SampledLastConfig = {},
): Promise<RankingResult> {
  const negatives = drawNegatives(table, head.nItems, config);
  const metrics = new RankingMetrics({ ks: config.ks ?? SAMPLED_KS });
  const batchSize = config.batchSize ?? 256;
  // Rows sorted by length pad little; the negatives are already fixed per row.
  const order = byLength(table).filter((s) => s < negatives.length);
  for (let start = 0; start < order.length; start += batchSize) {
    const rows = order.subarray(start, start + batchSize);
    const batch = gatherBatch(table, rows);
    const example = evaluationExample(batch, { kind: "last", maskId: null });
    const scores = tf.tidy(() => head.logits(nextItemStates(model, example)));
    const scoreRows = await hostRowsAsync(scores);
    rows.forEach((s, i) =>
      addRow(metrics, scoreRows[i], table.items[s * table.maxLength + table.lengths[s] - 1], negatives[s], s),
    );
    tf.dispose([scores, example as unknown as tf.TensorContainer]);
    disposeBatch(batch);
  }
  return metrics.result();
}

/** Protocol (b) for a fitted baseline on the rows of `table`. */
export function evaluateRecommenderSampledLast(
  recommender: Recommender,
  table: SessionTable,
  config: SampledLastConfig = {},
): RankingResult {
  const negatives = drawNegatives(table, recommender.nItems, config);
  const metrics = new RankingMetrics({ ks: config.ks ?? SAMPLED_KS });
  const scores = new Float32Array(recommender.nItems); // reused by every row
  negatives.forEach((rowNegatives, s) => {
    const items = rowItems(table, s);
    recommender.score(items.subarray(0, items.length - 1), scores);
    addRow(metrics, scores, items[items.length - 1], rowNegatives, s);
  });
  return metrics.result();
}
