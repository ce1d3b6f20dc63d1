// lib/models/blocks.ts and summary.ts: a model composed from the public blocks is the factory's model (same
// variables, same outputs under one seed, dropout included), its config rebuilds it, and the summary's parameter
// counts match counts made by hand.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type SessionModel,
  composeModel,
  createHeadFor,
  createModel,
  createMlpModel,
  createRnnModel,
  createTransformerModel,
  disposeVariables,
  formatSummary,
  inputBlock,
  meanPooling,
  mlpBlock,
  recurrentBlock,
  summarizeModel,
  transformerBlocks,
} from "../lib/models/index";
import { disposeToyBatch, toyBatch, toySchema } from "./helpers/models-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const inputs = { itemDim: 4, embeddingDims: { category_list: 3, country: 2 } };

/** Both models' states for one batch, in inference and (twice, same seeds) in training; then frees both. */
function expectSameModel(composed: SessionModel, factory: SessionModel): void {
  expect(composed.kind).toBe(factory.kind);
  expect(Object.keys(composed.variables).sort()).toEqual(Object.keys(factory.variables).sort());
  const batch = toyBatch([{ items: [3, 4, 5, 6] }, { items: [7, 8] }, { items: [2, 3, 4, 5, 6] }], 5);
  for (const training of [false, true]) {
    const [a, b] = [composed.encode(batch, training), factory.encode(batch, training)];
    expect(a.shape).toEqual(b.shape);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([a, b]);
  }
  disposeToyBatch(batch);
  disposeVariables(composed.variables);
  disposeVariables(factory.variables);
}

describe("composeModel = the factories", () => {
  it("MLP: input → mean pooling → MLP", () => {
    const composed = composeModel(
      toySchema,
      [inputBlock(inputs), meanPooling(), mlpBlock({ units: [8, 6], dropout: 0.3 })],
      { seed: 3 },
    );
    expectSameModel(composed, createMlpModel(toySchema, { inputs, layers: [8, 6], dropout: 0.3, seed: 3 }));
  });

  it.each(["gru", "lstm"] as const)("%s: input → recurrent layer → MLP", (cell) => {
    const composed = composeModel(
      toySchema,
      [inputBlock(inputs), recurrentBlock({ cell, units: 5, dropout: 0.2, l2: 0.01 }), mlpBlock({ units: [6] })],
      { seed: 3 },
    );
    const factory = createRnnModel(toySchema, { inputs, cell, units: 5, dropout: 0.2, l2: 0.01, mlp: [6], seed: 3 });
    expect(composed.regularization!().dataSync()[0]).toBe(factory.regularization!().dataSync()[0]);
    expectSameModel(composed, factory);
  });

  it("Transformer: input projected to d_model → causal Transformer blocks → MLP", () => {
    const composed = composeModel(
      toySchema,
      [
        inputBlock({ ...inputs, projection: 8, projectionInitScale: 2 }),
        transformerBlocks({ heads: 2, layers: 2, causal: true }),
        mlpBlock({ units: [6] }),
      ],
      { seed: 3 },
    );
    // Default dropout 0.1: the training pass checks that both draw the same masks.
    expectSameModel(
      composed,
      createTransformerModel(toySchema, {
        inputs,
        dModel: 8,
        heads: 2,
        layers: 2,
        inputInitScale: 2,
        mlp: [6],
        seed: 3,
      }),
    );
  });

  it("a composed model's config rebuilds it through createModel (what a saved model folder does)", () => {
    const composed = composeModel(
      toySchema,
      [inputBlock(inputs), recurrentBlock({ cell: "lstm", units: 5 }), mlpBlock({ units: [6] })],
      { seed: 9 },
    );
    const config = JSON.parse(JSON.stringify(composed.config));
    expect(config.blocks[1]).toEqual({ block: "recurrent", cell: "lstm", units: 5, dropout: 0, l2: 0, name: "lstm" });
    expectSameModel(composed, createModel("lstm", config, toySchema));
    expect(() => createModel("gru", config, toySchema)).toThrow(
      "the blocks of this config make a 'lstm' model, not a 'gru'",
    );
  });

  it("says which block is wrong", () => {
    expect(() => composeModel(toySchema, [meanPooling()])).toThrow("the first block must be inputBlock(...)");
    expect(() =>
      composeModel(toySchema, [inputBlock(inputs), meanPooling(), recurrentBlock({ cell: "gru", units: 4 })]),
    ).toThrow("block 2 (recurrent): needs one state per position, but an earlier block pooled the session");
    expect(() => composeModel(toySchema, [inputBlock(inputs), transformerBlocks({ heads: 3 })])).toThrow(
      /heads \(3\) must be a positive divisor of dModel \(11\)/,
    );
  });
});

describe("summarizeModel", () => {
  // Input block of toySchema with `inputs`: item 12×4 + category_list 5×3 + country 4×2 = 71 parameters, and
  // per position 4 + 3 (category) + 1 (price) + 2 (country) + 1 (age) = 11 features (item_count is never fed).
  it("MLP: every block's output shape and parameters, the tied head, the total", () => {
    const model = createMlpModel(toySchema, { inputs, layers: [6] });
    const head = createHeadFor(model);
    const summary = summarizeModel(model, head);
    expect(summary.rows).toEqual([
      { block: "input (InputBlock)", outputShape: ["batch", "seqLen", 11], parameters: 71 },
      { block: "meanPooling (MeanPooling)", outputShape: ["batch", 11], parameters: 0 },
      { block: "mlp (MLP)", outputShape: ["batch", 6], parameters: 11 * 6 + 6 },
      // Tied: the item table is the input block's; the head owns a 6 → 4 projection and one bias per item.
      { block: "head (tied output head)", outputShape: ["batch", 12], parameters: 6 * 4 + 4 + 12 },
    ]);
    expect(summary.totalParameters).toBe(71 + 72 + 40);
    expect(formatSummary(summary).split("\n")).toEqual([
      "block                      output shape         parameters",
      "-".repeat(58),
      "input (InputBlock)         [batch, seqLen, 11]          71",
      "meanPooling (MeanPooling)  [batch, 11]                   0",
      "mlp (MLP)                  [batch, 6]                   72",
      "head (tied output head)    [batch, 12]                  40",
      "-".repeat(58),
      "total parameters: 183",
    ]);
    head.dispose();
    disposeVariables(model.variables);
  });

  it("LSTM and GRU: gate weights, recurrent weights and biases", () => {
    const lstm = createRnnModel(toySchema, { inputs, cell: "lstm", units: 5, mlp: [] });
    expect(summarizeModel(lstm).rows).toEqual([
      { block: "input (InputBlock)", outputShape: ["batch", "seqLen", 11], parameters: 71 },
      { block: "lstm (LSTM)", outputShape: ["batch", "seqLen", 5], parameters: 11 * 20 + 5 * 20 + 20 },
      { block: "mlp (MLP)", outputShape: ["batch", "seqLen", 5], parameters: 0 },
    ]);
    const gru = createRnnModel(toySchema, { inputs, cell: "gru", units: 5, mlp: [] });
    expect(summarizeModel(gru).rows[1]).toEqual({
      block: "gru (GRU)",
      outputShape: ["batch", "seqLen", 5],
      parameters: 11 * 15 + 5 * 15 + 15 + 15,
    });
    disposeVariables(lstm.variables);
    disposeVariables(gru.variables);
  });

  it("Transformer: projection, positions, one block, final norm; a head tied at the same width owns its bias only", () => {
    const model = createTransformerModel(toySchema, { inputs, dModel: 4, heads: 2, layers: 1, ffnDim: 8, mlp: [] });
    const head = createHeadFor(model);
    const summary = summarizeModel(model, head);
    expect(summary.rows).toEqual([
      { block: "input (InputBlock)", outputShape: ["batch", "seqLen", 4], parameters: 71 + 11 * 4 + 4 },
      { block: "transformer.position (PositionEmbedding)", outputShape: ["batch", "seqLen", 4], parameters: 5 * 4 },
      // 2 layer norms (4 + 4 each), query/key/value/output (4×4 + 4 each), FFN 4 → 8 → 4.
      {
        block: "transformer.block0 (TransformerBlock, causal)",
        outputShape: ["batch", "seqLen", 4],
        parameters: 2 * 8 + 4 * 20 + (4 * 8 + 8) + (8 * 4 + 4),
      },
      { block: "transformer.finalNorm (LayerNorm)", outputShape: ["batch", "seqLen", 4], parameters: 8 },
      { block: "mlp (MLP)", outputShape: ["batch", "seqLen", 4], parameters: 0 },
      { block: "head (tied output head)", outputShape: ["batch", "seqLen", 12], parameters: 12 },
    ]);
    expect(summary.totalParameters).toBe(119 + 20 + 172 + 8 + 12);
    head.dispose();
    disposeVariables(model.variables);
  });
});
