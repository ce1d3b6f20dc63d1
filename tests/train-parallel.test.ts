// Data-parallel training across worker threads (lib/train/parallel): real worker threads on the wasm backend, the
// project's own models and heads. Dropout is 0, so that one replica and two compute the same thing.
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../lib/compute/backend";
import { SessionLoader, disposeBatch, type SessionTable } from "../lib/data/loader";
import {
  createHeadFor,
  createModel,
  createTargetScheme,
  disposeModel,
  type ModelKind,
  type OutputHeadConfig,
} from "../lib/models/index";
import { Random } from "../lib/util/random";
import type { DatasetSchema } from "../lib/data/schema";
import * as tf from "@tensorflow/tfjs";
import { fit } from "../lib/train/fit";
import { trainableVariables, trainingLoss } from "../lib/train/step";
import { InProcessExchange } from "../lib/train/parallel/exchange";
import { PIECE_COST, splitShares, type ExampleRows } from "../lib/train/parallel/shares";
import { defaultWorkers, startDataParallel } from "../lib/train/parallel/trainer";

const ITEMS = 30;
const MAX_LENGTH = 6;

/** Items, a categorical and a continuous sequence column, a categorical (int32) and a continuous (float32) context. */
const SCHEMA = {
  version: 1,
  sessionId: "session_id",
  item: "item_list",
  maxLength: MAX_LENGTH,
  columns: [
    { name: "item_list", kind: "item", list: true, dtype: "int32", cardinality: ITEMS, maxLength: MAX_LENGTH },
    { name: "category_list", kind: "categorical", list: true, dtype: "int32", cardinality: 5, maxLength: MAX_LENGTH },
    { name: "price_list", kind: "continuous", list: true, dtype: "float32", maxLength: MAX_LENGTH },
    { name: "country", kind: "categorical", list: false, dtype: "int32", cardinality: 4 },
    { name: "age", kind: "continuous", list: false, dtype: "float32" },
  ],
} as unknown as DatasetSchema;

/** Sessions of 1..6 events following a route through the catalogue, with side features. */
function table(numSessions: number): SessionTable {
  const rng = new Random(11);
  const lengths = new Int32Array(numSessions);
  const items = new Int32Array(numSessions * MAX_LENGTH);
  const category = new Int32Array(numSessions * MAX_LENGTH);
  const price = new Float32Array(numSessions * MAX_LENGTH);
  const country = new Int32Array(numSessions);
  const age = new Float32Array(numSessions);
  for (let s = 0; s < numSessions; s++) {
    lengths[s] = rng.int(1, MAX_LENGTH + 1);
    let item = rng.int(2, ITEMS);
    for (let t = 0; t < lengths[s]; t++) {
      items[s * MAX_LENGTH + t] = item;
      category[s * MAX_LENGTH + t] = 2 + (item % 3);
      price[s * MAX_LENGTH + t] = item / ITEMS;
      item = ((item - 2 + 5) % (ITEMS - 2)) + 2;
    }
    country[s] = rng.int(2, 4);
    age[s] = rng.uniform(0, 1);
  }
  return {
    schema: SCHEMA,
    numSessions,
    maxLength: MAX_LENGTH,
    lengths,
    items,
    categorical: { category_list: category },
    continuous: { price_list: price },
    context: { country, age },
  };
}

const MODEL_CONFIGS: Record<Exclude<ModelKind, "lstm" | "core" | "srgnn">, object> = {
  mlp: { inputs: { itemDim: 8 }, layers: [16], seed: 3 },
  gru: { inputs: { itemDim: 8 }, units: 8, seed: 3 },
  transformer: { inputs: { itemDim: 8 }, dModel: 8, heads: 2, layers: 1, dropout: 0, seed: 3 },
};

const PROBABILITIES = Array.from({ length: ITEMS }, (_, i) => 1 + (i % 4));
const HEADS: Record<string, OutputHeadConfig> = {
  full: {},
  popularity: { sampled: { negatives: "popularity", numNegatives: 7, itemProbabilities: PROBABILITIES } },
  "in-batch": { sampled: { negatives: "in-batch", itemProbabilities: PROBABILITIES } },
  bce: { sampled: { negatives: "popularity", loss: "bce", numNegatives: 2, itemProbabilities: PROBABILITIES } },
};

/** Masked-item training needs a Transformer that attends both ways, with a MASK row in its item table. */
const MASKED = { causal: false, inputs: { itemDim: 8, maskToken: true } };

function build(kind: Exclude<ModelKind, "lstm" | "core" | "srgnn">, head: OutputHeadConfig = {}, masked = false) {
  const model = createModel(kind, { ...MODEL_CONFIGS[kind], ...(masked ? MASKED : {}) } as never, SCHEMA);
  return { model, head: createHeadFor(model, head) };
}

beforeAll(async () => {
  await initBackend({ backend: "wasm", quiet: true });
});

describe("gradient exchange", () => {
  it("gives every rank the sum of all contributions, in rank order", async () => {
    const exchange = new InProcessExchange(3, 2);
    const contribute = (rank: number, values: number[]) => {
      exchange.slot(rank).set(values);
      return exchange.allReduce(rank);
    };
    const sums = await Promise.all([contribute(2, [100, 0.5]), contribute(0, [1, 2]), contribute(1, [10, 20])]);
    for (const sum of sums) expect(Array.from(sum)).toEqual([111, 22.5]);
    expect(() => exchange.allReduce(3)).toThrow(/rank 3 outside/);
  });
});

describe("defaultWorkers", () => {
  it("reads SESSIONREC_WORKERS, 1 without it, and names the variable when it is not a count", () => {
    expect(defaultWorkers({})).toBe(1);
    expect(defaultWorkers({ SESSIONREC_WORKERS: "2" })).toBe(2);
    expect(() => defaultWorkers({ SESSIONREC_WORKERS: "two" })).toThrow(/SESSIONREC_WORKERS="two"/);
    expect(() => defaultWorkers({ SESSIONREC_WORKERS: "0" })).toThrow(/integer >= 1/);
  });
});

describe("splitShares", () => {
  const rows = (size: number, seqLen: number, targets: number[]): ExampleRows => ({
    size,
    seqLen,
    items: new Int32Array(size * seqLen),
    mask: new Float32Array(size * seqLen),
    lengths: new Int32Array(size),
    categorical: {},
    continuous: {},
    context: {},
    targets: Int32Array.from(targets),
  });

  it("splits rows in order so that the largest share's work (padded positions + PIECE_COST per piece) is least", () => {
    expect(PIECE_COST).toBe(96);
    // Group 1: 2 rows of padded length 2; group 2: 2 rows of 4 (no real lengths here). Splits after row 1, 2, 3, 4
    // give the largest share max(2 + 96, 2 + 8 + 2·96) = 202, max(4 + 96, 8 + 96) = 104, max(8 + 2·96, 4 + 96) = 200,
    // 12 + 2·96 = 204.
    const short = rows(2, 2, [5, 0, 6, 7]);
    const long = rows(2, 4, [8, 0, 0, 0, 9, 9, 9, 0]);
    const [first, second] = splitShares([short, long], 2);
    expect(first.pieces).toEqual([short]); // whole examples are passed as they are
    expect(first.targets).toBe(3);
    expect(second.pieces).toEqual([long]);
    expect(second.targets).toBe(4);
  });

  it("takes rows of another example only where that pays for the extra piece, and splits one example in halves", () => {
    // 60 rows of length 1, then 10 of length 10. By positions alone the halves would be 60 + 2 long rows | 8 long
    // rows (80 | 80); with a piece's cost that is max(80 + 2·96, 80 + 96) = 272, against 60 + 96 | 100 + 96 = 196.
    const short = rows(60, 1, new Array(60).fill(3));
    const long = rows(10, 10, new Array(100).fill(4));
    const shares = splitShares([short, long], 2);
    expect(shares.map((s) => s.pieces.map((p) => p.size))).toEqual([[60], [10]]);
    expect(shares.map((s) => s.targets)).toEqual([60, 100]);
    // One example of 8 rows: 4 and 4 rows (16 + 96 each), the slices copied with their targets.
    const [a, b] = splitShares(
      [
        rows(
          8,
          4,
          Array.from({ length: 32 }, (_, i) => (i % 4 === 0 ? i + 2 : 0)),
        ),
      ],
      2,
    );
    expect(a.pieces.map((p) => Array.from(p.targets.filter((t) => t > 0)))).toEqual([[2, 6, 10, 14]]);
    expect(b.pieces.map((p) => Array.from(p.targets.filter((t) => t > 0)))).toEqual([[18, 22, 26, 30]]);
  });

  it("counts a row's real length beside its padded length", () => {
    // 8 rows of padded length 4, real lengths 4, 4, 4, 1, 1, 1, 1, 1: works 8, 8, 8, 5, 5, 5, 5, 5. Three rows | five
    // (24 | 25); by padded positions alone four | four.
    const example = { ...rows(8, 4, new Array(32).fill(2)), lengths: Int32Array.from([4, 4, 4, 1, 1, 1, 1, 1]) };
    expect(splitShares([example], 2).map((s) => s.pieces[0].size)).toEqual([3, 5]);
  });

  it("finds the least largest share's work that any split into 2 or 3 runs has (exhaustive check on random batches)", () => {
    const rng = new Random(5);
    const workOf = (share: { pieces: ExampleRows[] }) =>
      share.pieces.reduce((sum, p) => sum + p.size * p.seqLen + p.lengths.reduce((a, b) => a + b, 0) + PIECE_COST, 0);
    for (let trial = 0; trial < 40; trial++) {
      const examples = Array.from({ length: 1 + Math.floor(rng.uniform() * 3) }, () => {
        const size = 1 + Math.floor(rng.uniform() * 6);
        const seqLen = 1 + Math.floor(rng.uniform() * 8);
        const lengths = Int32Array.from({ length: size }, () => 1 + Math.floor(rng.uniform() * seqLen));
        return { ...rows(size, seqLen, new Array(size * seqLen).fill(2)), lengths };
      });
      const flat = examples.flatMap((e, i) =>
        Array.from(e.lengths, (length) => ({ example: i, w: e.seqLen + length })),
      );
      const runWork = (i: number, j: number) =>
        j <= i
          ? 0
          : flat.slice(i, j).reduce((a, r) => a + r.w, 0) + PIECE_COST * (flat[j - 1].example - flat[i].example + 1);
      const n = flat.length;
      for (const count of [2, 3]) {
        let least = Infinity;
        for (let a = 1; a <= n; a++)
          for (let b = a; b <= (count === 3 ? n : a); b++)
            least = Math.min(
              least,
              Math.max(runWork(0, a), runWork(a, b), count === 3 ? runWork(b, n) : runWork(a, n)),
            );
        const shares = splitShares(examples, count);
        expect(Math.max(...shares.map(workOf))).toBe(least);
        expect(shares[0].pieces.length).toBeGreaterThan(0);
      }
    }
  });

  it("leaves later shares empty when there are fewer rows than replicas", () => {
    const shares = splitShares([rows(1, 3, [0, 4, 0])], 3);
    expect(shares.map((s) => s.pieces.length)).toEqual([1, 0, 0]);
    expect(shares.map((s) => s.targets)).toEqual([1, 0, 0]);
  });
});

describe("one worker", () => {
  it("is the plain loop of before: Adam on trainingLoss, bit for bit (dropout and sampled negatives included)", async () => {
    const loader = new SessionLoader(table(40));
    const config = { gru: { ...MODEL_CONFIGS.gru, dropout: 0.3 } };
    const trained = async (
      train: (model: ReturnType<typeof build>["model"], head: ReturnType<typeof build>["head"]) => Promise<void>,
    ) => {
      const model = createModel("gru", config.gru as never, SCHEMA);
      const head = createHeadFor(model, HEADS.popularity);
      try {
        await train(model, head);
        return trainableVariables(model, head).map((v) => Array.from(v.dataSync()));
      } finally {
        disposeModel({ model, head });
      }
    };
    const viaFit = await trained(async (model, head) => {
      await fit(model, head, loader, {
        scheme: createTargetScheme("next"),
        epochs: 2,
        batchSize: 16,
        seed: 5,
        schedule: { learningRate: 0.01 },
        lengthGroups: 2,
        progress: "none",
        workers: 1,
      });
    });
    const byHand = await trained(async (model, head) => {
      const variables = trainableVariables(model, head);
      const optimizer: tf.Optimizer = tf.train.adam(0.01);
      const scheme = createTargetScheme("next");
      const shuffles = new Random(5);
      for (let epoch = 1; epoch <= 2; epoch++) {
        for (const batch of loader.batches({ batchSize: 16, shuffleSeed: shuffles.fork(epoch).seed })) {
          tf.tidy(() => {
            const { grads } = tf.variableGrads(() => trainingLoss(model, head, scheme, batch, 2), variables);
            const complete: tf.NamedTensorMap = {};
            for (const v of variables) complete[v.name] = grads[v.name] ?? tf.zerosLike(v);
            optimizer.applyGradients(complete);
          });
          disposeBatch(batch);
        }
      }
      optimizer.dispose();
    });
    expect(viaFit).toEqual(byHand);
  });
});

describe("data-parallel replicas", () => {
  it("hold bit-identical weights after several steps (GRU, full softmax)", async () => {
    const { model, head } = build("gru");
    const loader = new SessionLoader(table(40));
    const variables = trainableVariables(model, head);
    const before = variables.map((v) => Float32Array.from(v.dataSync()));
    const trainer = await startDataParallel({
      model,
      head,
      loader,
      variables,
      workers: 2,
      scheme: createTargetScheme("next"),
      lengthGroups: 2,
      update: { clipNorm: 1, weightDecay: 0.01 },
      rate: 0.01,
    });
    try {
      for (let step = 0; step < 4; step++) {
        for (const batch of loader.batches({ batchSize: 16, shuffleSeed: step })) {
          try {
            expect(Number.isFinite(await trainer.step(batch, 0.01))).toBe(true);
          } finally {
            disposeBatch(batch);
          }
        }
      }
      const [worker] = await trainer.workerWeights();
      const main = variables.map((v) => v.dataSync() as Float32Array);
      expect(main.some((values, i) => values.some((x, j) => x !== before[i][j]))).toBe(true); // it trained
      main.forEach((values, i) =>
        expect(
          Buffer.from(worker[i].buffer).equals(Buffer.from(values.buffer, values.byteOffset, values.byteLength)),
        ).toBe(true),
      );
    } finally {
      await trainer.close();
      disposeModel({ model, head });
    }
  });

  const cases: [Exclude<ModelKind, "lstm" | "core" | "srgnn">, keyof typeof HEADS, "last" | "next" | "masked"][] = [
    ["mlp", "full", "last"],
    ["mlp", "in-batch", "last"],
    ["gru", "full", "next"],
    ["gru", "popularity", "next"],
    ["gru", "bce", "next"],
    ["transformer", "full", "next"],
    ["transformer", "popularity", "last"],
    ["transformer", "in-batch", "next"],
    ["transformer", "bce", "last"],
    ["transformer", "popularity", "masked"], // the masks are drawn once, on the main thread
  ];
  it.each(cases)("%s with the %s softmax (%s): 2 workers follow 1 worker's loss curve", async (kind, heads, scheme) => {
    // One step per epoch: the history is the loss of every step.
    const run = async (workers: number) => {
      const { model, head } = build(kind, HEADS[heads], scheme === "masked");
      try {
        const result = await fit(model, head, new SessionLoader(table(48)), {
          scheme: createTargetScheme(scheme, { maskId: model.inputs.maskId }),
          epochs: 6,
          batchSize: 48,
          schedule: { learningRate: 0.02 },
          lengthGroups: 3, // groups of unequal size: shares with unequal numbers of targets
          progress: "none",
          workers,
        });
        return {
          losses: result.history.map((r) => r.loss),
          weights: trainableVariables(model, head).map((v) => Array.from(v.dataSync())),
        };
      } finally {
        disposeModel({ model, head });
      }
    };
    const one = await run(1);
    const two = await run(2);
    expect(one.losses[5]).toBeLessThan(one.losses[0]); // it learns
    two.losses.forEach((loss, i) => expect(loss).toBeCloseTo(one.losses[i], 4));
    // Adam divides by √v: float noise in a near-zero gradient can move a weight by a visible fraction of one step
    // (0.02); 1e-3 is 5% of a step, far below what a wrongly weighted or misrouted share does (see the losses).
    two.weights.forEach((values, i) =>
      values.forEach((x, j) => expect(Math.abs(x - one.weights[i][j])).toBeLessThan(1e-3)),
    );
  });

  it("give the workers the model's buffers: CORE with GCE-GNN's item graph follows 1 worker's loss curve", async () => {
    // The graph is read from the sessions on the main thread; a worker without it would add no neighbours.
    const run = async (workers: number) => {
      const model = createModel(
        "core",
        { inputs: { itemDim: 8 }, heads: 2, layers: 1, dropout: 0, inputDropout: 0, globalNeighbours: {}, seed: 3 },
        SCHEMA,
      );
      const head = createHeadFor(model, {});
      try {
        const result = await fit(model, head, new SessionLoader(table(48)), {
          scheme: createTargetScheme("next"),
          epochs: 4,
          batchSize: 48,
          schedule: { learningRate: 0.02 },
          lengthGroups: 3,
          progress: "none",
          workers,
        });
        return result.history.map((r) => r.loss);
      } finally {
        disposeModel({ model, head });
      }
    };
    const one = await run(1);
    const two = await run(2);
    expect(one[3]).toBeLessThan(one[0]);
    two.forEach((loss, i) => expect(loss).toBeCloseTo(one[i], 4));
  });

  it("reports a worker's error instead of waiting for its gradient", async () => {
    const { model, head } = build("mlp");
    // 12 sessions of 2 events (one next-item target) and 4 of 5 (four): in 2 length groups the main thread's share
    // holds only short ones, which the pooling MLP can train on, and the worker's the long ones, which it cannot.
    const sessions = table(16);
    sessions.lengths.forEach((_, s) => {
      sessions.lengths[s] = s % 4 === 3 ? 5 : 2;
      for (let t = 0; t < MAX_LENGTH; t++)
        sessions.items[s * MAX_LENGTH + t] = t < sessions.lengths[s] ? 2 + ((s + t) % (ITEMS - 2)) : 0;
    });
    try {
      await expect(
        fit(model, head, new SessionLoader(sessions), {
          scheme: createTargetScheme("next"),
          batchSize: 16,
          lengthGroups: 2,
          progress: "none",
          workers: 2,
        }),
      ).rejects.toThrow(/training worker 1: selectTargets: pooled model .* train it with predictLast/);
    } finally {
      disposeModel({ model, head });
    }
  });

  it("refuses a model it cannot rebuild in a worker", async () => {
    const { model, head } = build("gru");
    // The same variables and encoder, but no kind or config to build a replica from.
    const bare = {
      name: "bare",
      output: model.output,
      dim: model.dim,
      variables: model.variables,
      encode: model.encode.bind(model),
    };
    try {
      await expect(
        fit(bare, head, new SessionLoader(table(8)), {
          scheme: createTargetScheme("next"),
          batchSize: 8,
          progress: "none",
          workers: 2,
        }),
      ).rejects.toThrow(/workers > 1 rebuilds the model .*: model "bare" was not made by createModel/);
    } finally {
      disposeModel({ model, head });
    }
  });
});
