import { describe, expect, it } from "vitest";
import { SessionKnn, VSTAN_DEFAULTS, Vstan, type VstanConfig, createBaseline, restoreBaseline } from "../lib/baselines";
import { createRunBaseline } from "../lib/evaluate/index";
import { runConfigSchema } from "../lib/config/index";

// Eight item ids: 0 = padding, 1 = OOV, candidates 2..7. Four training sessions, oldest first; each distinct item
// with the 1-based position of its last occurrence:
//   S0 [2, 3, 4]      2@1 3@2 4@3
//   S1 [3, 5, 3, 6]   3@3 5@2 6@4   (3 repeated: its last occurrence counts)
//   S2 [4, 1, 6, 7]   4@1 6@2 7@3   (the OOV id is dropped before positions are counted)
//   S3 [2, 7]         2@1 7@2
// Occurrences (repeats counted): 2 → 2, 3 → 3, 4 → 2, 5 → 1, 6 → 2, 7 → 2; IDF = ln(4 / occurrences).
const N_ITEMS = 8;
const TRAIN = [
  [2, 3, 4],
  [3, 5, 3, 6],
  [4, 1, 6, 7],
  [2, 7],
].map((s) => Int32Array.from(s));
const session = (...ids: number[]) => Int32Array.from(ids);

/** Every λ off unless `config` sets it. */
const OFF: VstanConfig = { lambdaSpw: null, lambdaSnh: null, lambdaInh: null, lambdaIpw: null, lambdaIdf: null };
function fitted(config: VstanConfig): Vstan {
  const vstan = new Vstan(N_ITEMS, { ...OFF, ...config });
  vstan.fit(TRAIN);
  return vstan;
}

function expectScores(scores: Float32Array, expected: number[]) {
  expect(scores.length).toBe(N_ITEMS);
  expected.forEach((value, j) => expect(scores[j], `item ${j}`).toBeCloseTo(value, 6));
}

// The current session [2, 3] (L = 2) shares an item with S3 (2), S1 (3) and S0 (2 and 3); S2 shares none. With the
// binary cosine (every weight 1, squared norm 2): S3 1/(√2·√2), S1 1/(√2·√3), S0 2/(√2·√3).
const a = 1 / 2;
const b = 1 / Math.sqrt(6);
const c = 2 / Math.sqrt(6);
const e = Math.exp;

describe("Vstan", () => {
  it("with every λ off: S-KNN with a binary cosine, recent first on ties", () => {
    const vstan = fitted({});
    const { sessions, similarities } = vstan.neighbours(session(2, 3));
    expect(Array.from(sessions)).toEqual([0, 3, 1]);
    [c, a, b].forEach((value, n) => expect(similarities[n]).toBeCloseTo(value, 12));
    expectScores(vstan.score(session(2, 3)), [0, 0, a + c, b + c, c, b, b, a]);
    // Padding and OOV ids are dropped before positions are counted.
    expectScores(vstan.score(session(0, 2, 1, 3)), [0, 0, a + c, b + c, c, b, b, a]);
    expectScores(vstan.score(session(1)), [0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("λ_spw: the current session's item at position p of L weighs exp((p − L) / λ_spw)", () => {
    // λ_spw = 1: 2 (p = 1) weighs e^-1, 3 (p = 2) weighs 1; squared norm 1 + e^-2.
    const norm = Math.sqrt(1 + e(-2));
    const s3 = e(-1) / (norm * Math.sqrt(2));
    const s1 = 1 / (norm * Math.sqrt(3));
    const s0 = (1 + e(-1)) / (norm * Math.sqrt(3));
    const vstan = fitted({ lambdaSpw: 1 });
    expectScores(vstan.score(session(2, 3)), [0, 0, s3 + s0, s1 + s0, s0, s1, s1, s3]);
    // A repeated item keeps the weight of its latest occurrence: [3, 2, 3] weighs 3 → 1, 2 → e^-1 as above.
    expectScores(vstan.score(session(3, 2, 3)), [0, 0, s3 + s0, s1 + s0, s0, s1, s1, s3]);
    // "vec": the overlap over the distinct items of the session.
    const vec = fitted({ lambdaSpw: 1, similarity: "vec" });
    expectScores(vec.score(session(2, 3)), [
      0,
      0,
      e(-1) / 2 + (1 + e(-1)) / 2,
      1 / 2 + (1 + e(-1)) / 2,
      (1 + e(-1)) / 2,
      1 / 2,
      1 / 2,
      e(-1) / 2,
    ]);
  });

  it("λ_snh: a neighbour's similarity decays with the share of the training log after it, before the k nearest are kept", () => {
    // λ_snh = 0.5; ages S3 0/4, S1 2/4, S0 3/4 → factors 1, e^-1, e^-1.5.
    const vstan = fitted({ lambdaSnh: 0.5 });
    const s1 = b * e(-1);
    const s0 = c * e(-1.5);
    expectScores(vstan.score(session(2, 3)), [0, 0, a + s0, s1 + s0, s0, s1, s1, a]);
    // With k = 1 the nearest neighbour is S0 without the decay and S3 (0.5 > 0.18 > 0.15) with it.
    expect(Array.from(fitted({ k: 1 }).neighbours(session(2, 3)).sessions)).toEqual([0]);
    const nearest = fitted({ k: 1, lambdaSnh: 0.5 }).neighbours(session(2, 3));
    expect(Array.from(nearest.sessions)).toEqual([3]);
    expect(nearest.similarities[0]).toBeCloseTo(a, 12);
  });

  it("λ_inh: an item's score decays with its distance in the neighbour from the shared item occurring last there", () => {
    // λ_inh = 1. S3: shared 2@1 → 2 ×1, 7@2 ×e^-1. S1: shared 3@3 → 3 ×1, 5@2 ×e^-1, 6@4 ×e^-1. S0: shared 2@1 and
    // 3@2, the later is 3@2 → 2 ×e^-1, 3 ×1, 4@3 ×e^-1.
    const vstan = fitted({ lambdaInh: 1 });
    expectScores(vstan.score(session(2, 3)), [0, 0, a + c * e(-1), b + c, c * e(-1), b * e(-1), b * e(-1), a * e(-1)]);
  });

  it("λ_ipw: a neighbour's scores decay with how far back in the current session its latest shared item lies", () => {
    // λ_ipw = 1, L = 2. S3 shares only 2 (p = 1) → e^-1; S1 shares 3 (p = 2) → 1; S0 shares 2 and 3 → 1.
    const vstan = fitted({ lambdaIpw: 1 });
    expectScores(vstan.score(session(2, 3)), [0, 0, a * e(-1) + c, b + c, c, b, b, a * e(-1)]);
  });

  it("λ_idf: each item's score is boosted by 1 + λ_idf · ln(sessions / occurrences)", () => {
    const vstan = fitted({ lambdaIdf: 1 });
    const boost = (occurrences: number) => 1 + Math.log(4 / occurrences);
    expectScores(vstan.score(session(2, 3)), [
      0,
      0,
      (a + c) * boost(2),
      (b + c) * boost(3),
      c * boost(2),
      b * boost(1),
      b * boost(2),
      a * boost(2),
    ]);
    expectScores(fitted({ lambdaIdf: 2 }).score(session(5)), [
      0,
      0,
      0,
      (1 / Math.sqrt(3)) * (1 + 2 * Math.log(4 / 3)),
      0,
      (1 / Math.sqrt(3)) * (1 + 2 * Math.log(4)),
      (1 / Math.sqrt(3)) * (1 + 2 * Math.log(2)),
      0,
    ]);
  });

  it("every λ at once multiplies the factors", () => {
    const config = { lambdaSpw: 1, lambdaSnh: 0.5, lambdaInh: 1, lambdaIpw: 1, lambdaIdf: 1 };
    const norm = Math.sqrt(1 + e(-2));
    const s3 = e(-1) / (norm * Math.sqrt(2)); // age 0
    const s1 = (1 / (norm * Math.sqrt(3))) * e(-1);
    const s0 = ((1 + e(-1)) / (norm * Math.sqrt(3))) * e(-1.5);
    const idf = (occurrences: number) => 1 + Math.log(4 / occurrences);
    // S3: ipw e^-1; inh 2 ×1, 7 ×e^-1. S1: ipw 1; 3 ×1, 5 and 6 ×e^-1. S0: ipw 1; 2 ×e^-1, 3 ×1, 4 ×e^-1.
    expectScores(fitted(config).score(session(2, 3)), [
      0,
      0,
      (s3 * e(-1) + s0 * e(-1)) * idf(2),
      (s1 + s0) * idf(3),
      s0 * e(-1) * idf(2),
      s1 * e(-1) * idf(1),
      s1 * e(-1) * idf(2),
      s3 * e(-1) * e(-1) * idf(2),
    ]);
  });

  it("equals V-SKNN on sessions of one distinct item when λ_snh, λ_inh, λ_ipw and λ_idf are off", () => {
    for (const similarity of ["cosine", "vec"] as const) {
      for (const k of [1, 2, 100]) {
        const vstan = fitted({ lambdaSpw: 1.02, similarity, k, sampleSize: 3 });
        const vsknn = new SessionKnn(N_ITEMS, { similarity, k, sampleSize: 3 });
        vsknn.fit(TRAIN);
        for (const items of [[2], [3], [3, 3], [4, 1, 4], [7]]) {
          expect(Array.from(vstan.score(session(...items))), `${similarity} k=${k} [${items}]`).toEqual(
            Array.from(vsknn.score(session(...items))),
          );
        }
      }
    }
    // On longer sessions the two differ only by the position weights: exp((p − L)/λ_spw) here, p / L there.
    expect(Array.from(fitted({ lambdaSpw: 1 }).score(session(2, 3)))).not.toEqual(
      Array.from(fittedKnn().score(session(2, 3))),
    );
  });

  it("round-trips through state() / restore() and its config with identical scores", () => {
    const vstan = new Vstan(N_ITEMS, { lambdaIpw: 1 });
    vstan.fit(TRAIN);
    expect(new Vstan(N_ITEMS).config).toEqual({ ...VSTAN_DEFAULTS });
    expect(vstan.config).toEqual({ ...VSTAN_DEFAULTS, lambdaIpw: 1 });
    const config = JSON.parse(JSON.stringify(fitted({ lambdaSpw: 1, lambdaIdf: 2 }).config));
    expect(config).toEqual({
      k: 100,
      sampleSize: 5000,
      similarity: "cosine",
      lambdaSpw: 1,
      lambdaSnh: null,
      lambdaInh: null,
      lambdaIpw: null,
      lambdaIdf: 2,
    });
    for (const original of [vstan, fitted({ lambdaSpw: 1, lambdaIdf: 2 })]) {
      const state = original.state();
      expect(Object.keys(state).sort()).toEqual([
        "itemOccurrences",
        "sessionItems",
        "sessionPositions",
        "sessionStart",
      ]);
      const copy = restoreBaseline("vstan", N_ITEMS, JSON.parse(JSON.stringify(original.config)), state);
      for (const items of [[2, 3], [3, 5, 3], [7], [6, 2, 4], [1]]) {
        expect(Array.from(copy.score(session(...items)))).toEqual(Array.from(original.score(session(...items))));
      }
    }
    expect(Array.from(vstan.state().sessionPositions as Int32Array)).toEqual([1, 2, 3, 3, 2, 4, 1, 2, 3, 1, 2]);
    expect(Array.from(vstan.state().itemOccurrences as Float32Array)).toEqual([0, 0, 2, 3, 2, 1, 2, 2]);
  });

  it("checks its config and a restored state", () => {
    expect(() => new Vstan(N_ITEMS, { k: 0 })).toThrow(/k must be a positive integer/);
    expect(() => new Vstan(N_ITEMS, { lambdaInh: 0 })).toThrow(/lambdaInh must be a positive number or null/);
    expect(() => new Vstan(N_ITEMS, { similarity: "jaccard" as never })).toThrow(/similarity/);
    expect(() => new Vstan(N_ITEMS).score(session(2))).toThrow(/fit/);
    const state = fitted({}).state();
    expect(() =>
      createBaseline("vstan", N_ITEMS, {}).restore({ ...state, sessionPositions: new Int32Array(3) }),
    ).toThrow(/sessionPositions/);
    expect(() =>
      createBaseline("vstan", N_ITEMS, {}).restore({ ...state, sessionPositions: new Int32Array(11) }),
    ).toThrow(/positions start at 1/);
    expect(() =>
      createBaseline("vstan", N_ITEMS, {}).restore({
        ...state,
        itemOccurrences: Float32Array.of(0, 0, 1, 1, 1, 1, 1, -1),
      }),
    ).toThrow(/itemOccurrences/);
  });

  it("is a baseline that run configs can name", () => {
    expect(createRunBaseline("vstan", N_ITEMS).name).toBe("vstan");
    expect(
      (createRunBaseline({ name: "vstan", config: { lambdaSnh: null, k: 50 } }, N_ITEMS) as Vstan).config,
    ).toMatchObject({ k: 50, lambdaSnh: null, lambdaSpw: 4, lambdaIpw: null });
    const data = {
      folder: "build/data/yoochoose",
      prepare: { recipe: "yoochoose", inputDir: "../shared/data/yoochoose-100k" },
    };
    const parsed = (baselines: unknown) =>
      runConfigSchema.safeParse({ data, baselines, evaluation: { protocol: "every-next" } });
    expect(parsed(["v-sknn"]).success).toBe(true);
    expect(parsed(["vstan", { name: "vstan", config: { lambdaIdf: null, sampleSize: 1000 } }]).success).toBe(true);
    expect(parsed([{ name: "vstan", config: { lambdaIdf: -1 } }]).success).toBe(false);
    expect(parsed([{ name: "vstan", config: { lambda: 1 } }]).success).toBe(false);
  });
});

function fittedKnn(): SessionKnn {
  const knn = new SessionKnn(N_ITEMS);
  knn.fit(TRAIN);
  return knn;
}
