// What each encoder may and may not see: causal and key-padding masks of the Transformer, no state update on padded
// steps of the RNNs, mask-aware pooling of the MLP; plus a finite-difference check of the attention gradient.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { ParameterFactory, SeedSequence } from "../lib/models/init";
import { createMlpModel } from "../lib/models/mlp";
import { createRnnModel } from "../lib/models/rnn";
import { attentionBias, selfAttention } from "../lib/models/attention";
import { createTransformerModel } from "../lib/models/transformer";
import type { NextItemModel, SessionBatch } from "../lib/models/types";
import { editBatch, maxAbsDiff, toyBatch, toySchema } from "./helpers/models-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const SEQ_LEN = 5;
const inputs = { itemDim: 6, embeddingDims: { category_list: 3, country: 2 } };
// No MLP after the encoders: a dead ReLU could hide a change the test must see.
const transformer = (causal: boolean) =>
  createTransformerModel(toySchema, { inputs, dModel: 8, heads: 2, layers: 2, dropout: 0, mlp: [], causal, seed: 5 });
const rnn = (cell: "gru" | "lstm") => createRnnModel(toySchema, { inputs, cell, units: 7, mlp: [], seed: 5 });

const batch = () => toyBatch([{ items: [3, 4, 5, 6] }, { items: [7, 8] }, { items: [2, 3, 4, 5, 6] }], SEQ_LEN);
const LENGTHS = [4, 2, 5];

/** State of session r at position t: [dim]. */
function stateAt(model: NextItemModel, b: SessionBatch, r: number, t: number): tf.Tensor {
  return tf.tidy(() => {
    const hidden = model.encode(b, false) as tf.Tensor3D;
    return tf.squeeze(tf.slice(hidden, [r, t, 0], [1, 1, -1]));
  });
}

/** Replaces item, category and price of session r at position t by other values (a real event stays real). */
function perturb(b: SessionBatch, r: number, t: number): SessionBatch {
  return editBatch(b, (a) => {
    a.items[r][t] = a.items[r][t] === 0 ? 9 : 11 - a.items[r][t] + 2;
    a.category[r][t] = 4 - a.category[r][t];
    a.price[r][t] += 3;
  });
}

/** Positions ≤ t keep their state when later events change; position t changes when event t does. */
function expectCausal(model: NextItemModel) {
  const base = batch();
  const r = 2; // the full session
  for (let t = 0; t < SEQ_LEN - 1; t++) {
    const later = perturb(base, r, t + 1);
    for (let s = 0; s <= t; s++)
      expect(maxAbsDiff(stateAt(model, base, r, s), stateAt(model, later, r, s))).toBeLessThan(1e-6);
    expect(maxAbsDiff(stateAt(model, base, r, t + 1), stateAt(model, later, r, t + 1))).toBeGreaterThan(1e-4);
    expect(maxAbsDiff(stateAt(model, base, r, t), stateAt(model, perturb(base, r, t), r, t))).toBeGreaterThan(1e-4);
  }
}

/** Changing what padded positions hold (ids, features) changes no real position's state. */
function expectPaddingIgnored(model: NextItemModel) {
  const base = batch();
  const padded = editBatch(base, (a) => {
    LENGTHS.forEach((length, r) => {
      for (let t = length; t < SEQ_LEN; t++) {
        a.items[r][t] = 5 + t;
        a.category[r][t] = 3;
        a.price[r][t] = -7;
      }
    });
  });
  const [before, after] = [model.encode(base, false), model.encode(padded, false)];
  const mask = tf.expandDims(base.mask, 2);
  expect(maxAbsDiff(tf.mul(before, mask), tf.mul(after, mask))).toBeLessThan(1e-6);
}

describe("Transformer masks", () => {
  it("causal: the state at t depends on events 0..t only", () => expectCausal(transformer(true)));

  it("key padding: padded positions never reach real ones (causal or not)", () => {
    expectPaddingIgnored(transformer(true));
    expectPaddingIgnored(transformer(false));
  });

  it("bidirectional (causal: false) does see later events", () => {
    const model = transformer(false);
    const base = batch();
    expect(maxAbsDiff(stateAt(model, base, 2, 0), stateAt(model, perturb(base, 2, 3), 2, 0))).toBeGreaterThan(1e-4);
  });

  it("attention bias blocks padded and later keys", () => {
    const bias = attentionBias(tf.tensor2d([[1, 1, 0]]), true).arraySync()[0][0];
    expect(bias.map((row) => row.map((v) => (v < -1e8 ? "x" : "o")))).toEqual([
      ["o", "x", "x"],
      ["o", "o", "x"],
      ["o", "o", "x"],
    ]);
  });
});

describe.each(["gru", "lstm"] as const)("%s padding", (cell) => {
  it("no state update on padded steps: pads carry the last real state, and their contents are ignored", () => {
    const model = rnn(cell);
    const hidden = model.encode(batch(), false) as tf.Tensor3D;
    LENGTHS.forEach((length, r) => {
      const last = tf.slice(hidden, [r, length - 1, 0], [1, 1, -1]);
      for (let t = length; t < SEQ_LEN; t++) expect(maxAbsDiff(tf.slice(hidden, [r, t, 0], [1, 1, -1]), last)).toBe(0);
    });
    expectPaddingIgnored(model);
  });

  it("is causal", () => expectCausal(rnn(cell)));
});

describe("MLP pooling", () => {
  it("averages real positions only", () => {
    const model = createMlpModel(toySchema, { inputs, layers: [5], seed: 5 });
    const base = batch();
    const padded = editBatch(base, (a) => {
      a.items[1][3] = 9;
      a.price[1][4] = 100;
    });
    expect(maxAbsDiff(model.encode(base, false), model.encode(padded, false))).toBeLessThan(1e-6);
    expect(maxAbsDiff(model.encode(base, false), model.encode(perturb(base, 1, 1), false))).toBeGreaterThan(1e-5);
  });
});

describe("attention gradient", () => {
  it("matches central finite differences", () => {
    const params = new ParameterFactory(11, "check");
    const attention = selfAttention(params, "attention", 4, 2, 0, new SeedSequence(1));
    const x = tf.tensor3d([
      [
        [1.2, -0.7, 0.3, 2.0],
        [-1.5, 0.8, 1.1, -0.4],
        [0.6, 1.9, -1.3, 0.2],
      ],
    ]); // [1, 3, 4]
    const bias = attentionBias(tf.tensor2d([[1, 1, 1]]), true);
    const weightsOut = tf.tensor3d([
      [
        [0.3, -1.1, 0.7, 0.5],
        [1.4, 0.2, -0.6, 0.9],
        [-0.8, 1.0, 0.4, -1.2],
      ],
    ]);
    const objective = () => tf.sum(tf.mul(attention.apply(x, bias, false), weightsOut)) as tf.Scalar;

    const { grads } = tf.variableGrads(objective);
    const eps = 1e-2;
    const checked: [string, number][] = [
      ["check.attention.query.kernel", 1],
      ["check.attention.query.kernel", 9],
      ["check.attention.key.kernel", 4],
      ["check.attention.key.kernel", 14],
      ["check.attention.value.kernel", 6],
      ["check.attention.output.bias", 2],
    ];
    const variables = params.variables;
    for (const [name, index] of checked) {
      const variable = variables[name];
      const original = variable.dataSync().slice();
      const valueWith = (delta: number) => {
        const values = original.slice();
        values[index] += delta;
        variable.assign(tf.tensor(values, variable.shape));
        return objective().dataSync()[0];
      };
      const numeric = (valueWith(eps) - valueWith(-eps)) / (2 * eps);
      variable.assign(tf.tensor(original, variable.shape));
      const analytic = grads[variable.name].dataSync()[index];
      expect(Math.abs(analytic)).toBeGreaterThan(1e-3); // a zero gradient would make the check vacuous
      expect(Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic))).toBeLessThan(2e-2);
    }
  });
});

describe("transformer inputInitScale", () => {
  it("multiplies the initial input projection and nothing else; refuses a factor <= 0", () => {
    const config = { dModel: 8, heads: 2, layers: 1, mlp: [], inputs: { itemDim: 4 } };
    const plain = createTransformerModel(toySchema, config);
    const scaled = createTransformerModel(toySchema, { ...config, inputInitScale: 7 });
    for (const [name, variable] of Object.entries(plain.variables)) {
      const factor = name === "input.projection.kernel" ? 7 : 1;
      const expected = tf.mul(variable, factor);
      expect({ name, diff: maxAbsDiff(scaled.variables[name], expected) < 1e-6 }).toEqual({ name, diff: true });
    }
    expect(() => createTransformerModel(toySchema, { ...config, inputInitScale: 0 })).toThrow(
      /inputInitScale\) must be a number > 0, got 0/,
    );
  });
});
