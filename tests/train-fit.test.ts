import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { disposeBatch, SessionLoader, type SessionTable } from "../lib/data/loader";
import type { NextItemModel, OutputHead, SessionBatch, TargetScheme } from "../lib/models/types";
import { createHeadFor, createModel, createTargetScheme } from "../lib/models/index";
import { Random } from "../lib/util/random";
import type { DatasetSchema } from "../lib/data/schema";
import { fit, type FitConfig } from "../lib/train/fit";
import { clipByGlobalNorm, trainableVariables, trainingLoss } from "../lib/train/step";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

// ---------------------------------------------------------------------------------------------------------------
// Test-local fakes: sessions that follow a fixed route, a mean-pooled embedding model, a full-softmax head and a
// predict-last scheme.

const NUM_ITEMS = 12; // ids 2..11 are real items
const MAX_LENGTH = 4;
const DIM = 8;

const SCHEMA = {
  version: 1,
  sessionId: "session_id",
  item: "item_id_list",
  maxLength: MAX_LENGTH,
  columns: [
    {
      name: "item_id_list",
      kind: "item",
      list: true,
      dtype: "int32",
      cardinality: NUM_ITEMS,
      maxLength: MAX_LENGTH,
      vocabulary: "item_id",
    },
  ],
} as DatasetSchema;

/** Sessions of 2..4 items where each item is followed by (item − 2 + 3) mod 10 + 2: the last item is predictable. */
function routeSessions(numSessions: number): SessionTable {
  const rng = new Random(7);
  const lengths = new Int32Array(numSessions);
  const items = new Int32Array(numSessions * MAX_LENGTH);
  for (let s = 0; s < numSessions; s++) {
    lengths[s] = rng.int(2, MAX_LENGTH + 1);
    let item = rng.int(2, NUM_ITEMS);
    for (let t = 0; t < lengths[s]; t++) {
      items[s * MAX_LENGTH + t] = item;
      item = ((item - 2 + 3) % 10) + 2;
    }
  }
  return {
    schema: SCHEMA,
    numSessions,
    maxLength: MAX_LENGTH,
    lengths,
    items,
    categorical: {},
    continuous: {},
    context: {},
  };
}

interface FakeModel extends NextItemModel {
  readonly embedding: tf.Variable;
  readonly unused: tf.Variable;
}

/** Mean of the item embeddings of the real events: [batch, dim]. Holds a variable the loss never touches. */
function meanPoolModel(seed: number): FakeModel {
  const embedding = tf.variable(tf.randomNormal([NUM_ITEMS, DIM], 0, 0.1, "float32", seed));
  const unused = tf.variable(tf.ones([3]));
  return {
    name: "mean-pool",
    output: "pooled",
    dim: DIM,
    embedding,
    unused,
    variables: { embedding, unused },
    encode(batch: SessionBatch): tf.Tensor {
      return tf.tidy(() => {
        const vectors = tf.mul(tf.gather(embedding, batch.items), tf.expandDims(batch.mask, 2)); // [batch, seqLen, dim]
        const counts = tf.maximum(tf.sum(batch.mask, 1, true), 1); // [batch, 1]
        return tf.div(tf.sum(vectors, 1), counts); // [batch, dim]
      });
    },
  };
}

function softmaxHead(seed: number): OutputHead & { weights: tf.Variable } {
  const weights = tf.variable(tf.randomNormal([DIM, NUM_ITEMS], 0, 0.1, "float32", seed)); // [dim, nItems]
  const bias = tf.variable(tf.zeros([NUM_ITEMS])); // [nItems]
  const logits = (hidden: tf.Tensor2D): tf.Tensor2D => tf.add(tf.matMul(hidden, weights), bias);
  return {
    weights,
    variables: { weights, bias },
    logits,
    loss: (hidden, targets) =>
      tf.losses.softmaxCrossEntropy(tf.oneHot(targets, NUM_ITEMS), logits(hidden)) as tf.Scalar,
  };
}

/** The session without its last event as input; that item as the target, at position 0. */
const predictLastItem: TargetScheme = (batch) => {
  const [, seqLen] = batch.items.shape;
  const lastPosition = tf.sub(batch.lengths, tf.scalar(1, "int32")); // int32 [batch]
  const isLast = tf.oneHot(lastPosition, seqLen); // int32 [batch, seqLen]
  const lastItem = tf.sum(tf.mul(batch.items, isLast), 1, true); // [batch, 1]
  const keep = tf.mul(batch.mask, tf.sub(1, tf.cast(isLast, "float32"))); // [batch, seqLen]
  const targets = tf.concat([lastItem, tf.zeros([batch.size, seqLen - 1], "int32")], 1) as tf.Tensor2D;
  const inputs = {
    ...batch,
    items: tf.mul(batch.items, tf.cast(keep, "int32")),
    mask: keep,
    lengths: lastPosition,
  } as SessionBatch;
  return { inputs, targets };
};

const BASE: FitConfig = { scheme: predictLastItem, batchSize: 16, schedule: { learningRate: 0.05 }, progress: "none" };

function disposeAll(model: FakeModel, head: OutputHead): void {
  tf.dispose([...Object.values(model.variables), ...Object.values(head.variables)]);
}

// ---------------------------------------------------------------------------------------------------------------

describe("fit", () => {
  const loader = new SessionLoader(routeSessions(60)); // 4 batches of 16, the last of 12

  it("lowers the training loss and leaks no tensors", async () => {
    const model = meanPoolModel(1);
    const head = softmaxHead(2);
    const before = tf.memory().numTensors;
    const result = await fit(model, head, loader, { ...BASE, epochs: 12 });
    expect(tf.memory().numTensors).toBe(before);
    const losses = result.history.map((r) => r.loss);
    expect(losses[0]).toBeGreaterThan(2); // ≈ ln 12 at random initialisation
    expect(losses[11]).toBeLessThan(0.5 * losses[0]);
    expect(result.steps).toBe(12 * 4);
    expect(result.history[0].sequencesPerSecond).toBeGreaterThan(0);
    // The variable outside the loss got zero gradients: Adam leaves it exactly as it was.
    expect(Array.from(model.unused.dataSync())).toEqual([1, 1, 1]);
    disposeAll(model, head);
  });

  it("repeats the same losses under the same seed and differs under another", async () => {
    const run = async (seed: number): Promise<number[]> => {
      const model = meanPoolModel(1);
      const head = softmaxHead(2);
      const { history } = await fit(model, head, loader, { ...BASE, epochs: 3, seed, clipNorm: 1 });
      disposeAll(model, head);
      return history.map((r) => r.loss);
    };
    const first = await run(5);
    expect(await run(5)).toEqual(first);
    expect(await run(6)).not.toEqual(first);
  });

  it("sets the scheduled learning rate before each step", async () => {
    // Adam's first update is lr · m̂/(√v̂ + ε) = ±lr for every weight with a non-zero gradient (ε made negligible):
    // with a 4-step warm-up the first step must move each such weight by 0.1 / 4.
    const model = meanPoolModel(1);
    const head = softmaxHead(2);
    const start = head.weights.dataSync().slice();
    const one = new SessionLoader(routeSessions(16));
    await fit(model, head, one, { ...BASE, schedule: { learningRate: 0.1, warmupSteps: 4 }, adam: { epsilon: 1e-12 } });
    const moved = head.weights.dataSync().map((w, i) => Math.abs(w - start[i]));
    for (const delta of moved) expect(delta).toBeCloseTo(0.025, 5);
    disposeAll(model, head);
  });

  it("stops after `patience` epochs without improvement and restores the best weights", async () => {
    const recall = [0.1, 0.5, 0.3, 0.45, 0.9, 0.9];
    const train = async (restoreBest: boolean) => {
      const model = meanPoolModel(1);
      const head = softmaxHead(2);
      const snapshots: Float32Array[] = [];
      let calls = 0;
      const result = await fit(model, head, loader, {
        ...BASE,
        epochs: 6,
        evaluate: async () => ({ "recall@10": recall[calls++] }),
        earlyStopping: { metric: "recall@10", patience: 2 },
        restoreBest,
        onEpochEnd: async () => {
          snapshots.push((await model.embedding.data()).slice() as Float32Array);
        },
      });
      const final = model.embedding.dataSync().slice();
      disposeAll(model, head);
      return { result, snapshots, final };
    };

    const { result, snapshots, final } = await train(true);
    expect(result.history.map((r) => r.metrics["recall@10"])).toEqual([0.1, 0.5, 0.3, 0.45]);
    expect(result.stoppedEarly).toBe(true);
    expect(result.bestEpoch).toBe(2);
    expect(Array.from(final)).toEqual(Array.from(snapshots[1]));
    expect(Array.from(final)).not.toEqual(Array.from(snapshots[3]));

    const kept = await train(false);
    expect(Array.from(kept.final)).toEqual(Array.from(kept.snapshots[3]));
  });

  it("stops after `stopAfter` epochs of the longer schedule: the same weights and rates as those epochs of the whole run", async () => {
    // Cosine decay over 3 epochs of 4 steps: after epoch 1 the rate is that schedule's at step 3, not a 1-epoch one's.
    const config = { ...BASE, epochs: 3, schedule: { learningRate: 0.05, decay: "cosine" as const } };
    const whole = { model: meanPoolModel(1), head: softmaxHead(2) };
    const afterFirst: Float32Array[] = [];
    const full = await fit(whole.model, whole.head, loader, {
      ...config,
      onEpochEnd: (record) => {
        if (record.epoch === 1) afterFirst.push(whole.model.embedding.dataSync() as Float32Array);
      },
    });
    const part = { model: meanPoolModel(1), head: softmaxHead(2) };
    const stopped = await fit(part.model, part.head, loader, { ...config, stopAfter: 1 });
    expect(stopped.history.length).toBe(1);
    expect(stopped.steps).toBe(4);
    expect(stopped.history[0].learningRate).toBe(full.history[0].learningRate);
    expect(stopped.history[0].learningRate).toBeCloseTo(0.025 * (1 + Math.cos((Math.PI * 3) / 12)), 10);
    expect(stopped.history[0].loss).toBe(full.history[0].loss);
    expect(part.model.embedding.dataSync()).toEqual(afterFirst[0]);
    expect(part.model.embedding.dataSync()).not.toEqual(whole.model.embedding.dataSync());
    for (const fitted of [whole, part]) disposeAll(fitted.model, fitted.head);
    for (const stopAfter of [0, 4, 1.5]) {
      const model = meanPoolModel(1);
      const head = softmaxHead(2);
      await expect(fit(model, head, loader, { ...config, stopAfter })).rejects.toThrow(
        `fit: stopAfter must be an integer in [1, epochs = 3], got ${stopAfter}`,
      );
      disposeAll(model, head);
    }
  });

  it("gives the same loss and gradients with a batch computed in groups of similar length (lengthGroups)", async () => {
    const table = routeSessions(40);
    const model = createModel(
      "transformer",
      { dModel: 8, heads: 2, layers: 1, ffnDim: 8, dropout: 0, mlp: [] },
      SCHEMA,
    );
    const head = createHeadFor(model, {});
    const scheme = createTargetScheme("next");
    const variables = trainableVariables(model, head);
    const batch = new SessionLoader(table).batch(Array.from({ length: 40 }, (_, i) => i));
    const lossAndGradients = (lengthGroups: number) =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => trainingLoss(model, head, scheme, batch, lengthGroups),
          variables,
        );
        return {
          loss: value.dataSync()[0],
          gradients: variables.map((v) => Array.from(grads[v.name].dataSync())).flat(),
        };
      });
    const whole = lossAndGradients(1);
    for (const groups of [3, 40]) {
      const grouped = lossAndGradients(groups);
      expect(grouped.loss).toBeCloseTo(whole.loss, 5);
      grouped.gradients.forEach((g, i) => expect(g).toBeCloseTo(whole.gradients[i], 5));
    }
    expect(Math.max(...whole.gradients.map(Math.abs))).toBeGreaterThan(1e-3); // not trivially equal

    // fit passes it on: the same epoch losses.
    const train = async (lengthGroups: number) =>
      (
        await fit(model, head, new SessionLoader(table), {
          ...BASE,
          scheme,
          epochs: 1,
          lengthGroups,
          schedule: { learningRate: 1e-9 },
        })
      ).history[0].loss;
    expect(await train(3)).toBeCloseTo(await train(1), 5);
    disposeBatch(batch);
    tf.dispose([...Object.values(model.variables), ...Object.values(head.variables)]);
  });

  it("decays every matrix by 1 − rate × weightDecay per step, not vectors (weightDecay)", async () => {
    const model = meanPoolModel(3);
    const untouched = tf.variable(tf.ones([2, 2])); // a matrix the loss never reaches: only the decay moves it
    const withMatrix = { ...model, variables: { ...model.variables, untouched } };
    const head = softmaxHead(4);
    // 60 sessions in batches of 16: 4 steps at rate 0.1, decay 0.5 → 0.95⁴.
    await fit(withMatrix, head, new SessionLoader(routeSessions(60)), {
      ...BASE,
      schedule: { learningRate: 0.1 },
      weightDecay: 0.5,
    });
    Array.from(untouched.dataSync()).forEach((v) => expect(v).toBeCloseTo(0.95 ** 4, 6));
    expect(Array.from(model.unused.dataSync())).toEqual([1, 1, 1]);
    await expect(
      fit(withMatrix, head, new SessionLoader(routeSessions(60)), { ...BASE, weightDecay: -1 }),
    ).rejects.toThrow("fit: weightDecay must be >= 0, got -1");
    untouched.dispose();
    disposeAll(model, head);
  });

  it("gives clear errors for bad configurations", async () => {
    const model = meanPoolModel(1);
    const head = softmaxHead(2);
    await expect(fit(model, head, loader, { ...BASE, earlyStopping: { metric: "mrr@10" } })).rejects.toThrow(
      'earlyStopping watches "mrr@10" but no evaluate callback was given',
    );
    await expect(
      fit(model, head, loader, {
        ...BASE,
        evaluate: async () => ({ "recall@10": 1 }),
        earlyStopping: { metric: "mrr@10" },
      }),
    ).rejects.toThrow('earlyStopping watches "mrr@10" but epoch 1 reported only: loss, recall@10');
    await expect(fit(model, head, loader, { ...BASE, batchSize: 100, dropLast: true })).rejects.toThrow(
      "no batches: 60 sessions",
    );
    await expect(fit(model, head, loader, { ...BASE, lengthGroups: 0 })).rejects.toThrow(
      "fit: lengthGroups must be an integer >= 1, got 0",
    );
    const nanHead: OutputHead = { ...head, loss: (hidden, targets) => tf.mul(head.loss(hidden, targets, true), NaN) };
    await expect(fit(model, nanHead, loader, BASE)).rejects.toThrow("training loss became NaN in epoch 1 by step 1");
    disposeAll(model, head);
  });
});

describe("clipByGlobalNorm", () => {
  it("scales every gradient by maxNorm / global norm when the norm is larger", () => {
    const grads = { a: tf.tensor1d([3]), b: tf.tensor2d([[0, 4]]) }; // global norm 5
    const clipped = clipByGlobalNorm(grads, 1);
    expect(Array.from(clipped.a.dataSync())[0]).toBeCloseTo(0.6, 6);
    expect(Array.from(clipped.b.dataSync())[1]).toBeCloseTo(0.8, 6);
    const untouched = clipByGlobalNorm(grads, 10);
    expect(Array.from(untouched.b.dataSync())).toEqual([0, 4]);
  });
});
