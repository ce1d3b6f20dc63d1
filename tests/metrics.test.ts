import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import {
  RankingMetrics,
  SKIPPED,
  SampledRankingMetrics,
  UNRANKED,
  metricKey,
  rankOfTarget,
  sampleNegatives,
  sampledRank,
  targetRanks,
  targetRanksAsync,
  topK,
  topKRow,
} from "../lib/metrics";
import { Random } from "../lib/util/index";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

// Six items: 0 = padding, 1 = OOV (both scored high to check they are ignored), candidates 2..5.
const TOY_SCORES = [
  [9, 9, 0.5, 0.8, 0.5, 0.1], // target 4: 3 scores higher, 2 ties and has a lower id → rank 3
  [0, 0, 0.7, 0.7, 0.9, 0.7], // target 2: 4 scores higher, 3 and 5 tie with higher ids → rank 2
  [5, 5, 0.1, 0.2, 0.3, 0.4], // target 1 (OOV) → a miss
  [5, 5, 0.1, 0.2, 0.3, 0.4], // target 0 (padding) → skipped
  [9, 9, 0.1, 0.2, 0.3, 1.0], // target 5 → rank 1
];
const TOY_TARGETS = [4, 2, 1, 0, 5];
const toyRows = () => TOY_SCORES.map((row) => Float32Array.from(row));

/** Reference rank by sorting the candidates (score descending, then id ascending). */
function sortedRank(row: Float32Array, target: number): number {
  const order = Array.from({ length: row.length - 2 }, (_, i) => i + 2).sort((a, b) => row[b] - row[a] || a - b);
  return order.indexOf(target) + 1;
}

/** Random rows with many ties (scores on a coarse grid), targets spread over 0..nItems-1. */
function randomBatch(rng: Random, batch: number, nItems: number) {
  const rows = Array.from({ length: batch }, () => Float32Array.from({ length: nItems }, () => rng.int(0, 4) / 4));
  const targets = Int32Array.from({ length: batch }, () => rng.int(0, nItems));
  return { rows, targets };
}

describe("rankOfTarget / targetRanks", () => {
  it("ranks with the lower-id tie rule and ignores ids 0 and 1", () => {
    const ranks = targetRanks(toyRows(), TOY_TARGETS);
    expect(Array.from(ranks)).toEqual([3, 2, UNRANKED, SKIPPED, 1]);
  });

  // wasm too: its gather with batchDims once picked wrong rows, which only a second backend exposes.
  it.each(["cpu", "wasm"])(
    "gives the same ranks on-device on %s, synchronously and asynchronously",
    async (backend) => {
      expect(await tf.setBackend(backend)).toBe(true);
      try {
        const scores = tf.tensor2d(TOY_SCORES);
        const targets = tf.tensor1d(TOY_TARGETS, "int32");
        expect(Array.from(targetRanks(scores, targets))).toEqual([3, 2, UNRANKED, SKIPPED, 1]);
        expect(Array.from(await targetRanksAsync(scores, targets))).toEqual([3, 2, UNRANKED, SKIPPED, 1]);
        const { rows, targets: randomTargets } = randomBatch(new Random(7), 40, 13);
        const flat = new Float32Array(40 * 13);
        rows.forEach((row, i) => flat.set(row, i * 13));
        const onDevice = tf.tensor2d(flat, [40, 13]);
        expect(Array.from(targetRanks(onDevice, randomTargets))).toEqual(Array.from(targetRanks(rows, randomTargets)));
        tf.dispose([scores, targets, onDevice]);
      } finally {
        await tf.setBackend("cpu");
      }
    },
  );

  it("agrees with a sort-based reference on random rows with ties", () => {
    const rng = new Random(3);
    const { rows, targets } = randomBatch(rng, 60, 11);
    rows.forEach((row, i) => {
      const t = targets[i];
      const expected = t === 0 ? SKIPPED : t === 1 ? UNRANKED : sortedRank(row, t);
      expect(rankOfTarget(row, t)).toBe(expected);
    });
  });

  it("rejects NaN scores and targets outside the catalogue", () => {
    const rows = toyRows();
    rows[1][5] = NaN;
    expect(() => targetRanks(rows, TOY_TARGETS)).toThrow(/scores row 1.*NaN/);
    const scores = tf.tensor2d(rows.map((row) => Array.from(row)));
    expect(() => targetRanks(scores, TOY_TARGETS)).toThrow(/scores row 1.*NaN/);
    scores.dispose();
    expect(() => targetRanks(toyRows(), [4, 2, 1, 0, 6])).toThrow(/targets\[4\].*\[0, 6\)/);
    expect(() => targetRanks(toyRows(), [4, 2])).toThrow(/expected 5 target ids/);
  });
});

describe("RankingMetrics", () => {
  it("computes every metric at several k from hand-computed ranks 3, 2, miss, 1", () => {
    const metrics = new RankingMetrics({ ks: [3, 1] });
    expect(metrics.ks).toEqual([1, 3]);
    metrics.add(toyRows(), TOY_TARGETS);
    const { examples, unranked, values } = metrics.result();
    expect(examples).toBe(4);
    expect(unranked).toBe(1);
    const expected: Record<string, number> = {
      "recall@1": 1 / 4,
      "mrr@1": 1 / 4,
      "ndcg@1": 1 / 4,
      "precision@1": 1 / 4,
      "map@1": 1 / 4,
      "recall@3": 3 / 4,
      "mrr@3": (1 / 3 + 1 / 2 + 1) / 4,
      "ndcg@3": (1 / 2 + 1 / Math.log2(3) + 1) / 4,
      "precision@3": 3 / 4 / 3,
      "map@3": (1 / 3 + 1 / 2 + 1) / 4,
    };
    expect(Object.keys(values).sort()).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) expect(values[key]).toBeCloseTo(value, 12);
    expect(metricKey("ndcg", 3)).toBe("ndcg@3");
  });

  it("averages per example over uneven batches exactly as over one batch", async () => {
    const rng = new Random(11);
    const { rows, targets } = randomBatch(rng, 23, 9);
    const whole = new RankingMetrics({ ks: [1, 2, 5] });
    whole.add(rows, targets);
    const pieces = new RankingMetrics({ ks: [1, 2, 5] });
    let start = 0;
    for (const size of [5, 1, 17]) {
      const tensor = tf.tensor2d(rows.slice(start, start + size).map((row) => Array.from(row)));
      await pieces.addAsync(tensor, targets.subarray(start, start + size));
      tensor.dispose();
      start += size;
    }
    expect(pieces.result()).toEqual(whole.result());
    // And the means are over examples, checked against the reference ranks.
    let hits = 0;
    let examples = 0;
    rows.forEach((row, i) => {
      if (targets[i] === 0) return;
      examples++;
      if (targets[i] >= 2 && sortedRank(row, targets[i]) <= 2) hits++;
    });
    expect(whole.result().examples).toBe(examples);
    expect(whole.result().values["recall@2"]).toBeCloseTo(hits / examples, 12);
  });

  it("reports NaN with no examples, resets, and rejects bad ranks and ks", () => {
    const metrics = new RankingMetrics({ ks: [2] });
    metrics.addRanks([SKIPPED, SKIPPED]);
    expect(metrics.result().examples).toBe(0);
    expect(metrics.result().values["recall@2"]).toBeNaN();
    metrics.addRanks([1, 3]);
    expect(metrics.result().values["recall@2"]).toBe(0.5);
    metrics.reset();
    expect(metrics.result().examples).toBe(0);
    expect(() => metrics.addRank(0.5)).toThrow(/expected a rank/);
    expect(() => new RankingMetrics({ ks: [0] })).toThrow(/positive integer/);
    expect(() => new RankingMetrics({ ks: [] })).toThrow(/at least one/);
  });
});

describe("topK", () => {
  it("returns candidate ids best first with the lower-id tie rule, never 0 or 1", () => {
    const rows = toyRows();
    expect(Array.from(topKRow(rows[0], 3))).toEqual([3, 2, 4]);
    expect(Array.from(topKRow(rows[0], 10))).toEqual([3, 2, 4, 5]);
    expect(Array.from(topKRow(rows[1], 2))).toEqual([4, 2]);
    const tensor = tf.tensor2d(TOY_SCORES);
    expect(topK(tensor, 2).map((ids) => Array.from(ids))).toEqual([
      [3, 2],
      [4, 2],
      [5, 4],
      [5, 4],
      [5, 4],
    ]);
    tensor.dispose();
  });

  it("matches a full sort on random rows with ties", () => {
    const rng = new Random(5);
    const { rows } = randomBatch(rng, 30, 17);
    for (const row of rows) {
      const order = Array.from({ length: 15 }, (_, i) => i + 2).sort((a, b) => row[b] - row[a] || a - b);
      for (const k of [1, 4, 15]) expect(Array.from(topKRow(row, k))).toEqual(order.slice(0, k));
    }
  });

  it("rejects NaN and bad k", () => {
    expect(() => topKRow(Float32Array.from([0, 0, 1, NaN]), 1)).toThrow(/item 3 is NaN/);
    expect(() => topKRow(Float32Array.from([0, 0, 1]), 0)).toThrow(/positive integer/);
  });
});

describe("sampled protocol", () => {
  it("draws distinct negatives outside the history, the target and ids 0/1, reproducibly", () => {
    const history = [2, 3, 9];
    const a = sampleNegatives(new Random(1), 20, 5, history, 12);
    const b = sampleNegatives(new Random(1), 20, 5, history, 12);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(new Set(a).size).toBe(12);
    for (const id of a) {
      expect(id).toBeGreaterThanOrEqual(2);
      expect(id).toBeLessThan(20);
      expect([5, ...history]).not.toContain(id);
    }
    // 18 candidates minus target and 3 history items leave exactly 14.
    expect(sampleNegatives(new Random(1), 20, 5, history, 14).length).toBe(14);
    expect(() => sampleNegatives(new Random(1), 20, 5, history, 15)).toThrow(/only 14 items are eligible/);
  });

  it("ranks the target among its negatives with the lower-id tie rule", () => {
    const row = Float32Array.from([9, 9, 0.9, 0.9, 0.5, 0.5, 0.6, 0.1]);
    // Target 5 (0.5) vs 4 (tie, lower id), 6 (higher), 7 (lower) → rank 3.
    expect(sampledRank(row, 5, [4, 6, 7])).toBe(3);
    expect(sampledRank(row, 5, [7])).toBe(1);
    expect(() => sampledRank(Float32Array.from([0, 0, NaN, 1]), 3, [2])).toThrow(/item 2 is NaN/);
  });

  it("with every eligible item as a negative, equals the full rank among items outside the history", () => {
    const row = Float32Array.from([9, 9, 0.9, 0.9, 0.5, 0.5, 0.6, 0.1]);
    // History {2, 3} scores highest but is excluded: target 5 is beaten by 6 and the tie 4 → rank 3.
    const metrics = new SampledRankingMetrics(8, { negatives: 3, ks: [1, 3] });
    metrics.add([row, row, row], [5, 0, 1], [[2, 3], [], []]);
    const { examples, unranked, values } = metrics.result();
    expect(examples).toBe(2);
    expect(unranked).toBe(1);
    expect(values["recall@1"]).toBe(0);
    expect(values["recall@3"]).toBe(1 / 2);
    expect(values["ndcg@3"]).toBeCloseTo(0.5 / 2, 12);
  });

  it("does not depend on batching; padding and OOV examples draw nothing; reset replays the draws", () => {
    const rng = new Random(21);
    const { rows, targets } = randomBatch(rng, 25, 40);
    const histories = rows.map(() => Int32Array.from({ length: 4 }, () => rng.int(0, 40)));
    const whole = new SampledRankingMetrics(40, { negatives: 10, seed: 3 });
    whole.add(rows, targets, histories);
    const pieces = new SampledRankingMetrics(40, { negatives: 10, seed: 3 });
    let start = 0;
    for (const size of [7, 11, 7]) {
      const tensor = tf.tensor2d(rows.slice(start, start + size).map((row) => Array.from(row)));
      pieces.add(tensor, targets.subarray(start, start + size), histories.slice(start, start + size));
      tensor.dispose();
      start += size;
    }
    expect(pieces.result()).toEqual(whole.result());

    const rankable = rows.map((_, i) => i).filter((i) => targets[i] >= 2);
    const only = new SampledRankingMetrics(40, { negatives: 10, seed: 3 });
    only.add(
      rankable.map((i) => rows[i]),
      rankable.map((i) => targets[i]),
      rankable.map((i) => histories[i]),
    );
    // Same negatives for the rankable examples: the metrics differ only by the OOV misses in the denominator.
    const all = whole.result();
    const rankableOnly = only.result();
    expect(rankableOnly.examples).toBe(all.examples - all.unranked);
    for (const [key, value] of Object.entries(all.values)) {
      expect(rankableOnly.values[key]).toBeCloseTo((value * all.examples) / rankableOnly.examples, 12);
    }
    whole.reset();
    whole.add(rows, targets, histories);
    expect(whole.result()).toEqual(pieces.result());
  });
});
