import { describe, expect, it } from "vitest";
import { MostPopular, SessionKnn, SuccessorCounts, evaluateRecommender, type Recommender } from "../lib/baselines";
import { topKRow } from "../lib/metrics";

// Eight item ids: 0 = padding, 1 = OOV, candidates 2..7 (7 never occurs in training).
const N_ITEMS = 8;
const TRAIN = [
  [2, 3, 4], // S0
  [3, 4, 5], // S1
  [2, 4, 1, 4, 6], // S2: OOV dropped, 4 repeated
  [5, 6], // S3
  [3, 5, 3], // S4
].map((s) => Int32Array.from(s));
const session = (...ids: number[]) => Int32Array.from(ids);
const ranking = (scores: Float32Array) => Array.from(topKRow(scores, N_ITEMS));

function fitted<R extends Recommender>(recommender: R): R {
  recommender.fit(TRAIN);
  return recommender;
}

describe("MostPopular", () => {
  it("scores items by training occurrences, the same for every session", () => {
    const popular = fitted(new MostPopular(N_ITEMS));
    // Occurrences: 2→2, 3→4, 4→4, 5→3, 6→2, 7→0 (ids 0/1 never counted).
    expect(Array.from(popular.score(session(7)))).toEqual([0, 0, 2, 4, 4, 3, 2, 0]);
    expect(ranking(popular.score(session()))).toEqual([3, 4, 5, 2, 6, 7]);
    const out = new Float32Array(N_ITEMS).fill(-1);
    expect(popular.score(session(2, 3), out)).toBe(out);
    expect(Array.from(out)).toEqual([0, 0, 2, 4, 4, 3, 2, 0]);
  });

  it("checks its input", () => {
    expect(() => new MostPopular(N_ITEMS).score(session(2))).toThrow(/fit/);
    expect(() => new MostPopular(N_ITEMS).fit([session(2, 3), session(4, 8)])).toThrow(
      /sessions\[1\]\[1\] = 8 is outside \[0, 8\)/,
    );
    expect(() => fitted(new MostPopular(N_ITEMS)).score(session(2), new Float32Array(3))).toThrow(/length 3/);
    expect(() => new MostPopular(2)).toThrow(/nItems/);
  });
});

describe("SuccessorCounts", () => {
  // Transitions (OOV dropped first): 2→3, 3→4 (x2), 4→5, 2→4, 4→4, 4→6, 5→6, 3→5, 5→3.
  // Popularity share = occurrences / (4 + 1): 2→0.4, 3→0.8, 4→0.8, 5→0.6, 6→0.4, 7→0.
  it("counts transitions between consecutive known items", () => {
    const successor = fitted(new SuccessorCounts(N_ITEMS));
    expect(successor.transitionCount(3, 4)).toBe(2);
    expect(successor.transitionCount(4, 4)).toBe(1);
    expect(successor.transitionCount(4, 6)).toBe(1); // across the dropped OOV of S2
    expect(successor.transitionCount(2, 5)).toBe(0);
  });

  it("scores count(last → j) + popularity share and ranks successors first", () => {
    const successor = fitted(new SuccessorCounts(N_ITEMS));
    const afterThree = successor.score(session(7, 3));
    const expected = [0, 0, 0.4, 0.8, 2.8, 1.6, 0.4, 0];
    expected.forEach((value, j) => expect(afterThree[j]).toBeCloseTo(value, 6));
    expect(ranking(afterThree)).toEqual([4, 5, 3, 2, 6, 7]);
    // The last KNOWN item counts: a trailing OOV is skipped.
    expect(ranking(successor.score(session(3, 1)))).toEqual([4, 5, 3, 2, 6, 7]);
    // 4 → {4, 5, 6} once each: ties among successors broken by popularity (4: 1.8, 5: 1.6, 6: 1.4).
    expect(ranking(successor.score(session(4)))).toEqual([4, 5, 6, 3, 2, 7]);
  });

  it("backs off to popularity when the last item has no successor or the session no known item", () => {
    const successor = fitted(new SuccessorCounts(N_ITEMS));
    const popularity = [3, 4, 5, 2, 6, 7];
    expect(ranking(successor.score(session(7)))).toEqual(popularity);
    expect(ranking(successor.score(session(1)))).toEqual(popularity);
    expect(ranking(successor.score(session()))).toEqual(popularity);
  });
});

describe("SessionKnn (V-SKNN)", () => {
  // Distinct items: S0 {2,3,4}, S1 {3,4,5}, S2 {2,4,6}, S3 {5,6}, S4 {3,5}.
  // Current session [2, 4]: weights 2 → 1/2, 4 → 2/2; squared norm 1.25. Sessions sharing an item: S0, S1, S2,
  // with overlaps S0: 1.5, S1: 1, S2: 1.5; each has 3 distinct items.
  const cosine = (overlap: number, squaredNorm: number, size: number) =>
    overlap / (Math.sqrt(squaredNorm) * Math.sqrt(size));
  const s0 = cosine(1.5, 1.25, 3);
  const s1 = cosine(1, 1.25, 3);

  function expectScores(scores: Float32Array, expected: number[]) {
    expect(scores.length).toBe(N_ITEMS);
    expected.forEach((value, j) => expect(scores[j]).toBeCloseTo(value, 6));
  }

  it("finds neighbours by position-weighted cosine, recent first on ties", () => {
    const knn = fitted(new SessionKnn(N_ITEMS));
    const { sessions, similarities } = knn.neighbours(session(2, 4));
    expect(Array.from(sessions)).toEqual([2, 0, 1]); // S2 and S0 tie: the more recent S2 first
    expect(similarities[0]).toBeCloseTo(s0, 12);
    expect(similarities[1]).toBeCloseTo(s0, 12);
    expect(similarities[2]).toBeCloseTo(s1, 12);
  });

  it("scores each item by the summed similarity of the neighbours holding it", () => {
    const knn = fitted(new SessionKnn(N_ITEMS));
    expectScores(knn.score(session(2, 4)), [0, 0, 2 * s0, s0 + s1, 2 * s0 + s1, s1, s0, 0]);
    // OOV and padding ids in the session are dropped before weighting.
    expectScores(knn.score(session(2, 1, 4, 0)), [0, 0, 2 * s0, s0 + s1, 2 * s0 + s1, s1, s0, 0]);
  });

  it("weighs recent items more: [4, 2] differs from [2, 4]", () => {
    const knn = fitted(new SessionKnn(N_ITEMS));
    // Weights 4 → 1/2, 2 → 1: overlaps S0 1.5, S1 0.5, S2 1.5.
    const { sessions, similarities } = knn.neighbours(session(4, 2));
    expect(Array.from(sessions)).toEqual([2, 0, 1]);
    expect(similarities[2]).toBeCloseTo(cosine(0.5, 1.25, 3), 12);
    // A repeated item keeps its latest weight; L counts every event: [4, 2, 4] → 4: 3/3, 2: 2/3.
    const repeated = knn.neighbours(session(4, 2, 4));
    expect(repeated.similarities[0]).toBeCloseTo(cosine(5 / 3, 1 + 4 / 9, 3), 12);
    expect(repeated.similarities[2]).toBeCloseTo(cosine(1, 1 + 4 / 9, 3), 12);
  });

  it("keeps only the k nearest of the sampleSize most recent candidates", () => {
    const nearest = new SessionKnn(N_ITEMS, { k: 2 });
    nearest.fit(TRAIN);
    expectScores(nearest.score(session(2, 4)), [0, 0, 2 * s0, s0, 2 * s0, 0, s0, 0]);
    // sampleSize 2: only S2 and S1 (the most recent sessions sharing an item) are candidates.
    const recent = new SessionKnn(N_ITEMS, { sampleSize: 2 });
    recent.fit(TRAIN);
    expect(Array.from(recent.neighbours(session(2, 4)).sessions)).toEqual([2, 1]);
    expectScores(recent.score(session(2, 4)), [0, 0, s0, s1, s0 + s1, s1, s0, 0]);
  });

  it('supports the "vec" similarity (overlap / distinct items of the session)', () => {
    const knn = new SessionKnn(N_ITEMS, { similarity: "vec" });
    knn.fit(TRAIN);
    expect(Array.from(knn.neighbours(session(2, 4)).similarities)).toEqual([0.75, 0.75, 0.5]);
  });

  it("scores 0 everywhere without a shared item, and checks its config", () => {
    const knn = fitted(new SessionKnn(N_ITEMS));
    expect(Array.from(knn.score(session(7)))).toEqual(new Array(N_ITEMS).fill(0));
    expect(Array.from(knn.score(session(1)))).toEqual(new Array(N_ITEMS).fill(0));
    expect(() => new SessionKnn(N_ITEMS, { k: 0 })).toThrow(/k must be a positive integer/);
    expect(() => new SessionKnn(N_ITEMS).score(session(2))).toThrow(/fit/);
    expect(() => knn.score(session(2, 9))).toThrow(/session\[1\] = 9 is outside/);
  });
});

describe("evaluateRecommender", () => {
  // Popularity ranking: 3, 4, 5, 2, 6, 7.
  const TEST = [session(5, 3), session(2, 6, 7), session(4), session(3, 1)];

  it('"last": predicts each session\'s last item from the rest', () => {
    const result = evaluateRecommender(fitted(new MostPopular(N_ITEMS)), TEST, { ks: [5, 10] });
    // Targets 3 (rank 1), 7 (rank 6), OOV 1 (miss); [4] gives no example.
    expect(result.examples).toBe(3);
    expect(result.unranked).toBe(1);
    expect(result.values["recall@5"]).toBeCloseTo(1 / 3, 12);
    expect(result.values["recall@10"]).toBeCloseTo(2 / 3, 12);
    expect(result.values["mrr@10"]).toBeCloseTo((1 + 1 / 6) / 3, 12);
  });

  it('"every-next": predicts each item t >= 1 from the items before it', () => {
    const result = evaluateRecommender(fitted(new MostPopular(N_ITEMS)), TEST, { ks: [5, 10], protocol: "every-next" });
    // Targets 3 (rank 1), 6 (rank 5), 7 (rank 6), OOV 1 (miss).
    expect(result.examples).toBe(4);
    expect(result.values["recall@5"]).toBeCloseTo(2 / 4, 12);
    expect(result.values["mrr@5"]).toBeCloseTo((1 + 1 / 5) / 4, 12);
    expect(result.values["ndcg@5"]).toBeCloseTo((1 + 1 / Math.log2(6)) / 4, 12);
    expect(result.values["recall@10"]).toBeCloseTo(3 / 4, 12);
  });

  it("feeds exactly the prefix before each target", () => {
    const seen: number[][] = [];
    const spy: Recommender = {
      name: "spy",
      nItems: N_ITEMS,
      fit: () => {},
      score: (prefix, out = new Float32Array(N_ITEMS)) => {
        seen.push(Array.from(prefix));
        return out.fill(0);
      },
    };
    evaluateRecommender(spy, TEST, { protocol: "last" });
    expect(seen).toEqual([[5], [2, 6], [3]]);
    seen.length = 0;
    evaluateRecommender(spy, TEST, { protocol: "every-next" });
    expect(seen).toEqual([[5], [2], [2, 6], [3]]);
  });
});
