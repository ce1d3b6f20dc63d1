import { describe, expect, it } from "vitest";
import { Random, WeightedSampler, hash32 } from "../lib/util/index";

/** Mean and (population) variance of a sample. */
function moments(xs: ArrayLike<number>): { mean: number; variance: number } {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i];
  const mean = sum / xs.length;
  let sq = 0;
  for (let i = 0; i < xs.length; i++) sq += (xs[i] - mean) ** 2;
  return { mean, variance: sq / xs.length };
}

function draws(n: number, draw: () => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = draw();
  return out;
}

/** Frequencies of the values 0..k-1 among n draws. */
function frequencies(n: number, k: number, draw: () => number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) counts[draw()]++;
  return counts.map((c) => c / n);
}

describe("xoshiro128** known answers", () => {
  // Reference values from the C implementation of xoshiro128** (Blackman & Vigna) with the same seeding
  // (state[i] = lowbias32(seed + (i + 1) * 0x9e3779b9)), compiled with gcc and run separately.
  it("matches the C reference for seeds 0, 42 and 2^32 - 1", () => {
    const first5 = (seed: number) => {
      const r = new Random(seed);
      return [0, 1, 2, 3, 4].map(() => r.nextUint32());
    };
    expect(first5(0)).toEqual([3733119852, 4156223338, 2961993901, 3978119837, 4291452858]);
    expect(first5(42)).toEqual([955885115, 1328154995, 946741108, 3308724645, 1914051306]);
    expect(first5(4294967295)).toEqual([1248491728, 3112222971, 1763929067, 3707090827, 1051347108]);
  });

  it("matches the C reference at the millionth draw (no drift from 32-bit arithmetic)", () => {
    const r = new Random(42);
    for (let i = 0; i < 999_995; i++) r.nextUint32();
    expect(r.nextUint32()).toBe(692020870);
  });

  it("hash32 is lowbias32", () => {
    expect(hash32(0)).toBe(0);
    expect(hash32(1)).toBe(1753845952);
  });

  it("uses the low 32 bits of the seed and rejects non-integers", () => {
    expect(new Random(2 ** 32 + 42).nextUint32()).toBe(955885115);
    expect(new Random(-1).nextUint32()).toBe(1248491728); // -1 >>> 0 = 2^32 - 1
    expect(() => new Random(1.5)).toThrow(/integer/);
  });
});

describe("Random distributions", () => {
  it("uniform() on [0, 1): mean 1/2, variance 1/12", () => {
    const r = new Random(1);
    const xs = draws(200_000, () => r.uniform());
    const { mean, variance } = moments(xs);
    // Standard error of the mean: sqrt(1/12 / 2e5) ≈ 6.5e-4; tolerances are ≈ 5 standard errors.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.003);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("uniform(lo, hi) scales to the range", () => {
    const r = new Random(2);
    const xs = draws(50_000, () => r.uniform(-3, 5));
    expect(xs.every((x) => x >= -3 && x < 5)).toBe(true);
    expect(Math.abs(moments(xs).mean - 1)).toBeLessThan(0.05); // sd of mean = 8/sqrt(12·5e4) ≈ 0.01
  });

  it("int(lo, hi) is uniform on lo..hi-1", () => {
    const r = new Random(3);
    const freq = frequencies(60_000, 6, () => r.int(3, 9) - 3);
    // Each value 1/6; sd of a frequency = sqrt(1/6 · 5/6 / 6e4) ≈ 0.0015.
    for (const f of freq) expect(Math.abs(f - 1 / 6)).toBeLessThan(0.008);
    expect(() => r.int(5, 5)).toThrow(/lo < hi/);
    expect(() => r.int(0, 2.5)).toThrow(/integers/);
  });

  it("normal(): mean, variance, skewness and kurtosis of N(0, 1); parameters shift and scale", () => {
    const r = new Random(4);
    const xs = draws(200_000, () => r.normal());
    const { mean, variance } = moments(xs);
    let m3 = 0;
    let m4 = 0;
    for (const x of xs) {
      m3 += (x - mean) ** 3;
      m4 += (x - mean) ** 4;
    }
    const skew = m3 / xs.length / variance ** 1.5;
    const kurtosis = m4 / xs.length / variance ** 2;
    expect(Math.abs(mean)).toBeLessThan(0.01); // se 0.0022
    expect(Math.abs(variance - 1)).toBeLessThan(0.015); // se of variance sqrt(2/2e5) ≈ 0.0032
    expect(Math.abs(skew)).toBeLessThan(0.03); // se sqrt(6/2e5) ≈ 0.0055
    expect(Math.abs(kurtosis - 3)).toBeLessThan(0.06); // se sqrt(24/2e5) ≈ 0.011
    const shifted = moments(draws(100_000, () => r.normal(5, 2)));
    expect(Math.abs(shifted.mean - 5)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(shifted.variance) - 2)).toBeLessThan(0.03);
  });

  it("exponential(mean) and geometric(mean) have the requested means", () => {
    const r = new Random(5);
    expect(Math.abs(moments(draws(100_000, () => r.exponential(2))).mean - 2)).toBeLessThan(0.04);
    const g = draws(100_000, () => r.geometric(1.5));
    expect(Math.abs(moments(g).mean - 1.5)).toBeLessThan(0.03);
    // P(0) = 1 / (1 + mean) = 0.4
    expect(Math.abs(g.filter((x) => x === 0).length / g.length - 0.4)).toBeLessThan(0.01);
    expect(g.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
  });

  it("choiceWeighted() and WeightedSampler draw indices in proportion to the weights", () => {
    const weights = [1, 0, 2, 3, 4];
    const expected = [0.1, 0, 0.2, 0.3, 0.4];
    const r = new Random(6);
    const sampler = new WeightedSampler(weights);
    const fromChoice = frequencies(100_000, 5, () => r.choiceWeighted(weights));
    const fromSampler = frequencies(100_000, 5, () => sampler.sample(r));
    for (let i = 0; i < 5; i++) {
      expect(Math.abs(fromChoice[i] - expected[i])).toBeLessThan(0.006); // sd ≤ 0.0016
      expect(Math.abs(fromSampler[i] - expected[i])).toBeLessThan(0.006);
    }
    expect(fromChoice[1]).toBe(0);
    expect(fromSampler[1]).toBe(0);
    expect(() => r.choiceWeighted([0, 0])).toThrow(/positive sum/);
    expect(() => new WeightedSampler([1, -1])).toThrow(/weights\[1\]/);
  });

  it("WeightedSampler handles very uneven weights (Zipf over 10k values)", () => {
    const n = 10_000;
    const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1));
    const total = weights.reduce((a, b) => a + b, 0);
    const r = new Random(7);
    const sampler = new WeightedSampler(weights);
    let top = 0;
    let tail = 0;
    const drawCount = 200_000;
    for (let i = 0; i < drawCount; i++) {
      const k = sampler.sample(r);
      if (k === 0) top++;
      if (k >= n / 2) tail++;
    }
    // P(0) = 1 / H(10000) ≈ 0.1020; P(k >= 5000) = (H(10000) - H(5000)) / H(10000) ≈ 0.0709
    let tailWeight = 0;
    for (let i = n / 2; i < n; i++) tailWeight += weights[i];
    expect(Math.abs(top / drawCount - 1 / total)).toBeLessThan(0.004);
    expect(Math.abs(tail / drawCount - tailWeight / total)).toBeLessThan(0.004);
  });

  it("shuffle() is a permutation and every order of 3 items is equally likely", () => {
    const r = new Random(8);
    const arr = Array.from({ length: 100 }, (_, i) => i);
    r.shuffle(arr);
    expect([...arr].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(arr).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    const counts = new Map<string, number>();
    const n = 60_000;
    for (let i = 0; i < n; i++) {
      const key = r.shuffle([0, 1, 2]).join("");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c / n - 1 / 6)).toBeLessThan(0.008);
    const perm = r.permutation(50);
    expect(Array.from(perm).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe("Random streams", () => {
  it("the same seed replays the same sequence; different seeds and forks differ", () => {
    const seq = (r: Random) => Array.from({ length: 8 }, () => r.nextUint32());
    expect(seq(new Random(9))).toEqual(seq(new Random(9)));
    expect(seq(new Random(9))).not.toEqual(seq(new Random(10)));
    const parent = new Random(9);
    const a = seq(parent.fork(1));
    expect(seq(new Random(9).fork(1))).toEqual(a);
    expect(seq(parent.fork(2))).not.toEqual(a);
    expect(seq(new Random(9))).not.toEqual(a);
  });

  it("normal() pairs are deterministic too", () => {
    const a = new Random(11);
    const b = new Random(11);
    const xs = Array.from({ length: 5 }, () => a.normal());
    expect(Array.from({ length: 5 }, () => b.normal())).toEqual(xs);
  });
});
