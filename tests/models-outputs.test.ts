// The output head against hand computations: tied/untied logits, label smoothing, sampled softmax with logQ.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { NEVER, createOutputHead } from "../lib/models/outputs";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const dot = (a: number[], b: number[]) => a.reduce((sum, x, k) => sum + x * b[k], 0);
const logSumExp = (xs: number[]) => {
  const max = Math.max(...xs);
  return max + Math.log(xs.reduce((sum, x) => sum + Math.exp(x - max), 0));
};

// 5 item ids: 0 pad, 1 OOV, items 2..4. The table has a 6th row (a MASK token) that must not be scored.
const TABLE = [
  [0.1, -0.2, 0.3],
  [0.5, 0.1, -0.4],
  [-0.3, 0.8, 0.2],
  [0.7, -0.5, 0.6],
  [0.2, 0.4, -0.9],
  [9, 9, 9],
];
const BIAS = [0.05, -0.1, 0.2, -0.3, 0.15];
const H = [
  [1.0, 0.5, -1.5],
  [-0.7, 1.2, 0.4],
];

function tiedHead(config: Parameters<typeof createOutputHead>[1] = {}) {
  const itemTable = tf.variable(tf.tensor2d(TABLE));
  const head = createOutputHead({ nItems: 5, hiddenDim: 3, itemTable }, config);
  head.variables["head.bias"].assign(tf.tensor1d(BIAS));
  return { head, itemTable };
}

describe("full softmax head", () => {
  it("tied logits are h·Eᵀ + b over the catalogue rows, divided by the temperature, pad and OOV excluded", () => {
    const { head } = tiedHead({ temperature: 2 });
    expect(Object.keys(head.variables)).toEqual(["head.bias"]);
    const logits = head.logits(tf.tensor2d(H)).arraySync();
    expect(logits[0]).toHaveLength(5);
    H.forEach((h, i) => {
      for (let j = 2; j < 5; j++) expect(logits[i][j]).toBeCloseTo((dot(h, TABLE[j]) + BIAS[j]) / 2, 5);
      expect(logits[i][0]).toBeLessThan(NEVER / 2);
      expect(logits[i][1]).toBeLessThan(NEVER / 2);
    });
  });

  it("projects states to the item size when tying with a different width", () => {
    const itemTable = tf.variable(tf.tensor2d(TABLE));
    const head = createOutputHead({ nItems: 5, hiddenDim: 2, itemTable }, {});
    expect(Object.keys(head.variables).sort()).toEqual(["head.bias", "head.projection.bias", "head.projection.kernel"]);
    const kernel = head.variables["head.projection.kernel"].arraySync() as number[][]; // [2, 3]
    const h = [0.3, -1.1];
    const projected = [0, 1, 2].map((k) => h[0] * kernel[0][k] + h[1] * kernel[1][k]);
    const logits = head.logits(tf.tensor2d([h])).arraySync()[0];
    for (let j = 2; j < 5; j++) expect(logits[j]).toBeCloseTo(dot(projected, TABLE[j]), 5);
  });

  it("untied logits use the head's own item vectors", () => {
    const head = createOutputHead({ nItems: 5, hiddenDim: 3 }, { tied: false });
    const vectors = head.variables["head.kernel"].arraySync() as number[][]; // [5, 3]
    const logits = head.logits(tf.tensor2d(H)).arraySync();
    for (let j = 2; j < 5; j++) expect(logits[1][j]).toBeCloseTo(dot(H[1], vectors[j]), 5);
  });

  // ε = 0 takes the fused sparse softmax cross-entropy, ε > 0 the smoothed formula: both against the same hand formula.
  it.each([0, 0.1])("loss with label smoothing %s equals the hand formula, whatever the chunk size", (epsilon) => {
    const targets = [3, 1]; // the second row's target is OOV, which stays a class in training
    // Candidates are ids 1..4 (padding is never a target): K = 4.
    const expected =
      H.map((h, i) => {
        const z = [1, 2, 3, 4].map((j) => dot(h, TABLE[j]) + BIAS[j]);
        const logp = z.map((v) => v - logSumExp(z));
        const nll = -logp[targets[i] - 1];
        const uniform = -logp.reduce((a, b) => a + b, 0) / 4;
        return (1 - epsilon) * nll + epsilon * uniform;
      }).reduce((a, b) => a + b, 0) / 2;
    for (const maxChunkElements of [2 ** 24, 5]) {
      const { head } = tiedHead({ labelSmoothing: epsilon, maxChunkElements });
      expect(head.loss(tf.tensor2d(H), tf.tensor1d(targets, "int32"), true).dataSync()[0]).toBeCloseTo(expected, 5);
    }
  });

  it("trains the tied table, not the extra MASK row", () => {
    const { head, itemTable } = tiedHead();
    const { grads } = tf.variableGrads(
      () => head.loss(tf.tensor2d(H), tf.tensor1d([2, 4], "int32"), true),
      [itemTable],
    );
    const grad = grads[itemTable.name].arraySync() as number[][];
    expect(Math.max(...grad[2].map(Math.abs))).toBeGreaterThan(1e-3);
    expect(grad[5]).toEqual([0, 0, 0]);
  });

  it("topK never recommends padding or OOV", () => {
    const { head } = tiedHead();
    head.variables["head.bias"].assign(tf.tensor1d([100, 100, 0, 10, 20]));
    const { indices } = head.topK(tf.tensor2d(H), 3);
    expect(indices.arraySync()).toEqual([
      [4, 3, 2],
      [4, 3, 2],
    ]);
  });

  it("a frozen head scores with the weights it was frozen with, until frozen again", () => {
    const { head, itemTable } = tiedHead();
    head.freeze();
    const before = tf.memory().numTensors;
    const scores = (h: number[]) => Array.from(head.topK(tf.tensor2d([h]), 3).values.dataSync());
    const expected = (table: number[][], h: number[]) =>
      [2, 3, 4].map((j) => dot(h, table[j]) + BIAS[j]).sort((a, b) => b - a);
    scores(H[0]).forEach((v, i) => expect(v).toBeCloseTo(expected(TABLE, H[0])[i], 5));
    const changed = TABLE.map((row) => row.map((x) => -x));
    itemTable.assign(tf.tensor2d(changed));
    scores(H[0]).forEach((v, i) => expect(v).toBeCloseTo(expected(TABLE, H[0])[i], 5)); // still the frozen copy
    head.freeze();
    scores(H[0]).forEach((v, i) => expect(v).toBeCloseTo(expected(changed, H[0])[i], 5));
    expect(head.logits(tf.tensor2d([H[0]])).arraySync()[0][2]).toBeCloseTo(dot(H[0], changed[2]) + BIAS[2], 5);
    expect(tf.memory().numTensors - before).toBeLessThan(20); // the transposed copy is replaced, not accumulated
  });
  it("freezing changes no score: temperature, bias and the padding/OOV exclusion are folded in exactly", () => {
    const { head } = tiedHead({ temperature: 0.5 });
    const before = head.logits(tf.tensor2d(H)).arraySync();
    head.freeze();
    const after = head.logits(tf.tensor2d(H)).arraySync();
    H.forEach((h, i) => {
      [2, 3, 4].forEach((j) => {
        expect(after[i][j]).toBeCloseTo((dot(h, TABLE[j]) + BIAS[j]) / 0.5, 5);
        expect(after[i][j]).toBeCloseTo(before[i][j], 5);
      });
      [0, 1].forEach((j) => expect(after[i][j]).toBeLessThan(-1e8)); // never recommended
    });
  });
});

describe("sampled softmax", () => {
  const q = [0, 0.1, 0.2, 0.3, 0.25]; // popularity of ids 0..4

  it("in-batch: other rows' targets are negatives, logits minus log Q, same-item columns dropped", () => {
    const targets = [2, 3, 2];
    const hidden = [...H, [0.4, -0.3, 0.9]];
    const expected =
      hidden
        .map((h, i) => {
          const columns = targets.map((_, j) => j).filter((j) => j === i || targets[j] !== targets[i]);
          const logits = columns.map((j) => dot(h, TABLE[targets[j]]) + BIAS[targets[j]] - Math.log(q[targets[j]]));
          return logSumExp(logits) - logits[columns.indexOf(i)];
        })
        .reduce((a, b) => a + b, 0) / 3;
    for (const maxChunkElements of [2 ** 24, 3]) {
      const { head } = tiedHead({ sampled: { negatives: "in-batch", itemProbabilities: q }, maxChunkElements });
      expect(head.loss(tf.tensor2d(hidden), tf.tensor1d(targets, "int32"), true).dataSync()[0]).toBeCloseTo(
        expected,
        5,
      );
    }
  });

  it("in-batch with label smoothing ε: (1 − ε)·nll + ε·(mean −log p over the row's kept candidates)", () => {
    const targets = [2, 3, 2];
    const hidden = [...H, [0.4, -0.3, 0.9]];
    const epsilon = 0.2;
    const expected =
      hidden
        .map((h, i) => {
          const columns = targets.map((_, j) => j).filter((j) => j === i || targets[j] !== targets[i]);
          const logits = columns.map((j) => dot(h, TABLE[targets[j]]) + BIAS[targets[j]]);
          const logProbabilities = logits.map((l) => l - logSumExp(logits));
          const nll = -logProbabilities[columns.indexOf(i)];
          return (1 - epsilon) * nll + (epsilon * -logProbabilities.reduce((a, b) => a + b, 0)) / columns.length;
        })
        .reduce((a, b) => a + b, 0) / 3;
    const { head } = tiedHead({ sampled: { negatives: "in-batch", logQCorrection: false }, labelSmoothing: epsilon });
    expect(head.loss(tf.tensor2d(hidden), tf.tensor1d(targets, "int32"), true).dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it("gives the gradient of its loss (central differences on the hidden states)", () => {
    const targets = tf.tensor1d([2, 3, 2], "int32");
    const hidden = [...H, [0.4, -0.3, 0.9]];
    const { head } = tiedHead({ sampled: { negatives: "in-batch", itemProbabilities: q } });
    const lossAt = (h: number[][]) => head.loss(tf.tensor2d(h), targets, true).dataSync()[0];
    const gradient = tf
      .grad((h: tf.Tensor) => head.loss(h as tf.Tensor2D, targets, true))(tf.tensor2d(hidden))
      .arraySync() as number[][];
    const step = 1e-2;
    hidden.forEach((row, i) =>
      row.forEach((_, k) => {
        const shifted = (delta: number) => hidden.map((r, a) => r.map((x, b) => (a === i && b === k ? x + delta : x)));
        expect(gradient[i][k]).toBeCloseTo((lossAt(shifted(step)) - lossAt(shifted(-step))) / (2 * step), 3);
      }),
    );
  });

  it("popularity: shared sampled negatives, logQ on the positive and the negatives, accidental hits dropped", () => {
    // Nearly all mass on item 4, so the (seeded) draws are all item 4.
    const skewed = [0, 0, 0.001, 0.001, 0.998];
    const { head } = tiedHead({
      sampled: { negatives: "popularity", numNegatives: 2, itemProbabilities: skewed },
      seed: 3,
    });
    const targets = [2, 4]; // the second row's negatives are all accidental hits: its loss is 0
    const h = H[0];
    const positive = dot(h, TABLE[2]) + BIAS[2] - Math.log(0.001);
    const negative = dot(h, TABLE[4]) + BIAS[4] - Math.log(0.998);
    const expected = (logSumExp([positive, negative, negative]) - positive + 0) / 2;
    expect(head.loss(tf.tensor2d(H), tf.tensor1d(targets, "int32"), true).dataSync()[0]).toBeCloseTo(expected, 4);
  });

  it("cosine: sampled candidates scored by cos / T; only the candidates' rows of the table get a gradient", () => {
    const skewed = [0, 0, 0.001, 0.001, 0.998]; // the draws are all item 4
    const config = {
      negatives: "popularity",
      numNegatives: 2,
      itemProbabilities: skewed,
      logQCorrection: false,
    } as const;
    const itemTable = tf.variable(tf.tensor2d(TABLE));
    const head = createOutputHead(
      { nItems: 5, hiddenDim: 3, itemTable },
      { sampled: config, cosine: true, temperature: 0.5, seed: 3 },
    );
    const norm = (v: number[]) => Math.sqrt(dot(v, v));
    const cos = (a: number[], b: number[]) => dot(a, b) / (norm(a) * norm(b));
    const h = H[0];
    const positive = cos(h, TABLE[3]) / 0.5;
    const negative = cos(h, TABLE[4]) / 0.5; // no bias with cosine
    const expected = logSumExp([positive, negative, negative]) - positive;
    const loss = () => head.loss(tf.tensor2d([h]), tf.tensor1d([3], "int32"), true);
    expect(loss().dataSync()[0]).toBeCloseTo(expected, 4);
    const gradient = tf
      .grad(() => loss())(itemTable)
      .arraySync() as number[][];
    [0, 1, 2, 5].forEach((row) => expect(gradient[row]).toEqual([0, 0, 0]));
    [3, 4].forEach((row) => expect(gradient[row].some((g) => g !== 0)).toBe(true));
  });

  it("item dropout: drops rows of the scored vectors in the training loss only (full and sampled)", () => {
    const targets = tf.tensor1d([3, 2], "int32");
    for (const sampled of [null, { negatives: "popularity", numNegatives: 3, itemProbabilities: [0, 0, 1, 1, 1] }]) {
      const make = (itemDropout: number) =>
        createOutputHead(
          { nItems: 5, hiddenDim: 3, itemTable: tf.variable(tf.tensor2d(TABLE)) },
          { sampled: sampled as never, cosine: true, itemDropout, seed: 3 },
        );
      const [plain, dropped] = [make(0), make(0.5)];
      const loss = (head: ReturnType<typeof make>, training: boolean) =>
        head.loss(tf.tensor2d(H), targets, training).dataSync()[0];
      // Not training: the same loss as without dropout; training: other vectors, a new mask every call.
      expect(loss(dropped, false)).toBeCloseTo(loss(plain, false), 6);
      const draws = [1, 2, 3, 4, 5, 6].map(() => loss(dropped, true));
      const reference = loss(make(0), true); // for the sampled head, other negatives too
      expect(draws.some((value) => Math.abs(value - reference) > 1e-4)).toBe(true);
      expect(new Set(draws.map((value) => value.toFixed(5))).size).toBeGreaterThan(1);
    }
    expect(() =>
      createOutputHead({ nItems: 5, hiddenDim: 3, itemTable: tf.variable(tf.tensor2d(TABLE)) }, { itemDropout: 1 }),
    ).toThrow("output head: itemDropout must be in [0, 1), got 1");
  });

  it("bce: softplus(-s(target)) + softplus(s(negative)) per row, a negative equal to the target ignored", () => {
    const skewed = [0, 0, 0.001, 0.001, 0.998]; // the draws are all item 4
    const config = { negatives: "popularity", loss: "bce", numNegatives: 2, itemProbabilities: skewed } as const;
    const { head } = tiedHead({ sampled: config, temperature: 2, seed: 3 });
    const softplus = (x: number) => Math.log1p(Math.exp(x));
    const score = (h: number[], item: number) => (dot(h, TABLE[item]) + BIAS[item]) / 2;
    const targets = [2, 4]; // row 2's negatives are its target: only its positive term counts
    const expected = (softplus(-score(H[0], 2)) + 2 * softplus(score(H[0], 4)) + softplus(-score(H[1], 4))) / 2;
    for (const maxChunkElements of [2 ** 24, 3]) {
      const chunked = tiedHead({ sampled: config, temperature: 2, seed: 3, maxChunkElements }).head;
      expect(chunked.loss(tf.tensor2d(H), tf.tensor1d(targets, "int32"), true).dataSync()[0]).toBeCloseTo(expected, 5);
    }
    expect(head.config.sampled?.loss).toBe("bce");
    expect(() => tiedHead({ sampled: { ...config, logQCorrection: true } })).toThrow(/logQCorrection/);
    expect(() => tiedHead({ sampled: { negatives: "in-batch", loss: "bce" } })).toThrow(/popularity/);
  });

  it("evaluation loss (training false) is the full softmax", () => {
    const targets = tf.tensor1d([2, 3], "int32");
    const sampled = tiedHead({ sampled: { negatives: "in-batch" } })
      .head.loss(tf.tensor2d(H), targets, false)
      .dataSync()[0];
    const full = tiedHead().head.loss(tf.tensor2d(H), targets, false).dataSync()[0];
    expect(sampled).toBeCloseTo(full, 6);
  });

  it("rejects a popularity head without probabilities", () => {
    expect(() => tiedHead({ sampled: { negatives: "popularity" } })).toThrow(/itemProbabilities/);
  });
});
