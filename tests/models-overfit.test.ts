// Every model, trained with plain Adam on 20 sessions, must learn them by heart: Recall@1 = 1.0 on predicting each
// session's last item from the events before it. A bug anywhere between the inputs and the loss (a wrong gather, a
// mask hiding the signal, a gradient not reaching a table) shows up as a model that cannot get there.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createHeadFor, createModel, type ModelConfigs, type ModelKind } from "../lib/models/index";
import type { SessionModel } from "../lib/models/index";
import {
  type NamedTargetScheme,
  evaluationExample,
  nextItemStates,
  predictLast,
  selectTargets,
} from "../lib/models/index";
import type { SessionBatch } from "../lib/models/index";
import { Random } from "../lib/util/index";
import { toyBatch, toySchema } from "./helpers/models-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const SESSIONS = 20;
const SEQ_LEN = 6;
const CARDINALITY = 40;
const schema = {
  ...toySchema,
  maxLength: SEQ_LEN,
  columns: toySchema.columns.map((c) => (c.kind === "item" ? { ...c, cardinality: CARDINALITY } : c)),
};

/** 20 sessions of 2..6 random items whose histories (all but the last item) are pairwise different even as sets. */
function toySessions(): SessionBatch {
  const rng = new Random(2024);
  const sessions: number[][] = [];
  const seen = new Set<string>();
  while (sessions.length < SESSIONS) {
    const items = Array.from({ length: rng.int(2, SEQ_LEN + 1) }, () => rng.int(2, CARDINALITY));
    const key = items
      .slice(0, -1)
      .sort((a, b) => a - b)
      .join(",");
    if (seen.has(key)) continue;
    seen.add(key);
    sessions.push(items);
  }
  return toyBatch(
    sessions.map((items, i) => ({ items, country: 1 + (i % 3), age: (i % 5) / 5 })),
    SEQ_LEN,
  );
}

/** Share of sessions whose last item is the head's top-1 recommendation from the history before it. */
function recallAt1(
  model: SessionModel,
  head: ReturnType<typeof createHeadFor>,
  batch: SessionBatch,
  scheme: NamedTargetScheme,
): number {
  const evaluation = evaluationExample(batch, scheme);
  const states = nextItemStates(model, evaluation);
  const { values, indices } = head.topK(states, 1);
  const hits = tf.tidy(
    () => tf.sum(tf.cast(tf.equal(tf.squeeze(indices, [1]), evaluation.targets), "float32")).dataSync()[0],
  );
  tf.dispose([states, values, indices, evaluation as unknown as tf.TensorContainer]);
  return hits / batch.size;
}

/** Trains with Adam on predict-last until Recall@1 reaches 1 or `maxSteps` pass; returns the last Recall@1 and the steps taken. */
function overfit(model: SessionModel, maxSteps: number, learningRate: number) {
  const scheme = predictLast();
  const batch = toySessions();
  const head = createHeadFor(model);
  const optimizer = tf.train.adam(learningRate);
  const variables = [...Object.values(model.variables), ...Object.values(head.variables)];
  let recall = 0;
  let step = 0;
  while (step < maxSteps) {
    const example = scheme(batch);
    optimizer.minimize(
      () => {
        const { states, targets } = selectTargets(model, model.encode(example.inputs, true), example);
        const loss = head.loss(states, targets, true);
        return model.regularization ? tf.add(loss, model.regularization()) : loss;
      },
      false,
      variables,
    );
    tf.dispose(example as unknown as tf.TensorContainer);
    step++;
    if (step % 10 === 0 && (recall = recallAt1(model, head, batch, scheme)) === 1) break;
  }
  return { recall, step };
}

const small = { itemDim: 16, embeddingDims: { category_list: 3, country: 2 } };
const configs: { [K in Exclude<ModelKind, "core">]: ModelConfigs[K] } = {
  mlp: { inputs: small, layers: [64, 16] },
  gru: { inputs: small, units: 32, mlp: [16], l2: 1e-5 },
  lstm: { inputs: small, units: 32, mlp: [16] },
  transformer: { inputs: small, dModel: 16, heads: 2, layers: 1, dropout: 0, mlp: [16] },
  srgnn: { inputs: { itemDim: 16 } },
};
// Not CORE: its session vector is a convex combination of the session's own item embeddings, scored by cosine against
// the same table, so it cannot memorise an arbitrary next item (it reaches Recall@1 = 0.75 here); its training is
// checked in models-readout.test.ts (the loss falls).

describe("overfitting 20 sessions (predict-last)", () => {
  it.each(Object.keys(configs) as Exclude<ModelKind, "core">[])("%s reaches Recall@1 = 1", (kind) => {
    const model = createModel(kind, configs[kind], schema);
    const { recall, step } = overfit(model, 300, 0.01);
    console.log(`${kind}: Recall@1 = ${recall} after ${step} Adam steps`);
    expect({ kind, recall }).toEqual({ kind, recall: 1 });
  });
});
