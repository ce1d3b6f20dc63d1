// The real-data protocols (lib/evaluate) on hand-made tables with hand-computed answers.
// A stub "transition" model makes the expected ranks easy to compute: its state at each position is the one-hot of
// the item there, and its head multiplies by a fixed score table T, so the scores after a history are T[last item].
//   T[2] = {3: 5, 4: 1, 5: 2}    T[3] = {2: 1, 4: 2, 5: 3}    T[5] = {3: 1, 4: 1}    (other entries 0)
// Ties rank the lower id first (lib/metrics/rank.ts).
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { Recommender } from "../lib/baselines/index";
import { SuccessorCounts } from "../lib/baselines";
import {
  GRU4REC_PROTOCOL,
  SASREC_PROTOCOL,
  comparisonTable,
  LengthBucketedBatches,
  drawNegatives,
  evaluateByPrefix,
  evaluateEveryNext,
  evaluateModelOn,
  evaluateModelUnder,
  evaluateRecommenderOn,
  prefixItems,
  evaluateRecommenderSampledLast,
  evaluateSampledLast,
  gatherBatch,
  prefixTable,
  resolveHead,
  runBaselinesOn,
  runModelOn,
  type ModelRunConfig,
  type TrainingConfig,
} from "../lib/evaluate";
import type { SessionTable } from "../lib/data/index";
import { SampledRankingMetrics } from "../lib/metrics";
import { createHeadFor, createModel, disposeModel, type ItemOutputHead, type SessionModel } from "../lib/models";
import { tableOf as tableOfItems } from "./helpers/tables-fixtures";

const N_ITEMS = 6;
const T: Record<number, Record<number, number>> = {
  2: { 3: 5, 4: 1, 5: 2 },
  3: { 2: 1, 4: 2, 5: 3 },
  5: { 3: 1, 4: 1 },
};

/** A table of the given sessions over N_ITEMS ids unless told, right-padded to the longest. */
function tableOf(sessions: number[][], nItems = N_ITEMS): SessionTable {
  return tableOfItems(sessions, nItems);
}

function scoreRow(last: number): Float32Array {
  const row = new Float32Array(N_ITEMS);
  for (const [item, score] of Object.entries(T[last] ?? {})) row[Number(item)] = score;
  return row;
}

/** The stub transition model and head (see the top of this file). */
function transitionModel(): { model: SessionModel; head: ItemOutputHead } {
  const matrix = tf.tensor2d(Array.from({ length: N_ITEMS }, (_, a) => Array.from(scoreRow(a)))); // [nItems, nItems]
  const model = {
    name: "transition",
    kind: "gru",
    output: "sequence",
    dim: N_ITEMS,
    config: {},
    causal: true,
    blocks: [],
    variables: {},
    encode: (batch: { items: tf.Tensor2D }) => tf.oneHot(batch.items, N_ITEMS).toFloat(), // [b, L, nItems]
  } as unknown as SessionModel;
  const head = {
    nItems: N_ITEMS,
    logits: (hidden: tf.Tensor2D) => tf.matMul(hidden, matrix),
    frozen: true, // fixed scores: nothing to freeze
    config: { reminderBonus: 0 },
  } as unknown as ItemOutputHead;
  return { model, head };
}

/** A baseline scoring with the same table T. */
const transitionRecommender: Recommender = {
  name: "transition",
  nItems: N_ITEMS,
  fit: () => undefined,
  score: (session, out) => {
    const row = scoreRow(session[session.length - 1]);
    if (out === undefined) return row;
    out.set(row);
    return out;
  },
};

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("protocol (a): every next item, full ranking", () => {
  // s0 = 2 3 4: after 2, target 3 (score 5, rank 1); after 3, target 4 (score 2; 5 has 3: rank 2).
  // s1 = 5 2: after 5, target 2 (score 0; 3 and 4 have 1, 5 ties at 0 but has a higher id: rank 3).
  const table = tableOf([
    [2, 3, 4],
    [5, 2],
  ]);
  const expected = {
    "recall@1": 1 / 3,
    "recall@2": 2 / 3,
    "recall@3": 1,
    "mrr@1": 1 / 3,
    "mrr@2": (1 + 1 / 2) / 3,
    "mrr@3": (1 + 1 / 2 + 1 / 3) / 3,
  };

  it("scores every position of a causal model in one pass", async () => {
    const { model, head } = transitionModel();
    const result = await evaluateEveryNext(model, head, table, { ks: [1, 2, 3] });
    expect(result.examples).toBe(3);
    for (const [key, value] of Object.entries(expected)) expect(result.values[key]).toBeCloseTo(value, 6);
  });

  it("gives the same by encoding every prefix on its own", async () => {
    const { model, head } = transitionModel();
    const result = await evaluateByPrefix(model, head, table, { ks: [1, 2, 3], batchSize: 2 });
    expect(result.examples).toBe(3);
    for (const [key, value] of Object.entries(expected)) expect(result.values[key]).toBeCloseTo(value, 6);
  });

  it("gives the same for a baseline", () => {
    const result = evaluateRecommenderOn(transitionRecommender, table, { name: "every-next", ks: [1, 2, 3] });
    for (const [key, value] of Object.entries(expected)) expect(result.values[key]).toBeCloseTo(value, 6);
  });

  it('scores only each session\'s last item under the "last" protocol', async () => {
    // s0: after 3, target 4: rank 2. s1: after 5, target 2: rank 3.
    const { model, head } = transitionModel();
    const expectedLast = { "recall@2": 1 / 2, "recall@3": 1, "mrr@3": (1 / 2 + 1 / 3) / 2 };
    const ofModel = await evaluateModelOn(model, head, table, { name: "last", ks: [2, 3] });
    const ofBaseline = evaluateRecommenderOn(transitionRecommender, table, { name: "last", ks: [2, 3] });
    for (const result of [ofModel, ofBaseline]) {
      expect(result.examples).toBe(2);
      for (const [key, value] of Object.entries(expectedLast)) expect(result.values[key]).toBeCloseTo(value, 6);
    }
  });

  it("one pass equals prefix by prefix for a real GRU and a causal Transformer", async () => {
    const sessions = [
      [2, 3, 4, 5, 6, 7],
      [7, 2],
      [3, 3, 4],
      [9, 8, 7, 6, 5, 4, 3, 2],
      [4, 5],
    ];
    const big = tableOf(sessions, 10);
    for (const kind of ["gru", "transformer"] as const) {
      const model = createModel(
        kind,
        kind === "gru" ? { units: 8, inputs: { itemDim: 8 }, mlp: [] } : { dModel: 8, heads: 2, layers: 1, mlp: [] },
        big.schema,
      );
      const head = createHeadFor(model);
      const onePass = await evaluateEveryNext(model, head, big, { ks: [1, 3, 5], batchSize: 2 });
      const byPrefix = await evaluateByPrefix(model, head, big, { ks: [1, 3, 5], batchSize: 3 });
      expect(onePass.examples).toBe(sessions.reduce((n, s) => n + s.length - 1, 0));
      expect(onePass.values).toEqual(byPrefix.values);
    }
  });

  it("evaluateModelOn scores with the head frozen, the same figures, and leaves it as it found it", async () => {
    const sessions = [
      [2, 3, 4, 5, 6, 7],
      [7, 2],
      [9, 8, 7, 6, 5, 4, 3, 2],
    ];
    const big = tableOf(sessions, 10);
    const model = createModel("core", { inputs: { itemDim: 8 }, heads: 2, layers: 1 }, big.schema);
    const head = createHeadFor(model); // cosine, τ 0.07
    const protocol = { name: "every-next", ks: [1, 3, 5] } as const;
    const live = await evaluateEveryNext(model, head, big, { ks: [1, 3, 5] });
    const frozenOnce = vi.spyOn(head, "freeze");
    expect((await evaluateModelOn(model, head, big, protocol)).values).toEqual(live.values);
    expect(frozenOnce).toHaveBeenCalledTimes(1);
    expect(head.frozen).toBe(false); // thawed: training may go on
    head.freeze(); // a served head stays frozen
    expect((await evaluateModelOn(model, head, big, protocol)).values).toEqual(live.values);
    expect(head.frozen).toBe(true);
    disposeModel({ model, head });
  });

  it("ranks under reminder bonuses: the items of each prefix raised, hand-computed", async () => {
    // s0 = 2 3 2: after 2, target 3 (score 5; 2 itself gets the bonus b: rank 1 unless b > 5, then 2);
    // after 2 3, target 2 (T[3][2] = 1; 5 has
    // 3 and 4 has 2: rank 3; a bonus b raises 2 and 3: 2 scores 1 + b, 3 scores 0 + b — b = 1.5: 2.5 vs 5: 3, 4: 2,
    // 3: 1.5 → rank 2; b = 1000: 1001 vs 3's 1000 → rank 1).
    // s1 = 5 2: after 5, target 2 (score 0; 3 and 4 have 1; 5 gets b: with b > 0, rank 4, with 0 rank 3).
    const { model, head } = transitionModel();
    const repeats = tableOf([
      [2, 3, 2],
      [5, 2],
    ]);
    const bonuses = [0, 1.5, 1000];
    const protocol = { name: "every-next", ks: [1, 2, 3] } as const;
    const results = await evaluateModelUnder(model, head, repeats, protocol, bonuses);
    const expectedRanks = [
      [1, 3, 3],
      [1, 2, 4],
      [2, 1, 4],
    ];
    results.forEach((result, i) => {
      const ranks = expectedRanks[i];
      expect(result.examples).toBe(3);
      expect(result.values["recall@1"]).toBeCloseTo(ranks.filter((r) => r <= 1).length / 3, 6);
      expect(result.values["mrr@3"]).toBeCloseTo(ranks.reduce((sum, r) => sum + (r <= 3 ? 1 / r : 0), 0) / 3, 6);
    });
    // The head's own bonus is what evaluateModelOn uses.
    (head.config as { reminderBonus: number }).reminderBonus = 1.5;
    expect((await evaluateModelOn(model, head, repeats, protocol)).values).toEqual(results[1].values);
    (head.config as { reminderBonus: number }).reminderBonus = 0;
  });

  it("prefixItems lists the items 0..t of every position with a target, row-major", () => {
    // Two sessions of a batch padded to 3: [4 5 6], [7 8 0]; targets at (0,0), (0,1), (1,0).
    const items = [4, 5, 6, 7, 8, 0];
    const targets = [5, 6, 0, 8, 0, 0];
    expect(Array.from(prefixItems(items, targets, 3).ids)).toEqual([4, 0, 0, 4, 5, 0, 7, 0, 0]);
  });

  it("one pass equals prefix by prefix under a reminder bonus, and sampled-last refuses one", async () => {
    const sessions = [
      [2, 3, 2, 5, 3, 7],
      [7, 2, 7],
      [9, 8, 9, 6, 8, 4, 3, 2],
    ];
    const big = tableOf(sessions, 10);
    const model = createModel("gru", { units: 8, inputs: { itemDim: 8 }, mlp: [] }, big.schema);
    const head = createHeadFor(model, { reminderBonus: 0.7 });
    const onePass = await evaluateEveryNext(model, head, big, { ks: [1, 3, 5], batchSize: 2 });
    const byPrefix = await evaluateByPrefix(model, head, big, { ks: [1, 3, 5], batchSize: 3 });
    expect(onePass.values).toEqual(byPrefix.values);
    head.setReminderBonus(0);
    expect((await evaluateEveryNext(model, head, big, { ks: [1, 3, 5] })).values).not.toEqual(onePass.values);
    head.setReminderBonus(1);
    await expect(evaluateModelOn(model, head, big, SASREC_PROTOCOL)).rejects.toThrow(/could only raise the target/);
    disposeModel({ model, head });
  });

  it("refuses a model that attends both ways, and sends pooled models to the prefix path", async () => {
    const big = tableOf(
      [
        [2, 3, 4],
        [4, 5],
      ],
      10,
    );
    const bidirectional = createModel("transformer", { dModel: 8, heads: 2, layers: 1, causal: false }, big.schema);
    await expect(evaluateEveryNext(bidirectional, createHeadFor(bidirectional), big)).rejects.toThrow(
      /attends both ways/,
    );
    const mlp = createModel("mlp", { layers: [8], inputs: { itemDim: 8 } }, big.schema);
    const result = await evaluateModelOn(mlp, createHeadFor(mlp), big, GRU4REC_PROTOCOL);
    expect(result.examples).toBe(3);
  });
});

describe("protocol (b): last item against sampled unseen negatives", () => {
  // 6 items (candidates 2..5); 2 negatives per row, so each row draws exactly the two items it never saw.
  // r0 = 2 3: negatives {4, 5}; scores T[2]: 3 → 5, beats 4 (1) and 5 (2): rank 1.
  // r1 = 4 5 1: the target is out of vocabulary: a miss.
  // r2 = 5 4: negatives {2, 3}; scores T[5]: 4 → 1, 3 ties at 1 with a lower id (before), 2 → 0: rank 2.
  const table = tableOf([
    [2, 3],
    [4, 5, 1],
    [5, 4],
  ]);
  const config = { negatives: 2, ks: [1, 2], seed: 7 };
  const expected = { "recall@1": 1 / 3, "recall@2": 2 / 3, "ndcg@2": (1 + 1 / Math.log2(3)) / 3 };

  it("draws only items the row never saw", () => {
    const negatives = drawNegatives(table, N_ITEMS, config);
    expect(Array.from(negatives[0] as Int32Array).sort()).toEqual([4, 5]);
    expect(negatives[1]).toBeNull();
    expect(Array.from(negatives[2] as Int32Array).sort()).toEqual([2, 3]);
  });

  it("ranks a model's target among them", async () => {
    const { model, head } = transitionModel();
    const result = await evaluateSampledLast(model, head, table, config);
    expect(result.examples).toBe(3);
    expect(result.unranked).toBe(1);
    for (const [key, value] of Object.entries(expected)) expect(result.values[key]).toBeCloseTo(value, 6);
  });

  it("ranks a baseline's target the same way", () => {
    const result = evaluateRecommenderSampledLast(transitionRecommender, table, config);
    for (const [key, value] of Object.entries(expected)) expect(result.values[key]).toBeCloseTo(value, 6);
  });

  it("meets the negatives SampledRankingMetrics draws when fed in table order, however the model batches", () => {
    const sessions = Array.from({ length: 40 }, (_, r) =>
      Array.from({ length: 2 + (r % 5) }, (_, j) => 2 + ((r * 7 + j * 13) % 48)),
    );
    const big = tableOf(sessions, 50);
    const successors = new SuccessorCounts(50);
    successors.fit(sessions.map((s) => Int32Array.from(s)));
    const reference = new SampledRankingMetrics(50, { negatives: 20, seed: 3, ks: [1, 5, 10] });
    for (const s of sessions)
      reference.add([successors.score(Int32Array.from(s.slice(0, -1)))], [s[s.length - 1]], [s]);
    const ours = evaluateRecommenderSampledLast(successors, big, { negatives: 20, seed: 3, ks: [1, 5, 10] });
    expect(ours.values).toEqual(reference.result().values);
  });

  it("scores only the first rows when asked", async () => {
    const { model, head } = transitionModel();
    expect((await evaluateSampledLast(model, head, table, { ...config, rows: 1 })).values["recall@1"]).toBe(1);
  });
});

describe("batches padded to their own longest session", () => {
  const table = tableOf([
    [2, 3, 4, 5],
    [3, 4],
    [5, 2, 3],
    [2, 2],
    [4, 5, 2, 3],
  ]);

  it("gathers rows cut to given lengths", () => {
    const batch = gatherBatch(table, [2, 0], [2, 3]);
    expect(batch.items.shape).toEqual([2, 3]);
    expect(Array.from(batch.items.dataSync())).toEqual([5, 2, 0, 2, 3, 4]);
    expect(Array.from(batch.mask.dataSync())).toEqual([1, 1, 0, 1, 1, 1]);
    expect(Array.from(batch.lengths.dataSync())).toEqual([2, 3]);
    expect(() => gatherBatch(table, [1], [3])).toThrow(/length 3 for row 1, which has 2 events/);
  });

  it("visits every session once per epoch, in batches of similar length", () => {
    const source = new LengthBucketedBatches(table);
    for (const shuffleSeed of [undefined, 1, 2]) {
      const seen: number[][] = [];
      for (const batch of source.batches({ batchSize: 2, shuffleSeed })) {
        const [size, seqLen] = batch.items.shape;
        const lengths = Array.from(batch.lengths.dataSync());
        expect(seqLen).toBe(Math.max(...lengths));
        const items = batch.items.dataSync();
        for (let r = 0; r < size; r++) seen.push(Array.from(items.subarray(r * seqLen, r * seqLen + lengths[r])));
      }
      // Sorted by length: {2, 2} | {3, 4} | {4} — whatever the order of the batches.
      expect(seen.map((s) => s.join(" ")).sort()).toEqual(["2 2", "2 3 4 5", "3 4", "4 5 2 3", "5 2 3"]);
    }
    const unshuffled = [...source.batches({ batchSize: 2 })].map((b) => Array.from(b.lengths.dataSync()));
    expect(unshuffled).toEqual([[2, 2], [3, 4], [4]]);
  });

  it("expands every prefix of at least 2 events", () => {
    const prefixes = prefixTable(
      tableOf([
        [2, 3, 4],
        [5, 2],
      ]),
    );
    expect(prefixes.numSessions).toBe(3);
    expect(Array.from(prefixes.lengths)).toEqual([2, 3, 2]);
    expect(Array.from(prefixes.items)).toEqual([2, 3, 0, 2, 3, 4, 5, 2, 0]);
  });
});

describe("runModelOn's batching", () => {
  const sessions = [
    [2, 3, 4, 5],
    [3, 4],
    [5, 2, 3],
    [2, 2],
    [4, 5, 2, 3],
    [3, 5],
    [2, 3, 4],
    [5, 4, 3, 2],
  ];
  const table = tableOf(sessions);
  const gru: ModelRunConfig = { kind: "gru", model: { units: 8, inputs: { itemDim: 4 }, mlp: [], dropout: 0 } };
  const scored = async (training: TrainingConfig) => {
    const run = await runModelOn(
      { ...gru, training: { epochs: 2, curve: false, ...training } },
      { train: table, test: table },
      GRU4REC_PROTOCOL,
      { progress: "none" },
    );
    disposeModel(run);
    return run.metrics;
  };

  it("trains on the same targets shuffled or by length (one batch of every session: the same steps)", async () => {
    const [byLength, shuffled] = [await scored({ batchSize: 8 }), await scored({ batchSize: 8, batches: "shuffled" })];
    for (const [name, value] of Object.entries(byLength))
      expect({ name, value: shuffled[name] }).toEqual({ name, value: expect.closeTo(value, 5) });
    // With batches of 2 the steps differ: so does the model.
    const [smallByLength, smallShuffled] = [
      await scored({ batchSize: 2 }),
      await scored({ batchSize: 2, batches: "shuffled" }),
    ];
    expect(smallShuffled["mrr@20"]).not.toBeCloseTo(smallByLength["mrr@20"], 5);
  });

  it("refuses an unknown batching", async () => {
    await expect(scored({ batches: "random" as never })).rejects.toThrow(
      /batches must be "by-length" or "shuffled", got 'random'/,
    );
  });
});

describe("baselines under a protocol", () => {
  it("fits on train and scores test", () => {
    // Train: 2 → 3 twice, 2 → 4 once. Test 2 3: successor counts rank 3 first.
    const train = tableOf([
      [2, 3],
      [2, 3],
      [2, 4],
    ]);
    const test = tableOf([
      [2, 3],
      [2, 4],
    ]);
    const [popular, successors] = runBaselinesOn({ train, test }, { name: "every-next", ks: [1, 2] });
    // Popularity: 2 (3×) > 3 (2×) > 4 (1×): target 3 rank 2, target 4 rank 3.
    expect(popular.metrics["recall@2"]).toBeCloseTo(0.5, 6);
    expect(popular.metrics["mrr@2"]).toBeCloseTo(0.25, 6);
    // Successors of 2: 3 (2) then 4 (1): ranks 1 and 2.
    expect(successors.metrics["recall@1"]).toBeCloseTo(0.5, 6);
    expect(successors.metrics["mrr@2"]).toBeCloseTo(0.75, 6);
  });
});

describe("comparisonTable", () => {
  it("puts each reference beside our figure and names the scored epoch when validation chose an earlier one", () => {
    const runs = [
      { name: "most-popular", metrics: { "recall@10": 0.48, "ndcg@10": 0.28 }, trainSeconds: 0.01, backend: "js" },
      {
        name: "transformer",
        metrics: { "recall@10": 0.6676, "ndcg@10": 0.4724 },
        trainSeconds: 344,
        epochs: 10,
        bestEpoch: 7,
        backend: "wasm",
      },
      {
        name: "gru",
        metrics: { "recall@10": 0.6, "ndcg@10": 0.38 },
        trainSeconds: 91,
        epochs: 4,
        bestEpoch: 4,
        backend: "wasm",
      },
    ];
    const references = [
      { counterpart: "transformer", source: "a", metrics: { "recall@10": 0.741, "ndcg@10": 0.536 } },
      { counterpart: "transformer", source: "b", metrics: { "recall@10": 0.732, "ndcg@10": 0.531 } },
    ];
    const table = comparisonTable(runs, references, SASREC_PROTOCOL);
    expect(table.columns).toEqual([
      "model",
      "HR@10",
      "ref HR@10",
      "NDCG@10",
      "ref NDCG@10",
      "epochs",
      "train s",
      "ref train s",
      "backend",
    ]);
    expect(table.rows).toEqual([
      ["most-popular", 0.48, "", 0.28, "", "", "0.0", "", "js"],
      ["transformer", 0.6676, "0.741 / 0.732", 0.4724, "0.536 / 0.531", "10 (best 7)", "344.0", "", "wasm"],
      ["gru", 0.6, "", 0.38, "", 4, "91.0", "", "wasm"],
    ]);
  });

  it("shows a published model we do not run (GCE-GNN) as a row of its own, its figures in the reference columns", () => {
    const runs = [
      { name: "vstan", metrics: { "recall@20": 0.379, "mrr@20": 0.157 }, trainSeconds: 0.1, backend: "js" },
    ];
    const references = [
      { counterpart: "sr-gnn", source: "a", metrics: { "recall@20": 0.2757, "mrr@20": 0.1372 } },
      { counterpart: "gce-gnn", source: "b", metrics: { "recall@20": 0.3342, "mrr@20": 0.1542 } },
    ];
    const table = comparisonTable(runs, references, GRU4REC_PROTOCOL, ["recall@10"]);
    expect(table.rows).toEqual([
      ["vstan", 0.379, "", 0.157, "", undefined, "", "0.1", "", "js"],
      ["sr-gnn (published)", "", "0.2757", "", "0.1372", "", "", "", "", ""],
      ["gce-gnn (published)", "", "0.3342", "", "0.1542", "", "", "", "", ""],
    ]);
  });
});

describe("resolveHead: uniform negatives", () => {
  it("samples from the real items of a larger catalogue, and is the full softmax when N covers the catalogue", () => {
    const sampled = resolveHead({ sampled: { negatives: "uniform", numNegatives: 4 } }, 7)!.sampled!;
    expect(sampled).toMatchObject({ negatives: "popularity", numNegatives: 4, logQCorrection: false });
    expect(Array.from(sampled.itemProbabilities!)).toEqual([0, 0, 1, 1, 1, 1, 1]); // never padding (0) or OOV (1)
    expect(resolveHead({ sampled: { negatives: "uniform", numNegatives: 5 } }, 7)!.sampled).toBeNull();
    expect(resolveHead({ temperature: 0.5, sampled: { negatives: "uniform", numNegatives: 4096 } }, 2935)).toEqual({
      temperature: 0.5,
      sampled: null,
    });
  });
});
