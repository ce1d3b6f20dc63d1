import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  causalNext,
  createTargetScheme,
  evaluationExample,
  evaluationInputs,
  maskedItem,
  predictLast,
  selectTargets,
  statesAt,
} from "../lib/models/index";
import type { NextItemModel, SessionBatch } from "../lib/models/index";
import { ITEMS, disposeToyBatch, toyBatch } from "./helpers/models-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const SEQ_LEN = 4;
const MASK = ITEMS; // 12
// Side features from the fixture: category at position t = 2 + t % 3, price = 0.5 + 0.25 t.
const sessions = () =>
  toyBatch([{ items: [3, 4, 5] }, { items: [6] }, { items: [7, 8, 9, 10] }, { items: [2, 11] }], SEQ_LEN);

function stub(output: "sequence" | "pooled"): NextItemModel {
  return { name: "stub", output, dim: 2, variables: {}, encode: () => tf.zeros([1]) };
}

function sequences(batch: SessionBatch) {
  return {
    items: batch.items.arraySync(),
    mask: batch.mask.arraySync(),
    lengths: Array.from(batch.lengths.dataSync()),
    category: batch.categorical.category_list.arraySync(),
    price: batch.continuous.price_list.arraySync(),
    country: Array.from(batch.context.country.dataSync()),
  };
}

describe("predictLast", () => {
  it("drops the last event (features too) and targets it at the last remaining position", () => {
    const batch = sessions();
    const example = predictLast()(batch);
    const got = sequences(example.inputs);
    expect(got.items).toEqual([
      [3, 4, 0, 0],
      [0, 0, 0, 0],
      [7, 8, 9, 0],
      [2, 0, 0, 0],
    ]);
    expect(got.mask).toEqual([
      [1, 1, 0, 0],
      [0, 0, 0, 0],
      [1, 1, 1, 0],
      [1, 0, 0, 0],
    ]);
    expect(got.lengths).toEqual([2, 0, 3, 1]);
    expect(got.category).toEqual([
      [2, 3, 0, 0],
      [0, 0, 0, 0],
      [2, 3, 4, 0],
      [2, 0, 0, 0],
    ]);
    expect(got.price).toEqual([
      [0.5, 0.75, 0, 0],
      [0, 0, 0, 0],
      [0.5, 0.75, 1, 0],
      [0.5, 0, 0, 0],
    ]);
    expect(got.country).toEqual([2, 2, 2, 2]);
    expect(example.targets.arraySync()).toEqual([
      [0, 5, 0, 0],
      [6, 0, 0, 0],
      [0, 0, 10, 0],
      [11, 0, 0, 0],
    ]);
    // The example owns its tensors: disposing the batch leaves it usable.
    disposeToyBatch(batch);
    expect(example.inputs.context.country.dataSync()[0]).toBe(2);
  });
});

describe("causalNext", () => {
  it("keeps the inputs and targets item t+1 at every position t before the last event", () => {
    const batch = sessions();
    const example = causalNext()(batch);
    expect(sequences(example.inputs)).toEqual(sequences(batch));
    expect(example.targets.arraySync()).toEqual([
      [4, 5, 0, 0],
      [0, 0, 0, 0],
      [8, 9, 10, 0],
      [11, 0, 0, 0],
    ]);
  });
});

describe("maskedItem", () => {
  it("with probability 1 masks every real item and targets all of them", () => {
    const batch = sessions();
    const example = maskedItem({ maskId: MASK, probability: 1 })(batch);
    expect(example.inputs.items.arraySync()).toEqual([
      [12, 12, 12, 0],
      [12, 0, 0, 0],
      [12, 12, 12, 12],
      [12, 12, 0, 0],
    ]);
    expect(example.targets.arraySync()).toEqual(batch.items.arraySync());
    // The masked events' other features are hidden; they stay real events, and the context is untouched.
    const got = sequences(example.inputs);
    expect(got.category).toEqual(got.items.map((row) => row.map(() => 0)));
    expect(got.price).toEqual(got.items.map((row) => row.map(() => 0)));
    expect(got.mask).toEqual(sequences(batch).mask);
    expect(got.lengths).toEqual([3, 1, 4, 2]);
    expect(got.country).toEqual([2, 2, 2, 2]);
  });

  it("masks at least one item per session, targets only there, and is reproducible under a seed", () => {
    const batch = sessions();
    const draw = (seed: number) => maskedItem({ maskId: MASK, probability: 1e-9, seed })(batch);
    const example = draw(7);
    const original = batch.items.arraySync();
    const items = example.inputs.items.arraySync();
    const targets = example.targets.arraySync();
    const category = example.inputs.categorical.category_list.arraySync();
    const originalCategory = batch.categorical.category_list.arraySync();
    original.forEach((row, r) => {
      const masked = row.map((_, t) => t).filter((t) => items[r][t] === MASK);
      expect(masked).toHaveLength(1);
      row.forEach((id, t) => {
        expect(targets[r][t]).toBe(masked.includes(t) ? id : 0);
        if (!masked.includes(t)) expect(items[r][t]).toBe(id);
        expect(category[r][t]).toBe(masked.includes(t) ? 0 : originalCategory[r][t]);
      });
    });
    expect(draw(7).inputs.items.arraySync()).toEqual(items);
    // The stream continues: a scheme drawn once gives different masks on its second call for some seed.
    const scheme = maskedItem({ maskId: MASK, probability: 0.5, seed: 3 });
    const calls = Array.from({ length: 4 }, () => scheme(batch).inputs.items.arraySync());
    expect(new Set(calls.map((c) => JSON.stringify(c))).size).toBeGreaterThan(1);
  });

  it("needs a mask id", () => {
    expect(() => createTargetScheme("masked")).toThrow(/maskId/);
  });
});

describe("selectTargets", () => {
  // hidden[r, t] = [2(rL+t), 2(rL+t)+1]: row k of the flattened states is [2k, 2k+1].
  const hidden3d = () => tf.reshape(tf.range(0, 4 * SEQ_LEN * 2), [4, SEQ_LEN, 2]);

  it("gathers every position with a target for a sequence model", () => {
    const example = causalNext()(sessions());
    const { states, targets } = selectTargets(stub("sequence"), hidden3d(), example);
    const rows = [0, 1, 8, 9, 10, 12]; // flat positions with targets, row-major
    expect(states.arraySync()).toEqual(rows.map((k) => [2 * k, 2 * k + 1]));
    expect(Array.from(targets.dataSync())).toEqual([4, 5, 8, 9, 10, 11]);
  });

  it("takes each session's single target for a pooled model and refuses several", () => {
    const pooled = tf.tensor2d([
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
    ]);
    const { states, targets } = selectTargets(stub("pooled"), pooled, predictLast()(sessions()));
    expect(states.arraySync()).toEqual(pooled.arraySync());
    expect(Array.from(targets.dataSync())).toEqual([5, 6, 10, 11]);
    expect(() => selectTargets(stub("pooled"), pooled, causalNext()(sessions()))).toThrow(/predictLast/);
  });
});

describe("evaluation inputs", () => {
  it("reads the state at the last event for last/next schemes", () => {
    const batch = sessions();
    const evaluation = evaluationInputs(batch, predictLast());
    expect(sequences(evaluation.inputs)).toEqual(sequences(batch));
    expect(Array.from(evaluation.positions.dataSync())).toEqual([2, 0, 3, 1]);
    const hidden = tf.reshape(tf.range(0, 4 * SEQ_LEN * 2), [4, SEQ_LEN, 2]);
    // flat rows 0·4+2, 1·4+0, 2·4+3, 3·4+1
    expect(statesAt(stub("sequence"), hidden, evaluation.positions).arraySync()).toEqual([
      [4, 5],
      [8, 9],
      [22, 23],
      [26, 27],
    ]);
  });

  it("appends a MASK after the last event for the masked scheme, dropping the oldest event of a full session", () => {
    const evaluation = evaluationInputs(sessions(), maskedItem({ maskId: MASK }));
    const got = sequences(evaluation.inputs);
    expect(got.items).toEqual([
      [3, 4, 5, 12],
      [6, 12, 0, 0],
      [8, 9, 10, 12],
      [2, 11, 12, 0],
    ]);
    expect(got.mask).toEqual([
      [1, 1, 1, 1],
      [1, 1, 0, 0],
      [1, 1, 1, 1],
      [1, 1, 1, 0],
    ]);
    expect(got.lengths).toEqual([4, 2, 4, 3]);
    expect(got.category).toEqual([
      [2, 3, 4, 0],
      [2, 0, 0, 0],
      [3, 4, 2, 0],
      [2, 3, 0, 0],
    ]);
    expect(got.price[2]).toEqual([0.75, 1, 1.25, 0]);
    expect(Array.from(evaluation.positions.dataSync())).toEqual([3, 1, 3, 2]);
  });

  it("evaluationExample hides the last item and targets it", () => {
    const masked = evaluationExample(sessions(), maskedItem({ maskId: MASK }));
    expect(masked.inputs.items.arraySync()).toEqual([
      [3, 4, 12, 0],
      [12, 0, 0, 0],
      [7, 8, 9, 12],
      [2, 12, 0, 0],
    ]);
    expect(masked.inputs.categorical.category_list.arraySync()[0]).toEqual([2, 3, 0, 0]);
    expect(Array.from(masked.positions.dataSync())).toEqual([2, 0, 3, 1]);
    expect(Array.from(masked.targets.dataSync())).toEqual([5, 6, 10, 11]);

    const last = evaluationExample(sessions(), predictLast());
    expect(last.inputs.items.arraySync()[2]).toEqual([7, 8, 9, 0]);
    expect(Array.from(last.positions.dataSync())).toEqual([1, 0, 2, 0]);
    expect(Array.from(last.targets.dataSync())).toEqual([5, 6, 10, 11]);
  });
});
