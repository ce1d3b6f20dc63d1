// SR-GNN (lib/models/graph.ts, lib/models/srgnn.ts): session graphs built by hand, the gated graph step against a
// loop-by-loop reference and central finite differences, the block's per-position states, a session's vector that
// does not depend on the batch around it, the model's kind and training scheme, and its config's validation.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { ParameterFactory } from "../lib/models/init";
import { aliasMatrix, gatedGraphLayer, sessionGraphs } from "../lib/models/graph";
import {
  attentionReadout,
  composeModel,
  createAttentionReadout,
  createHeadFor,
  createModel,
  createSrGnnModel,
  createTargetScheme,
  inputBlock,
  sessionGraph,
  summarizeModel,
} from "../lib/models/index";
import { trainingLoss } from "../lib/train/index";
import { checkGradient } from "./helpers/gradients";
import { itemOnlySchema, toyBatch } from "./helpers/models-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Rows of `values` [rows × cols] as nested arrays, rounded for comparison. */
function matrix(values: Float32Array, rows: number, cols: number, offset = 0): number[][] {
  return Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => Math.round(values[offset + i * cols + j] * 1e6) / 1e6),
  );
}

describe("sessionGraphs", () => {
  // Row 0: 5 3 5 7 — nodes 5, 3, 7 (first clicks), edges 5→3, 3→5, 5→7.
  // Row 1: 4 4 — one node with a loop 4→4.
  // Row 2: 2 3 2 3 — nodes 2, 3; the pair 2→3 twice counts once; edges 2→3, 3→2.
  const items = Int32Array.from([5, 3, 5, 7, 0, 4, 4, 0, 0, 0, 2, 3, 2, 3, 0]);
  const mask = Float32Array.from(items, (id) => (id > 0 ? 1 : 0));
  const g = sessionGraphs(items, mask, 3, 5);

  it("numbers each session's distinct items in order of first click, one node per position", () => {
    expect(g.nodes).toBe(3);
    expect(Array.from(g.alias)).toEqual([0, 1, 0, 2, -1, 0, 0, -1, -1, -1, 0, 1, 0, 1, -1]);
    expect(Array.from(g.nodeItems)).toEqual([5, 3, 7, 4, 0, 0, 2, 3, 0]);
  });

  it("normalises incoming edges by in-degree and outgoing edges by out-degree (computed by hand)", () => {
    // Row 0: in-degrees 1 (from 3), 1 (from 5), 1 (from 5); out-degrees 2 (to 3 and 7), 1 (to 5), 0.
    expect(matrix(g.inbound, 3, 3, 0)).toEqual([
      [0, 1, 0],
      [1, 0, 0],
      [1, 0, 0],
    ]);
    expect(matrix(g.outbound, 3, 3, 0)).toEqual([
      [0, 0.5, 0.5],
      [1, 0, 0],
      [0, 0, 0],
    ]);
    // Row 1: the loop; the two unused nodes have no edges.
    expect(matrix(g.inbound, 3, 3, 9)).toEqual([
      [1, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(matrix(g.outbound, 3, 3, 9)).toEqual(matrix(g.inbound, 3, 3, 9));
    // Row 2: 2→3 and 3→2, once each.
    expect(matrix(g.inbound, 3, 3, 18)).toEqual([
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 0],
    ]);
    expect(matrix(g.outbound, 3, 3, 18)).toEqual(matrix(g.inbound, 3, 3, 18));
  });

  it("joins only consecutive real positions, and an all-padding batch still has one node", () => {
    const gap = sessionGraphs(Int32Array.from([2, 0, 3]), Float32Array.from([1, 0, 1]), 1, 3);
    expect(Array.from(gap.inbound)).toEqual([0, 0, 0, 0]);
    expect(Array.from(gap.outbound)).toEqual([0, 0, 0, 0]);
    const empty = sessionGraphs(new Int32Array(4), new Float32Array(4), 2, 2);
    expect(empty.nodes).toBe(1);
    expect(Array.from(empty.alias)).toEqual([-1, -1, -1, -1]);
  });

  it("makes the one-hot position → node matrix", () => {
    const alias = aliasMatrix(g);
    expect(alias.shape).toEqual([3, 5, 3]);
    expect(alias.arraySync()[0]).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    alias.dispose();
  });

  it("refuses arrays of the wrong size", () => {
    expect(() => sessionGraphs(new Int32Array(5), new Float32Array(6), 2, 3)).toThrow(/2×3/);
  });
});

describe("gatedGraphLayer", () => {
  const dim = 2;
  const params = new ParameterFactory(4, "layer");
  const layer = gatedGraphLayer(params, "graph", dim);
  // Non-zero biases, so that every term of the step is exercised.
  for (const [name, variable] of Object.entries(params.variables)) {
    if (name.endsWith("ias"))
      variable.assign(
        tf.tensor(
          variable.dataSync().map((_, i) => 0.1 * (i + 1) - 0.25),
          variable.shape,
        ),
      );
  }
  const nodes = tf.variable(
    tf.tensor3d([
      [
        [0.3, -0.8],
        [1.2, 0.5],
        [-0.4, 0.9],
      ],
    ]),
    true,
    "nodes",
  );
  const inbound = tf.tensor3d([
    [
      [0, 1, 0],
      [0.5, 0, 0.5],
      [1, 0, 0],
    ],
  ]);
  const outbound = tf.tensor3d([
    [
      [0, 0.5, 0.5],
      [1, 0, 0],
      [0, 0, 0],
    ],
  ]);

  /** The step written out with loops over the variables' values (SR-GNN's GNNCell). */
  function reference(): number[][] {
    const v = (name: string) => Array.from(params.variables[`layer.graph.${name}`].dataSync());
    const N = nodes.arraySync()[0];
    const A = [inbound.arraySync()[0], outbound.arraySync()[0]];
    const linear = (x: number[], kernel: number[], bias: number[], outDim: number) =>
      Array.from(
        { length: outDim },
        (_, o) => bias[o] + x.reduce((sum, xi, i) => sum + xi * kernel[i * outDim + o], 0),
      );
    const edgeIn = N.map((x) => linear(x, v("edgeIn.kernel"), v("edgeIn.bias"), dim));
    const edgeOut = N.map((x) => linear(x, v("edgeOut.kernel"), v("edgeOut.bias"), dim));
    return N.map((h, i) => {
      const message = (a: number[][], edge: number[][], bias: number[]) =>
        bias.map((b, k) => b + a[i].reduce((sum, aij, j) => sum + aij * edge[j][k], 0));
      const inputs = [...message(A[0], edgeIn, v("inBias")), ...message(A[1], edgeOut, v("outBias"))];
      const gi = linear(inputs, v("input.kernel"), v("input.bias"), 3 * dim);
      const gh = linear(h, v("hidden.kernel"), v("hidden.bias"), 3 * dim);
      return h.map((hk, k) => {
        const r = sigmoid(gi[k] + gh[k]);
        const z = sigmoid(gi[dim + k] + gh[dim + k]);
        const n = Math.tanh(gi[2 * dim + k] + r * gh[2 * dim + k]);
        return n + z * (hk - n);
      });
    });
  }

  it("computes SR-GNN's GNNCell step", () => {
    const out = layer.apply(nodes, inbound, outbound);
    const expected = reference();
    out.arraySync()[0].forEach((row, i) => row.forEach((value, k) => expect(value).toBeCloseTo(expected[i][k], 5)));
    out.dispose();
  });

  it("matches central finite differences for every weight and the node states", () => {
    const probe = tf.tensor3d([
      [
        [0.7, -0.3],
        [0.2, 0.9],
        [-0.5, 0.4],
      ],
    ]);
    const objective = () => tf.sum(tf.mul(layer.apply(nodes, inbound, outbound), probe)) as tf.Scalar;
    for (const variable of Object.values(params.variables)) checkGradient(objective, variable, [0, 1]);
    checkGradient(objective, nodes, [0, 3, 5]);
  });
});

describe("sessionGraph block and the SR-GNN model", () => {
  const schema = itemOnlySchema(12, 6);

  it("gives a session the same vector alone or beside a session with more nodes", () => {
    const model = createSrGnnModel(schema, { inputs: { itemDim: 4 }, seed: 2 });
    const alone = toyBatch([{ items: [3, 5, 3, 8] }], 6, false);
    const mixed = toyBatch([{ items: [2, 4, 6, 7, 9, 10] }, { items: [3, 5, 3, 8] }], 6, false);
    const encoded = model.encode(alone, false).arraySync() as number[][];
    const inBatch = model.encode(mixed, false).arraySync() as number[][];
    expect(encoded[0].length).toBe(4);
    encoded[0].forEach((v, k) => expect(inBatch[1][k]).toBeCloseTo(v, 5));
  });

  it("is SR-GNN's computation: the gated step on the node means, gathered per position, then the pooled readout", () => {
    const model = createSrGnnModel(schema, { inputs: { itemDim: 4 }, seed: 3 });
    const batch = toyBatch([{ items: [3, 5, 3, 8] }, { items: [4, 4] }], 6, false);
    const expected = tf.tidy(() => {
      const x = model.inputs.apply(batch) as tf.Tensor3D; // [2, 6, 4]
      const g = sessionGraphs(Int32Array.from(batch.items.dataSync()), Float32Array.from(batch.mask.dataSync()), 2, 6);
      const alias = aliasMatrix(g); // [2, 6, 3]
      const means = tf.div(tf.matMul(alias, x, true), tf.expandDims(tf.maximum(tf.sum(alias, 1), 1), 2)) as tf.Tensor3D;
      // A layer and a readout of their own, given the model's weights.
      const params = new ParameterFactory(0, "own");
      const layer = gatedGraphLayer(params, "graph", 4);
      const readout = createAttentionReadout(params, "readout", 4, 4);
      for (const [name, variable] of Object.entries(params.variables))
        variable.assign(model.variables[name.slice("own.".length)]);
      const adjacency = (values: Float32Array) => tf.tensor3d(values, [2, g.nodes, g.nodes]);
      const nodes = layer.apply(means, adjacency(g.inbound), adjacency(g.outbound));
      return readout.apply(tf.matMul(alias, nodes), batch.mask, "pooled").arraySync() as number[][];
    });
    const encoded = model.encode(batch, false).arraySync() as number[][];
    encoded.forEach((row, b) => row.forEach((v, k) => expect(v).toBeCloseTo(expected[b][k], 6)));
  });

  it("is a pooled, non-causal model that trains on predict-last, and the loss falls", () => {
    const model = createModel("srgnn", { inputs: { itemDim: 8 } }, schema);
    expect(model.kind).toBe("srgnn");
    expect(model.output).toBe("pooled");
    expect(model.causal).toBe(false);
    expect(summarizeModel(model).rows.map((r) => r.block)).toEqual([
      "input (InputBlock)",
      "graph (GatedGraph)",
      "readout (AttentionReadout)",
    ]);
    const head = createHeadFor(model);
    const batch = toyBatch(
      [{ items: [2, 3, 4, 5] }, { items: [6, 7, 6, 8, 9] }, { items: [10, 11, 2] }, { items: [3, 3, 5, 7, 9, 11] }],
      6,
      false,
    );
    const scheme = createTargetScheme("last");
    const variables = [...new Set([...Object.values(model.variables), ...Object.values(head.variables)])];
    const optimizer = tf.train.adam(0.05);
    const loss = () => trainingLoss(model, head, scheme, batch);
    const first = tf.tidy(() => loss().dataSync()[0]);
    for (let step = 0; step < 30; step++) optimizer.minimize(loss, false, variables);
    const last = tf.tidy(() => loss().dataSync()[0]);
    expect(last).toBeLessThan(first * 0.5);
    optimizer.dispose();
  });

  it("refuses a session graph that no pooled block follows, and a step count that is not a positive integer", () => {
    expect(() => composeModel(schema, [inputBlock({ itemDim: 4 }), sessionGraph()])).toThrow(
      /pooled block must follow/,
    );
    expect(() =>
      composeModel(schema, [
        inputBlock({ itemDim: 4 }),
        sessionGraph({ steps: 0 }),
        attentionReadout({ output: "pooled" }),
      ]),
    ).toThrow(/steps must be a positive integer/);
  });

  it("rebuilds from its resolved config (as a model folder does)", () => {
    const model = createSrGnnModel(schema, { inputs: { itemDim: 4 }, steps: 2, seed: 5 });
    expect(model.config).toEqual({ inputs: { itemDim: 4 }, steps: 2, seed: 5 });
    const again = createModel("srgnn", model.config, schema);
    const batch = toyBatch([{ items: [2, 5, 2, 9] }], 6, false);
    expect(again.encode(batch, false).arraySync()).toEqual(model.encode(batch, false).arraySync());
  });
});
