// Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna) seeded through a 32-bit integer hash.
// Everything the project draws at random (synthetic data, shuffles, weight init, negative sampling) goes
// through `Random` so that one seed reproduces a run bit for bit on any platform: only 32-bit integer
// arithmetic feeds the state, and floats are derived from it by exact operations.

const TWO_POW_32 = 4294967296;
const GOLDEN_GAMMA = 0x9e3779b9;

/** "lowbias32" integer hash (Chris Wellons): a bijection on uint32 with good avalanche, used for seeding. */
export function hash32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function checkSeed(seed: number): number {
  if (!Number.isInteger(seed)) throw new Error(`Random: seed must be an integer, got ${seed}`);
  return seed >>> 0;
}

/** A seeded generator. Not cryptographic; period 2^128 - 1. */
export class Random {
  readonly seed: number;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Second value of the last Box–Muller pair, handed out by the next `normal()` call. */
  private spareNormal: number | null = null;

  /** @param seed any integer; only its low 32 bits are used. */
  constructor(seed: number) {
    this.seed = checkSeed(seed);
    this.s0 = hash32(this.seed + GOLDEN_GAMMA);
    this.s1 = hash32(this.seed + 2 * GOLDEN_GAMMA);
    this.s2 = hash32(this.seed + 3 * GOLDEN_GAMMA);
    this.s3 = hash32(this.seed + 4 * GOLDEN_GAMMA);
    // The all-zero state is the one fixed point of xoshiro; hash32 is a bijection, so this needs 4 zero hashes.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** An independent generator for sub-task `stream` (e.g. one per data-generation stage), same for the same seed. */
  fork(stream: number): Random {
    return new Random(hash32(this.seed ^ hash32(checkSeed(stream) + 0x632be5ab)));
  }

  /** Next raw output, uniform on [0, 2^32). */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float on [lo, hi) with 32 bits of resolution; defaults to [0, 1). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * (this.nextUint32() / TWO_POW_32);
  }

  /** Uniform integer in [lo, hi) (hi exclusive, like `Array.prototype.slice`); the range must be at most 2^32. */
  int(lo: number, hi: number): number {
    const span = hi - lo;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || span <= 0 || span > TWO_POW_32) {
      throw new Error(`Random.int: need integers lo < hi with hi - lo <= 2^32, got [${lo}, ${hi})`);
    }
    // Multiply-shift mapping: bias at most span / 2^32, negligible for the ranges used here.
    return lo + Math.floor((this.nextUint32() / TWO_POW_32) * span);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Normal(mean, std) by Box–Muller; draws come in pairs, the second is kept for the next call. */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    const u = 1 - this.uniform(); // (0, 1]: log(u) stays finite
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Exponential with the given mean. */
  exponential(mean = 1): number {
    return -mean * Math.log(1 - this.uniform());
  }

  /** Geometric count of failures before the first success (support 0, 1, 2, …) with the given mean. */
  geometric(mean: number): number {
    if (!(mean >= 0)) throw new Error(`Random.geometric: mean must be >= 0, got ${mean}`);
    if (mean === 0) return 0;
    const q = mean / (1 + mean); // failure probability
    return Math.floor(Math.log(1 - this.uniform()) / Math.log(q));
  }

  /** Index i drawn with probability weights[i] / sum(weights); O(n) per call (use `WeightedSampler` for many draws). */
  choiceWeighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += checkWeight(weights[i], i);
    if (!(total > 0)) throw new Error("Random.choiceWeighted: weights must have a positive sum");
    let target = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i];
      if (target < 0) return i;
    }
    // Rounding left a sliver at the end: return the last index with positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  /** Uniformly random element of a non-empty array. */
  choice<T>(items: ArrayLike<T>): T {
    if (items.length === 0) throw new Error("Random.choice: empty array");
    return items[this.int(0, items.length)];
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<A extends { length: number; [i: number]: unknown }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return this.shuffle(order);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function checkWeight(w: number, i: number): number {
  if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`weights[${i}] must be finite and >= 0, got ${w}`);
  return w;
}

/**
 * O(1) sampling from a fixed discrete distribution (Vose's alias method): build once, then `sample(rng)`.
 * Each draw consumes exactly two 32-bit values from the generator.
 */
export class WeightedSampler {
  readonly size: number;
  private readonly threshold: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new Error("WeightedSampler: no weights");
    let total = 0;
    for (let i = 0; i < n; i++) total += checkWeight(weights[i], i);
    if (!(total > 0)) throw new Error("WeightedSampler: weights must have a positive sum");
    this.size = n;
    this.threshold = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / total;
      (scaled[i] < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.threshold[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    // Left-overs are 1 up to rounding: they always keep their own index.
    for (const i of large) this.threshold[i] = 1;
    for (const i of small) this.threshold[i] = 1;
    for (let i = 0; i < n; i++) if (this.threshold[i] >= 1) this.alias[i] = i;
  }

  /** Index i with probability weights[i] / sum(weights). */
  sample(rng: Random): number {
    const column = rng.int(0, this.size);
    return rng.uniform() < this.threshold[column] ? column : this.alias[column];
  }
}
