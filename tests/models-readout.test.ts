// The attention readout (SR-GNN's, lib/models/readout.ts) on the GRU and the Transformer, and CORE (lib/models/core.ts)
// with the cosine head: weights that sum to 1 over real positions and are 0 on padding, known answers on tiny inputs
// with weights set by hand, finite-difference gradients, causality, cosine logits bounded by 1/τ, and a loss that
// falls in a few training steps.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../lib/compute/backend";
import { ParameterFactory } from "../lib/models/init";
import { attentionReadout, lastRealState, maskedSoftmax } from "../lib/models/readout";
import { createCoreModel } from "../lib/models/core";
import { createRnnModel } from "../lib/models/rnn";
import { createTransformerModel } from "../lib/models/transformer";
import {
  createHeadFor,
  createModel,
  createTargetScheme,
  selectTargets,
  summarizeModel,
  type SessionModel,
} from "../lib/models/index";
import type { NextItemModel, SessionBatch } from "../lib/models/types";
import { assign, checkGradient } from "./helpers/gradients";
import { ITEMS, editBatch, itemOnlySchema, maxAbsDiff, toyBatch, toySchema } from "./helpers/models-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

// Three sessions of lengths 3, 1, 4 over 4 positions, states of width 3.
const MASK = [
  [1, 1, 1, 0],
  [1, 0, 0, 0],
  [1, 1, 1, 1],
];
const H = [
  [
    [0.5, -1.2, 0.3],
    [1.1, 0.4, -0.7],
    [-0.6, 0.9, 1.4],
    [9, 9, 9],
  ],
  [
    [0.2, 0.8, -0.5],
    [7, -7, 7],
    [3, 3, 3],
    [-4, 4, -4],
  ],
  [
    [-1.0, 0.6, 0.2],
    [0.3, -0.9, 1.2],
    [1.5, 0.1, -0.4],
    [-0.2, 1.3, 0.7],
  ],
];

describe("attention readout weights", () => {
  const readout = attentionReadout(new ParameterFactory(3, "check"), "readout", 3, 2);
  const h = () => tf.tensor3d(H);
  const mask = () => tf.tensor2d(MASK);

  it("pooled: sum to 1 over the real positions, exactly 0 on padding", () => {
    const alpha = readout.weights(h(), mask(), "pooled").arraySync() as number[][];
    alpha.forEach((row, r) => {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      row.forEach((a, j) => (MASK[r][j] === 0 ? expect(a).toBe(0) : expect(a).toBeGreaterThan(0)));
    });
  });

  it("sequence: row t sums to 1 over the real positions j <= t, 0 on later and padded ones; the last real row is the pooled weights", () => {
    const alpha = readout.weights(h(), mask(), "sequence").arraySync() as number[][][];
    const pooled = readout.weights(h(), mask(), "pooled").arraySync() as number[][];
    alpha.forEach((rows, r) => {
      const length = MASK[r].reduce((a, b) => a + b, 0);
      for (let t = 0; t < length; t++) {
        expect(rows[t].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
        rows[t].forEach((a, j) => (j > t || MASK[r][j] === 0 ? expect(a).toBe(0) : expect(a).toBeGreaterThan(0)));
      }
      rows[length - 1].forEach((a, j) => expect(a).toBeCloseTo(pooled[r][j], 6));
    });
  });

  it("masked softmax of one score per position (CORE's weights): a prefix softmax, 0 elsewhere", () => {
    const e = tf.tensor3d([[[0, Math.log(3), 5, 1]]]); // [1, 1, 4]
    const alpha = maskedSoftmax(e, tf.tensor2d([[1, 1, 0, 1]]), "sequence").arraySync() as number[][][];
    expect(alpha[0][0]).toEqual([1, 0, 0, 0]);
    [0.25, 0.75, 0, 0].forEach((a, j) => expect(alpha[0][1][j]).toBeCloseTo(a, 6));
    [0.25, 0.75, 0, 0].forEach((a, j) => expect(alpha[0][2][j]).toBeCloseTo(a, 6)); // padded position 2 gets nothing
    [1, 3, 0, Math.E].forEach((w, j) => expect(alpha[0][3][j]).toBeCloseTo(w / (4 + Math.E), 6));
  });

  it("lastRealState picks each session's last real position", () => {
    expect(lastRealState(h(), mask()).arraySync()).toEqual(
      [H[0][2], H[1][0], H[2][3]].map((row) => row.map((v) => Math.fround(v))),
    );
  });

  it("lastRealState and the pooled readout take batches of one position (prefixes of one click)", () => {
    const one = tf.tensor3d([[[0.5, -1.2, 0.3]], [[1.1, 0.4, -0.7]]]);
    const ones = tf.tensor2d([[1], [1]]);
    expect(lastRealState(one, ones).arraySync()).toEqual([
      [0.5, -1.2, 0.3].map(Math.fround),
      [1.1, 0.4, -0.7].map(Math.fround),
    ]);
    const readout = attentionReadout(new ParameterFactory(2, "one"), "readout", 3, 3);
    expect(readout.apply(one, ones, "pooled").shape).toEqual([2, 3]);
  });
});

describe("attention readout, weights set by hand", () => {
  // One session [h0, h1] + one padded position; W1 = W2 = I, c = 0, q = [1, 2], W3 = [[1,0],[0,1],[1,0],[0,2]], b3 = [0.5, 0].
  const params = new ParameterFactory(1, "hand");
  const readout = attentionReadout(params, "readout", 2, 2);
  assign(params.variables, {
    "hand.readout.last.kernel": [1, 0, 0, 1],
    "hand.readout.position.kernel": [1, 0, 0, 1],
    "hand.readout.position.bias": [0, 0],
    "hand.readout.score.kernel": [1, 2],
    "hand.readout.output.kernel": [1, 0, 0, 1, 1, 0, 0, 2],
    "hand.readout.output.bias": [0.5, 0],
  });
  const h = tf.tensor3d([
    [
      [1, 0],
      [0, 1],
      [5, 5],
    ],
  ]);
  const mask = tf.tensor2d([[1, 1, 0]]);
  // h_last = h1 = [0, 1]: e0 = q·σ([1, 1]) = 3σ(1); e1 = q·σ([0, 2]) = σ(0) + 2σ(2).
  const e = [3 * sigmoid(1), sigmoid(0) + 2 * sigmoid(2)];
  const alpha0 = Math.exp(e[0]) / (Math.exp(e[0]) + Math.exp(e[1]));
  const alpha1 = 1 - alpha0;
  // s_g = α0·h0 + α1·h1 = [α0, α1]; out = W3 [h_last; s_g] + b3 = [0 + α0 + 0.5, 1 + 2·α1].
  const expected = [alpha0 + 0.5, 1 + 2 * alpha1];

  it("pooled: W3 [h_last; Σ α h] + b3", () => {
    const out = readout.apply(h, mask, "pooled").arraySync() as number[][];
    expected.forEach((v, i) => expect(out[0][i]).toBeCloseTo(v, 5));
  });

  it("sequence: position 0 reads h0 alone ([1 + 1 + 0.5, 0]), position 1 is the pooled vector", () => {
    const out = readout.apply(h, mask, "sequence").arraySync() as number[][][];
    [2.5, 0].forEach((v, i) => expect(out[0][0][i]).toBeCloseTo(v, 5));
    expected.forEach((v, i) => expect(out[0][1][i]).toBeCloseTo(v, 5));
  });
});

describe("attention readout gradient", () => {
  const params = new ParameterFactory(7, "grad");
  const readout = attentionReadout(params, "readout", 3, 2);
  const h = tf.variable(tf.tensor3d(H.map((rows) => rows.map((row) => row.map((v) => (Math.abs(v) > 2 ? v / 5 : v)))))); // [3, 4, 3]
  const mask = tf.tensor2d(MASK);
  const names = [
    "grad.readout.last.kernel",
    "grad.readout.position.kernel",
    "grad.readout.position.bias",
    "grad.readout.score.kernel",
    "grad.readout.output.kernel",
  ];
  for (const mode of ["pooled", "sequence"] as const) {
    it(`${mode}: matches central finite differences for every weight and the input states`, () => {
      const out = mode === "pooled" ? [3, 2] : [3, 4, 2];
      const size = out.reduce((a, b) => a * b, 1);
      const probe = tf.tensor(
        Array.from({ length: size }, (_, i) => Math.sin(1.7 * i + 0.3)),
        out,
      );
      const objective = () => tf.sum(tf.mul(readout.apply(h, mask, mode), probe)) as tf.Scalar;
      for (const name of names) checkGradient(objective, params.variables[name], mode === "pooled" ? [0, 1] : [1, 2]);
      checkGradient(objective, h, [0, 4, 13, 26]); // real positions of every session
    });
  }
});

describe("attention readout on the wasm backend", () => {
  it("gives the cpu's gradients at width 128 (a one-column matmul gets wrong gradients there, so none is used)", async () => {
    const width = 128;
    const params = new ParameterFactory(9, "wasm");
    const readout = attentionReadout(params, "readout", width, width);
    const values = Array.from({ length: 3 * 4 * width }, (_, i) => Math.sin(0.37 * i));
    const gradients = () =>
      tf.tidy(() => {
        const h = tf.tensor3d(values, [3, 4, width]);
        const probe = tf.tensor3d(
          values.map((v, i) => Math.cos(v + i)),
          [3, 4, width],
        );
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.mul(readout.apply(h, tf.tensor2d(MASK), "sequence"), probe)) as tf.Scalar,
        );
        return Object.values(params.variables).map((v) => Array.from(grads[v.name].dataSync()));
      });
    const onCpu = gradients();
    try {
      await initBackend({ backend: "wasm", quiet: true });
      const onWasm = gradients();
      onWasm.forEach((g, v) => {
        expect(g.every(Number.isFinite)).toBe(true);
        const scale = Math.max(...onCpu[v].map(Math.abs));
        g.forEach((x, i) => expect(Math.abs(x - onCpu[v][i])).toBeLessThan(1e-3 * scale + 1e-5));
      });
    } finally {
      await tf.setBackend("cpu");
    }
  });
});

// Models with the readout: still causal, padding ignored, loss falls.
const inputs = { itemDim: 6, embeddingDims: { category_list: 3, country: 2 } };
const SEQ_LEN = 5;
const batch = () => toyBatch([{ items: [3, 4, 5, 6] }, { items: [7, 8] }, { items: [2, 3, 4, 5, 6] }], SEQ_LEN);

function stateAt(model: NextItemModel, b: SessionBatch, r: number, t: number): tf.Tensor {
  return tf.tidy(() => tf.squeeze(tf.slice(model.encode(b, false) as tf.Tensor3D, [r, t, 0], [1, 1, -1])));
}

function expectCausalAndPaddingIgnored(model: SessionModel): void {
  const base = batch();
  for (let t = 0; t < SEQ_LEN - 1; t++) {
    const later = editBatch(base, (a) => {
      a.items[2][t + 1] = 11 - a.items[2][t + 1] + 2;
      a.price[2][t + 1] += 3;
    });
    for (let s = 0; s <= t; s++)
      expect(maxAbsDiff(stateAt(model, base, 2, s), stateAt(model, later, 2, s))).toBeLessThan(1e-6);
    expect(maxAbsDiff(stateAt(model, base, 2, t + 1), stateAt(model, later, 2, t + 1))).toBeGreaterThan(1e-5);
  }
  const padded = editBatch(base, (a) => {
    a.items[1][3] = 9;
    a.category[1][3] = 3;
    a.price[1][3] = -7;
  });
  const keep = tf.expandDims(base.mask, 2);
  expect(maxAbsDiff(tf.mul(model.encode(base, false), keep), tf.mul(model.encode(padded, false), keep))).toBeLessThan(
    1e-6,
  );
}

/** Mean loss of `steps` Adam steps on the toy batch under `scheme`: [first, last]. */
function trainSteps(model: SessionModel, steps: number, scheme: "next" | "last"): [number, number] {
  const head = createHeadFor(model);
  const optimizer = tf.train.adam(0.02);
  const variables = [...Object.values(model.variables), ...Object.values(head.variables)];
  const example = createTargetScheme(scheme)(batch());
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = optimizer.minimize(
      () => {
        const { states, targets } = selectTargets(model, model.encode(example.inputs, true), example);
        return head.loss(states, targets, true);
      },
      true,
      variables,
    ) as tf.Scalar;
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  return [losses[0], losses[losses.length - 1]];
}

describe('GRU and Transformer with readout: "attention"', () => {
  const gru = () => createRnnModel(toySchema, { inputs, units: 7, mlp: [], readout: "attention", seed: 5 });
  const transformer = () =>
    createTransformerModel(toySchema, {
      inputs,
      dModel: 8,
      heads: 2,
      layers: 1,
      dropout: 0,
      mlp: [],
      readout: "attention",
      seed: 5,
    });

  it("insert the readout between the encoder and the MLP, one state per position, and stay the same kind", () => {
    expect(gru().blocks.map((b) => b.type)).toEqual(["InputBlock", "GRU", "AttentionReadout", "MLP"]);
    expect(gru().kind).toBe("gru");
    expect(gru().output).toBe("sequence");
    expect(transformer().kind).toBe("transformer");
    expect(transformer().blocks.some((b) => b.type === "AttentionReadout")).toBe(true);
    expect(gru().config.readout).toBe("attention");
    expect(createRnnModel(toySchema, { inputs }).config.readout).toBe("none");
    expect(() =>
      createTransformerModel(toySchema, { inputs, dModel: 8, heads: 2, readout: "attention", causal: false }),
    ).toThrow("needs causal: true");
  });

  it("GRU: causal, padding ignored", () => expectCausalAndPaddingIgnored(gru()));
  it("Transformer: causal, padding ignored", () => expectCausalAndPaddingIgnored(transformer()));

  it("the GRU's config rebuilds the same model (createModel)", () => {
    const model = gru();
    const again = createModel("gru", model.config, toySchema);
    expect(maxAbsDiff(model.encode(batch(), false), again.encode(batch(), false))).toBe(0);
  });

  it("the loss falls in 30 steps (GRU, next-item at every position)", () => {
    const [first, last] = trainSteps(gru(), 30, "next");
    expect(last).toBeLessThan(0.7 * first);
  });
});

describe("CORE", () => {
  const schema = itemOnlySchema(ITEMS, SEQ_LEN);
  const itemBatch = () =>
    toyBatch([{ items: [3, 4, 5, 6] }, { items: [7, 8] }, { items: [2, 3, 4, 5, 6] }], SEQ_LEN, false);
  const core = (config = {}) =>
    createCoreModel(schema, {
      inputs: { itemDim: 8 },
      ffnDim: 16,
      layers: 1,
      dropout: 0,
      inputDropout: 0,
      seed: 2,
      ...config,
    });

  it("is the kind 'core', scored by cosine with τ = 0.07 by default, and its config rebuilds it", () => {
    const model = core();
    expect(model.kind).toBe("core");
    expect(model.blocks.map((b) => b.type)).toContain("ConsistentPooling");
    expect(createHeadFor(model).config).toMatchObject({ cosine: true, temperature: 0.07, tied: true });
    expect(createHeadFor(model, { temperature: 0.2 }).config).toMatchObject({ cosine: true, temperature: 0.2 });
    expect(createHeadFor(model, { temperature: undefined, labelSmoothing: 0.1 }).config).toMatchObject({
      cosine: true,
      temperature: 0.07,
      labelSmoothing: 0.1,
    });
    const again = createModel("core", model.config, schema);
    expect(maxAbsDiff(model.encode(itemBatch(), false), again.encode(itemBatch(), false))).toBe(0);
  });

  it("its summary counts every parameter once, the tied head none", () => {
    for (const model of [core(), core({ weights: "uniform" })]) {
      const total = Object.values(model.variables).reduce((sum, v) => sum + v.size, 0);
      const summary = summarizeModel(model, createHeadFor(model));
      expect(summary.totalParameters).toBe(total);
      expect(summary.rows.at(-1)?.parameters).toBe(0); // cosine: no bias
    }
    expect(summarizeModel(core()).rows.map((r) => r.block)).toEqual([
      "input (InputBlock)",
      "core.transformer.position (PositionEmbedding)",
      "core.transformer.block0 (TransformerBlock, causal)",
      "core.transformer.finalNorm (LayerNorm)",
      "core.score (PositionScore)",
      "core.pooling (ConsistentPooling)",
    ]);
  });

  it("CORE-ave: the state at t is the mean of the item embeddings of positions 0..t (pooled: of the session)", () => {
    const model = core({ weights: "uniform" });
    const table = model.inputs.itemTable.arraySync() as number[][];
    const states = model.encode(itemBatch(), false).arraySync() as number[][][];
    const sessions = [
      [3, 4, 5, 6],
      [7, 8],
      [2, 3, 4, 5, 6],
    ];
    sessions.forEach((items, r) =>
      items.forEach((_, t) => {
        const mean = table[0].map((_, d) => items.slice(0, t + 1).reduce((sum, id) => sum + table[id][d], 0) / (t + 1));
        mean.forEach((v, d) => expect(states[r][t][d]).toBeCloseTo(v, 5));
      }),
    );
    const pooled = core({ weights: "uniform", output: "pooled" });
    expect(pooled.output).toBe("pooled");
    const last = pooled.encode(itemBatch(), false).arraySync() as number[][];
    sessions.forEach((items, r) => last[r].forEach((v, d) => expect(v).toBeCloseTo(states[r][items.length - 1][d], 5)));
  });

  it("CORE-trm: with the position score zeroed the weights are uniform (the mean); otherwise a convex combination, causal", () => {
    const model = core();
    const states = () => model.encode(itemBatch(), false).arraySync() as number[][][];
    const table = model.inputs.itemTable.arraySync() as number[][];
    assign(model.variables, { "core.score.kernel": new Array(8).fill(0) });
    const uniform = states();
    table[0].forEach((_, d) => expect(uniform[1][1][d]).toBeCloseTo((table[7][d] + table[8][d]) / 2, 5));
    assign(model.variables, { "core.score.kernel": Array.from({ length: 8 }, (_, i) => 0.5 * Math.cos(i)) });
    const weighted = states();
    // Session 1 at t = 1: α·x7 + (1 - α)·x8 for one α in (0, 1), the same α in every dimension.
    const alpha = table[0].map((_, d) => (weighted[1][1][d] - table[8][d]) / (table[7][d] - table[8][d]));
    expect(alpha[0]).toBeGreaterThan(0);
    expect(alpha[0]).toBeLessThan(1);
    expect(Math.abs(alpha[0] - 0.5)).toBeGreaterThan(1e-3);
    alpha.forEach((a) => expect(a).toBeCloseTo(alpha[0], 4));
    const later = toyBatch([{ items: [3, 4, 5, 6] }, { items: [7, 8] }, { items: [2, 3, 4, 5, 9] }], SEQ_LEN, false);
    const [before, after] = [weighted, model.encode(later, false).arraySync() as number[][][]];
    for (let t = 0; t < 4; t++) before[2][t].forEach((v, d) => expect(after[2][t][d]).toBeCloseTo(v, 6));
    expect(Math.max(...before[2][4].map((v, d) => Math.abs(v - after[2][4][d])))).toBeGreaterThan(1e-3);
  });

  it("logits are cosines / τ: within ±1/τ, equal to the cosine of state and item vector computed by hand", () => {
    const model = core();
    const head = createHeadFor(model);
    const states = tf.reshape(model.encode(itemBatch(), false), [-1, 8]) as tf.Tensor2D;
    const logits = head.logits(states).arraySync() as number[][];
    const rows = states.arraySync() as number[][];
    const table = model.inputs.itemTable.arraySync() as number[][];
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    for (const [r, row] of rows.entries()) {
      for (let item = 2; item < ITEMS; item++) {
        const cosine = row.reduce((s, x, d) => s + x * table[item][d], 0) / (norm(row) * norm(table[item]));
        expect(logits[r][item]).toBeCloseTo(cosine / 0.07, 3);
        expect(Math.abs(logits[r][item])).toBeLessThanOrEqual(1 / 0.07 + 1e-4);
      }
    }
    head.freeze(); // the serving path scores the same
    const frozen = head.logits(states).arraySync() as number[][];
    frozen.forEach((row, r) => row.slice(2).forEach((v, i) => expect(v).toBeCloseTo(logits[r][i + 2], 3)));
  });

  it("gradients of the cosine loss through CORE-trm match central finite differences", () => {
    const model = core({ temperature: 0.5 });
    const head = createHeadFor(model);
    const example = createTargetScheme("next")(itemBatch());
    const objective = () =>
      tf.tidy(() => {
        const { states, targets } = selectTargets(model, model.encode(example.inputs, false), example);
        return head.loss(states, targets, false);
      });
    checkGradient(objective, model.inputs.itemTable, [3 * 8, 3 * 8 + 5, 7 * 8 + 2]);
    checkGradient(objective, model.variables["core.score.kernel"], [0, 3]);
    checkGradient(objective, model.variables["core.transformer.block0.attention.query.kernel"], [0, 9]);
  });

  it("the loss falls in 30 steps, sequence (next) and pooled (last)", () => {
    const sequence = trainSteps(
      createCoreModel(schema, { inputs: { itemDim: 8 }, ffnDim: 16, layers: 1, seed: 2 }),
      30,
      "next",
    );
    expect(sequence[1]).toBeLessThan(0.7 * sequence[0]);
    const pooled = trainSteps(
      createCoreModel(schema, { inputs: { itemDim: 8 }, ffnDim: 16, layers: 1, output: "pooled", seed: 2 }),
      30,
      "last",
    );
    expect(pooled[1]).toBeLessThan(0.7 * pooled[0]);
  });
});
