// GCE-GNN's global item graph (lib/models/neighbours.ts) and the globalNeighbours block: a graph counted by hand, the
// aggregation against a loop-by-loop reference and central finite differences, its causality, CORE with the block
// (the identity before `fitSessions`; `fit` fills it), the block's config errors, and its buffers in the summary.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { SessionLoader, type SessionTable } from "../lib/data/loader";
import type { DatasetSchema } from "../lib/data/schema";
import { ParameterFactory, SeedSequence } from "../lib/models/init";
import {
  composeModel,
  consistentPooling,
  createCoreModel,
  createHeadFor,
  createTargetScheme,
  globalNeighbours,
  globalNeighboursLayer,
  inputBlock,
  itemNeighbours,
  summarizeModel,
} from "../lib/models/index";
import { fit } from "../lib/train/fit";
import { assign, checkGradient } from "./helpers/gradients";
import { itemOnlySchema, toyBatch, toySchema } from "./helpers/models-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("itemNeighbours", () => {
  // Window 2. [2 3 4 2]: pairs 2-3, 3-4, 4-2 (one apart), 2-4, 3-2 (two apart); [3 4]: 3-4; [4 5]: 4-5; [5]: none.
  // Counts, both directions: 2: {3: 2, 4: 2}; 3: {2: 2, 4: 2}; 4: {2: 2, 3: 2, 5: 1}; 5: {4: 1}.
  const sessions = [[2, 3, 4, 2], [3, 4], [4, 5], [5]].map((s) => Int32Array.from(s));

  it("counts the pairs of clicks within the window, both ways, and keeps the most frequent (ties: smaller id)", () => {
    const g = itemNeighbours(sessions, 7, { neighbours: 2, window: 2 });
    expect(Array.from(g.ids)).toEqual([0, 0, 0, 0, 3, 4, 2, 4, 2, 3, 4, 0, 0, 0]);
    expect(Array.from(g.counts)).toEqual([0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 1, 0, 0, 0]);
    const three = itemNeighbours(sessions, 7, { neighbours: 3, window: 2 });
    expect(Array.from(three.ids.subarray(4 * 3, 5 * 3))).toEqual([2, 3, 5]);
  });

  it("pairs only clicks at most `window` apart, never an item with itself, padding or OOV", () => {
    // Window 1: [2 3 4 2] gives 2-3, 3-4, 4-2 once each; [2 2 1 0 3] gives nothing (self, OOV, padding).
    const g = itemNeighbours([Int32Array.from([2, 3, 4, 2]), Int32Array.from([2, 2, 1, 0, 3])], 5, {
      neighbours: 3,
      window: 1,
    });
    expect(Array.from(g.ids.subarray(2 * 3, 3 * 3))).toEqual([3, 4, 0]);
    expect(Array.from(g.counts.subarray(2 * 3, 3 * 3))).toEqual([1, 1, 0]);
  });

  it("names a session with an item id outside the catalogue, and bad settings", () => {
    expect(() => itemNeighbours([Int32Array.from([2, 9])], 5, { neighbours: 2, window: 1 })).toThrow(
      /session 0 holds item id 9, outside 0 … 4/,
    );
    expect(() => itemNeighbours([], 5, { neighbours: 0, window: 1 })).toThrow(/neighbours must be an integer >= 1/);
    expect(() => itemNeighbours([], 5, { neighbours: 2, window: 1.5 })).toThrow(/window must be an integer >= 1/);
  });
});

describe("globalNeighboursLayer", () => {
  const nItems = 6;
  const d = 3;
  const S = 2;
  const graph = {
    nItems,
    neighbours: S,
    // item 2: 3 and 4; item 3: 2 only; item 4: none; item 5: 2 and 3.
    ids: Int32Array.from([0, 0, 0, 0, 3, 4, 2, 0, 0, 0, 2, 3]),
    counts: Float32Array.from([0, 0, 0, 0, 3, 1, 2, 0, 0, 0, 1, 5]),
  };
  const items = [
    [2, 3, 4, 0],
    [5, 2, 0, 0],
  ];
  const make = () => {
    const params = new ParameterFactory(4);
    const layer = globalNeighboursLayer(params, "global", nItems, d, S);
    layer.setGraph(graph);
    // Mixed signs on the count's row, so that both sides of the LeakyReLU are reached.
    assign(params.variables, {
      "global.w1": [0.9, -0.6, 0.3, -0.4, 0.8, 0.5, 0.7, 0.2, -0.9, -1.2, 0.5, 0.3],
      "global.w2": [1.1, -0.7, 0.9],
    });
    const table = params.uniform("table", [nItems, d], 0.8);
    const x = params.uniform("x", [2, 4, d], 0.8);
    return { params, layer, table, x };
  };

  /** The aggregation position by position, as the top of neighbours.ts writes it. */
  function reference(x: number[][][], table: number[][], w1: number[][], w2: number[][]): number[][][] {
    return items.map((row, b) => {
      const mask = row.map((id): number => (id > 0 ? 1 : 0));
      return row.map((item, t) => {
        const real = mask.slice(0, t + 1).reduce((a, m) => a + m, 0);
        const s = Array.from(
          { length: d },
          (_, k) => x[b].slice(0, t + 1).reduce((sum, v, j) => sum + v[k] * mask[j], 0) / Math.max(real, 1),
        );
        const present = [0, 1].filter((j) => graph.ids[item * S + j] > 0);
        if (present.length === 0) return x[b][t].slice();
        const scores = present.map((j) => {
          const n = table[graph.ids[item * S + j]];
          const f = [...n.map((v, k) => s[k] * v), Math.log1p(graph.counts[item * S + j])];
          const hidden = w1[0].map((_, o) => f.reduce((sum, v, i) => sum + v * w1[i][o], 0));
          const leaky = hidden.map((h) => (h > 0 ? h : 0.2 * h));
          return leaky.reduce((sum, h, o) => sum + h * w2[o][0], 0);
        });
        const top = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - top));
        const z = e.reduce((a, v) => a + v, 0);
        return x[b][t].map(
          (v, k) => v + present.reduce((sum, j, i) => sum + (e[i] / z) * table[graph.ids[item * S + j]][k], 0),
        );
      });
    });
  }

  it("adds to each position the attention-weighted sum of its item's neighbours (loop-by-loop reference)", () => {
    const { params, layer, table, x } = make();
    const batch = toyBatch(
      items.map((row) => ({ items: row.filter((id) => id > 0) })),
      4,
      false,
    );
    const out = layer.apply(x as tf.Tensor3D, batch.items, batch.mask, table, 0, false, new SeedSequence(1));
    const v = params.variables;
    const expected = reference(
      x.arraySync() as number[][][],
      table.arraySync() as number[][],
      v["global.w1"].arraySync() as number[][],
      v["global.w2"].arraySync() as number[][],
    );
    const got = out.arraySync() as number[][][];
    got.forEach((row, b) =>
      row.forEach((vec, t) => vec.forEach((value, k) => expect(value).toBeCloseTo(expected[b][t][k], 5))),
    );
    // Item 4 (no neighbours) and padding pass through unchanged.
    expect(got[0][2]).toEqual((x.arraySync() as number[][][])[0][2]);
  });

  it("weights that sum to 1: neighbours that are all one vector add exactly that vector", () => {
    const { layer, x } = make();
    const table = tf.tensor2d(Array.from({ length: nItems }, () => [0.5, -1, 2]));
    const batch = toyBatch([{ items: [2, 5] }], 2, false);
    const x0 = tf.slice(x, [0, 0, 0], [1, 2, d]) as tf.Tensor3D;
    const out = layer.apply(x0, batch.items, batch.mask, table, 0, false, new SeedSequence(1));
    const diff = tf.sub(out, x0).arraySync() as number[][][];
    diff[0].forEach((vec) => vec.forEach((value, k) => expect(value).toBeCloseTo([0.5, -1, 2][k], 5)));
  });

  it("is causal: a later click changes no earlier position", () => {
    const { layer, table, x } = make();
    const run = (last: number) => {
      const batch = toyBatch([{ items: [2, 3, last] }], 4, false);
      return (
        layer
          .apply(
            tf.slice(x, [0, 0, 0], [1, 4, d]) as tf.Tensor3D,
            batch.items,
            batch.mask,
            table,
            0,
            false,
            new SeedSequence(1),
          )
          .arraySync() as number[][][]
      )[0];
    };
    const a = run(4);
    const b = run(5);
    expect(b.slice(0, 2)).toEqual(a.slice(0, 2));
    expect(b[2]).not.toEqual(a[2]);
  });

  it("leaves the padding alone: an all-padding batch comes back as it went in", () => {
    const { layer, table, x } = make();
    const padding = tf.zeros([2, 4], "int32") as tf.Tensor2D;
    const out = layer.apply(
      x as tf.Tensor3D,
      padding,
      tf.zeros([2, 4]) as tf.Tensor2D,
      table,
      0,
      true,
      new SeedSequence(1),
    );
    expect(out.arraySync()).toEqual(x.arraySync());
  });

  it("has the gradients of central finite differences (W1, w2, the item table, the input vectors)", () => {
    const { params, layer, table, x } = make();
    const batch = toyBatch(
      items.map((row) => ({ items: row.filter((id) => id > 0) })),
      4,
      false,
    );
    const weights = tf.tensor3d(
      Array.from({ length: 2 * 4 * d }, (_, i) => Math.sin(i + 1)),
      [2, 4, d],
    );
    const objective = () =>
      tf.tidy(() =>
        tf.sum(
          tf.mul(layer.apply(x as tf.Tensor3D, batch.items, batch.mask, table, 0, false, new SeedSequence(1)), weights),
        ),
      ) as tf.Scalar;
    const v = params.variables;
    checkGradient(objective, v["global.w1"], [0, 4, 9, 11]);
    checkGradient(objective, v["global.w2"], [0, 1, 2]);
    checkGradient(objective, table, [2 * d, 3 * d + 1, 4 * d + 2]); // rows of items that are neighbours
    checkGradient(objective, x as tf.Variable, [0, d + 1, 4 * d + 2]);
  });

  it("refuses a graph of another size", () => {
    const { layer } = make();
    expect(() => layer.setGraph({ ...graph, nItems: 7 })).toThrow(/a graph of 7 items × 2 neighbours, expected 6 × 2/);
  });
});

describe("the globalNeighbours block", () => {
  const schema = itemOnlySchema(8, 4);

  it("is the identity until fitSessions; CORE with it is CORE without it until then", () => {
    const plain = createCoreModel(schema, { inputs: { itemDim: 4 }, dropout: 0, inputDropout: 0, seed: 5 });
    const global = createCoreModel(schema, {
      inputs: { itemDim: 4 },
      dropout: 0,
      inputDropout: 0,
      seed: 5,
      globalNeighbours: {},
    });
    const batch = toyBatch([{ items: [2, 3, 4] }, { items: [5, 2] }], 4, false);
    expect(global.encode(batch, false).arraySync()).toEqual(plain.encode(batch, false).arraySync());
    expect(global.blocks.map((b) => b.type)).toContain("GlobalNeighbours");
    global.fitSessions!([Int32Array.from([2, 5, 3]), Int32Array.from([4, 2])]);
    expect(global.encode(batch, false).arraySync()).not.toEqual(plain.encode(batch, false).arraySync());
    expect(Array.from(global.variables["global.neighbourIds"].dataSync().subarray(2 * 12, 2 * 12 + 4))).toEqual([
      3, 4, 5, 0,
    ]);
  });

  it("is filled by fit from the loader's sessions, or from config.sessions", async () => {
    const dataset = { ...schema, version: 1, sessionId: "s", columns: schema.columns } as unknown as DatasetSchema;
    const table: SessionTable = {
      schema: dataset,
      numSessions: 2,
      maxLength: 4,
      lengths: Int32Array.from([3, 2]),
      items: Int32Array.from([2, 5, 3, 0, 4, 6, 0, 0]),
      categorical: {},
      continuous: {},
      context: {},
    };
    const ids = async (sessions?: Int32Array[]) => {
      const model = createCoreModel(schema, { inputs: { itemDim: 4 }, globalNeighbours: { window: 1 } });
      const head = createHeadFor(model, {});
      await fit(model, head, new SessionLoader(table), {
        scheme: createTargetScheme("next"),
        batchSize: 2,
        progress: "none",
        sessions,
      });
      return Array.from(model.variables["global.neighbourIds"].dataSync().subarray(4 * 12, 4 * 12 + 2));
    };
    expect(await ids()).toEqual([6, 0]); // 4's neighbour in [4 6]
    expect(await ids([Int32Array.from([3, 4, 2])])).toEqual([2, 3]);
  });

  it("must follow an inputBlock of item embeddings only, without a MASK row", () => {
    expect(() => composeModel(toySchema, [inputBlock({ itemDim: 4 }), globalNeighbours()])).toThrow(
      /block 1 \(globalNeighbours\): adds item embeddings to the input vectors, so the input block must give the item embeddings only \(width 4\)/,
    );
    expect(() =>
      composeModel(schema, [inputBlock({ itemDim: 4 }), consistentPooling({ weights: "uniform" }), globalNeighbours()]),
    ).toThrow(/block 2 \(globalNeighbours\): reads the item embeddings, so it must come right after inputBlock/);
    expect(() => composeModel(schema, [inputBlock({ itemDim: 4, maskToken: true }), globalNeighbours()])).toThrow(
      /the MASK token has no neighbours/,
    );
    expect(() => composeModel(schema, [inputBlock({ itemDim: 4 }), globalNeighbours({ dropout: 1 })])).toThrow(
      /dropout must be in \[0, 1\), got 1/,
    );
  });

  it("counts its weights as parameters in the summary, not its item graph", () => {
    const model = composeModel(schema, [
      inputBlock({ itemDim: 4 }),
      globalNeighbours({ neighbours: 3 }),
      consistentPooling({ weights: "uniform" }),
    ]);
    const row = summarizeModel(model).rows.find((r) => r.block.startsWith("global"))!;
    expect(row.parameters).toBe(5 * 4 + 4 * 1); // W1 [d + 1, d] and w2 [d, 1]; the [8, 3] buffers are not counted
  });
});
