// The input block (what each position's feature vector holds), parameter naming and seeding, and tensor hygiene.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createHeadFor, createModel, MODEL_KINDS } from "../lib/models/index";
import { ParameterFactory } from "../lib/models/init";
import { createInputBlock, defaultEmbeddingDim } from "../lib/models/inputs";
import { predictLast, selectTargets } from "../lib/models/targets";
import { ITEMS, toyBatch, toySchema } from "./helpers/models-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const batch = () =>
  toyBatch(
    [
      { items: [3, 4, 5], country: 1, age: 0.25 },
      { items: [6], country: 3, age: -1 },
    ],
    4,
  );
const dims = { itemDim: 6, embeddingDims: { category_list: 3, country: 2 } };

describe("input block", () => {
  it("concatenates item, categorical and continuous sequence features, then broadcast context features", () => {
    const params = new ParameterFactory(1);
    const block = createInputBlock(params, toySchema, dims);
    expect(block.dim).toBe(6 + 3 + 1 + 2 + 1);
    const features = block.apply(batch()).arraySync(); // [2, 4, 13]
    const table = (name: string) => params.variables[`embedding.${name}`].arraySync() as number[][];
    const [items, categories, countries] = [table("item_list"), table("category_list"), table("country")];
    const expectRow = (
      r: number,
      t: number,
      item: number,
      category: number,
      price: number,
      country: number,
      age: number,
    ) => {
      const expected = [...items[item], ...categories[category], price, ...countries[country], age];
      features[r][t].forEach((v, k) => expect(v).toBeCloseTo(expected[k], 6));
    };
    expectRow(0, 0, 3, 2, 0.5, 1, 0.25); // fixture: category 2 + t % 3, price 0.5 + 0.25 t
    expectRow(0, 2, 5, 4, 1.0, 1, 0.25);
    expectRow(1, 0, 6, 2, 0.5, 3, -1);
    expectRow(1, 3, 0, 0, 0, 3, -1); // padding: row 0 of each table, value 0; context is still there
  });

  it("sizes side embeddings by fast.ai's rule capped at 16, and the item table at 64 by default", () => {
    expect([2, 5, 9, 200, 40000].map(defaultEmbeddingDim)).toEqual([2, 4, 5, 16, 16]);
    const params = new ParameterFactory(1);
    const block = createInputBlock(params, toySchema, {});
    expect(params.variables["embedding.item_list"].shape).toEqual([ITEMS, 64]);
    expect(params.variables["embedding.category_list"].shape).toEqual([5, 4]);
    expect(block.dim).toBe(64 + 4 + 1 + 3 + 1);
  });

  it("adds a MASK row, projects, and leaves out excluded columns", () => {
    const params = new ParameterFactory(1);
    const block = createInputBlock(params, toySchema, {
      ...dims,
      maskToken: true,
      projection: 5,
      exclude: ["category_list", "age"],
    });
    expect(block.maskId).toBe(ITEMS);
    expect(block.itemTable.shape).toEqual([ITEMS + 1, 6]);
    expect(params.variables["projection.kernel"].shape).toEqual([6 + 1 + 2, 5]);
    const b = batch();
    delete (b.categorical as Record<string, tf.Tensor2D>).category_list;
    expect(block.apply(b).shape).toEqual([2, 4, 5]);
  });

  it("names the missing column of a batch", () => {
    const block = createInputBlock(new ParameterFactory(1), toySchema, dims);
    const b = batch();
    delete (b.continuous as Record<string, tf.Tensor2D>).price_list;
    expect(() => block.apply(b)).toThrow(/continuous has no column 'price_list'/);
  });
});

describe("parameters", () => {
  it("have stable names, seeded values, and do not depend on the other parameters of the model", () => {
    const config = { inputs: dims, dModel: 8, heads: 2, layers: 1, mlp: [8] };
    const a = createModel("transformer", config, toySchema);
    expect(Object.keys(a.variables)).toEqual(
      expect.arrayContaining([
        "input.embedding.item_list",
        "input.projection.kernel",
        "transformer.position",
        "transformer.block0.attention.query.kernel",
        "transformer.block0.ffn.in.kernel",
        "transformer.finalNorm.gamma",
        "mlp.layer0.kernel",
      ]),
    );
    const same = createModel("transformer", config, toySchema);
    const deeper = createModel("transformer", { ...config, layers: 2, mlp: [4, 8] }, toySchema);
    const reseeded = createModel("transformer", { ...config, seed: 2 }, toySchema);
    const values = (m: typeof a, name: string) => Array.from(m.variables[name].dataSync());
    for (const name of Object.keys(a.variables)) expect(values(same, name)).toEqual(values(a, name));
    expect(values(deeper, "transformer.block0.attention.key.kernel")).toEqual(
      values(a, "transformer.block0.attention.key.kernel"),
    );
    expect(values(reseeded, "input.embedding.item_list")).not.toEqual(values(a, "input.embedding.item_list"));
  });
});

describe("tensor hygiene", () => {
  it.each(MODEL_KINDS)("%s: encode, select, loss and topK leave no tensors behind", (kind) => {
    const model = createModel(kind, { inputs: { ...dims, maskToken: true } }, toySchema);
    const head = createHeadFor(model, { labelSmoothing: 0.1 });
    const b = batch();
    const example = predictLast()(b);
    const before = tf.memory().numTensors;
    const hidden = model.encode(example.inputs, true);
    const { states, targets } = selectTargets(model, hidden, example);
    const loss = head.loss(states, targets, true);
    const best = head.topK(states, 2);
    expect(best.indices.shape).toEqual([2, 2]);
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    tf.dispose([hidden, states, targets, loss, best.values, best.indices]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
