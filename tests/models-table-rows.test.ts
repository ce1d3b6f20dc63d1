// Rows of a large table with one gradient per step (lib/models/table-rows.ts): the same gradients as tf.gather's
// (exactly, on integer-valued data; within float tolerance through a whole CORE model with the globalNeighbours block
// and a sampled head, the three places that gather the item table), one scatter instead of one per gather, nothing
// left behind, and tf.gather itself outside a scope, for small tables and for tensors that are not trainable.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createCoreModel, createHeadFor, createTargetScheme } from "../lib/models/index";
import { gatherTableRows, sparseTableGradients } from "../lib/models/table-rows";
import { examplesLoss, trainableVariables, trainingExamples } from "../lib/train/step";
import { itemOnlySchema, toyBatch } from "./helpers/models-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

type Gather = (table: tf.Tensor, ids: tf.Tensor) => tf.Tensor;

describe("gatherTableRows", () => {
  const table = tf.variable(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [6, 2]), true, "rowsTable");
  const other = tf.variable(tf.tensor2d([0.5, -1], [2, 1]), true, "rowsOther");
  const ids2d = tf.tensor2d([2, 3, 3, 5], [2, 2], "int32");
  const ids1d = tf.tensor1d([3, 0, 3], "int32");
  // Three gathers (ids of rank 2 and 1, repeated rows), one unused, and a dense use of the whole table.
  const loss = (gather: Gather) => (): tf.Scalar =>
    tf.tidy(() => {
      const a = tf.reshape(gather(table, ids2d), [-1, 2]);
      const b = gather(table, ids1d);
      gather(table, tf.tensor1d([1], "int32")); // reaches nothing
      return tf
        .sum(tf.square(tf.matMul(a, other)))
        .add(tf.sum(tf.mul(b, tf.tensor1d([3, -2]))))
        .add(tf.sum(tf.matMul(table, other))) as tf.Scalar;
    });
  const gradients = (gather: Gather, scope: (f: () => tf.NamedTensorMap) => tf.NamedTensorMap) =>
    scope(() => {
      const { value, grads } = tf.variableGrads(loss(gather), [table, other]);
      value.dispose();
      return grads;
    });
  const plain = (f: () => tf.NamedTensorMap) => f();
  const sparse = (f: () => tf.NamedTensorMap) => sparseTableGradients(f, 0);

  it("gives tf.gather's gradients, by hand: row r gets Σ over its gathers of the rows' gradients", () => {
    const ours = gradients(gatherTableRows, sparse);
    // a = rows 2, 3, 3, 5 → d/da = 2(a·w)wᵀ with w = [0.5 -1]: a·w = -3.5, -4.5, -4.5, -6.5 → rows [-3.5 7],
    // [-4.5 9] twice, [-6.5 13]; b = rows 3, 0, 3 → [3 -2] each; the dense use adds wᵀ to every row.
    const expected = [
      [3 + 0.5, -2 - 1],
      [0.5, -1],
      [-3.5 + 0.5, 7 - 1],
      [2 * -4.5 + 2 * 3 + 0.5, 2 * 9 - 2 * 2 - 1],
      [0.5, -1],
      [-6.5 + 0.5, 13 - 1],
    ];
    expect(ours[table.name].arraySync()).toEqual(expected);
    const reference = gradients((t, i) => tf.gather(t, i), plain);
    expect(ours[table.name].arraySync()).toEqual(reference[table.name].arraySync());
    expect(ours[other.name].arraySync()).toEqual(reference[other.name].arraySync());
    tf.dispose([...Object.values(ours), ...Object.values(reference)]);
  });

  it("scatters once per table instead of once per gather, and leaves no tensor behind", async () => {
    const scatters = async (scope: (f: () => tf.NamedTensorMap) => tf.NamedTensorMap) => {
      const info = await tf.profile(() => {
        tf.dispose(Object.values(gradients(gatherTableRows, scope)));
      });
      expect(info.newTensors).toBe(0);
      return info.kernels.filter((k) => k.name === "UnsortedSegmentSum").length;
    };
    expect(await scatters(sparse)).toBe(1);
    expect(await scatters(plain)).toBe(2); // the two gathers that reach the loss
    // Below the scope's size, tf.gather's own gradient: one scatter per gather.
    expect(await scatters((f) => sparseTableGradients(f, table.size + 1))).toBe(2);
  });

  it("is tf.gather for a tensor that is not a trainable variable, and outside a scope", () => {
    const constant = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const ids = tf.tensor1d([1, 1, 0], "int32");
    const rows = sparseTableGradients(() => gatherTableRows(constant, ids), 0);
    expect(rows.arraySync()).toEqual([
      [3, 4],
      [3, 4],
      [1, 2],
    ]);
    expect(gatherTableRows(table, tf.tensor2d([5, 0], [1, 2], "int32")).arraySync()).toEqual([
      [
        [11, 12],
        [1, 2],
      ],
    ]);
  });

  it("refuses nested scopes", () => {
    expect(() => sparseTableGradients(() => sparseTableGradients(() => 0))).toThrow(/do not nest/);
    expect(sparseTableGradients(() => 1)).toBe(1); // the failed inner scope closed the outer one cleanly
  });
});

describe("a model's gradients with one scatter per table", () => {
  it("equal tf.gather's through CORE with global neighbours and a sampled head (input, neighbours, candidates)", () => {
    const schema = itemOnlySchema(40, 6);
    const model = createCoreModel(schema, {
      inputs: { itemDim: 8 },
      dropout: 0,
      inputDropout: 0,
      globalNeighbours: { neighbours: 3 },
      seed: 3,
    });
    model.fitSessions!(
      [
        [2, 5, 7, 9],
        [5, 7, 11],
        [9, 2, 5],
        [13, 7, 5, 2],
      ].map((s) => Int32Array.from(s)),
    );
    const head = createHeadFor(model, {
      sampled: { negatives: "popularity", numNegatives: 10, itemProbabilities: new Array(40).fill(1) },
    });
    const variables = trainableVariables(model, head);
    const batch = toyBatch([{ items: [2, 5, 7, 9] }, { items: [5, 7, 11] }, { items: [13, 7, 5, 2, 9] }], 6, false);
    const examples = trainingExamples(createTargetScheme("next"), batch, 2); // two length groups
    const draws = { ids: head.drawBatch(Int32Array.from([2]))!, offset: 0 }; // the same negatives in both runs
    const loss = () =>
      examplesLoss(model, head, examples, (states, targets) => head.loss(states, targets, true, draws));
    const grads = (scope: (f: () => tf.NamedTensorMap) => tf.NamedTensorMap) =>
      scope(() => {
        const { value, grads } = tf.variableGrads(loss, variables);
        value.dispose();
        return grads;
      });
    const reference = grads((f) => f());
    const ours = grads((f) => sparseTableGradients(f, 0));
    const table = variables.find((v) => v.shape[0] === 40 && v.shape[1] === 8)!; // the item table
    expect(Object.keys(ours).sort()).toEqual(Object.keys(reference).sort());
    for (const name of Object.keys(reference)) {
      const a = reference[name].dataSync();
      const b = ours[name].dataSync();
      const scale = Math.max(...Array.from(a, Math.abs));
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * scale + 1e-7);
    }
    // The table's gradient is not trivially zero: its rows of the batch's items and their neighbours moved.
    expect(Math.max(...Array.from(ours[table.name].dataSync(), Math.abs))).toBeGreaterThan(0);
    tf.dispose([...Object.values(ours), ...Object.values(reference)]);
  });
});
