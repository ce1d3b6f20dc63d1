// The WebGPU path against the cpu backend: for every model, the training loss and the gradient of every variable
// computed on WebGPU must match the same computation on cpu from the same weights and batch (the fused GRU/LSTM
// scan, the catalogue softmax cross-entropy, the sampled losses and the attention masks included). Needs a WebGPU
// adapter; a software one (Mesa's lavapipe, which .ci/run installs) is enough. Without one the file is skipped.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { isBackendAvailable, startBackend } from "../lib/compute/index";
import { GRU4REC_PROTOCOL, SASREC_PROTOCOL, headlineMetrics, runModelOn } from "../lib/evaluate";
import type { SessionTable } from "../lib/data/index";
import {
  createHeadFor,
  createModel,
  createTargetScheme,
  disposeModel,
  type ModelConfigs,
  type ModelKind,
} from "../lib/models/index";
import type { OutputHeadConfig } from "../lib/models/index";
import { Random } from "../lib/util/index";
import { trainingLoss } from "../lib/train/index";
import { tableOf } from "./helpers/tables-fixtures";
import { toyBatch, toySchema } from "./helpers/models-fixtures";

const available = isBackendAvailable("webgpu", true);
if (!available)
  console.log("backend-webgpu: SKIPPED: no WebGPU adapter here (install mesa-vulkan-drivers for lavapipe)");

beforeAll(async () => {
  if (available) await startBackend("webgpu");
}, 60_000);

const CARDINALITY = 30;
const schema = {
  ...toySchema,
  maxLength: 6,
  columns: toySchema.columns.map((c) => (c.kind === "item" ? { ...c, cardinality: CARDINALITY } : c)),
};
const SESSIONS = [
  { items: [2, 5, 7, 9, 11, 3], country: 1, age: 0.2 },
  { items: [4, 4, 8], country: 2, age: 0.7 },
  { items: [12, 29, 6, 6, 20], country: 3, age: 0.1 },
  { items: [17, 1, 23, 2], country: 1, age: 0.9 },
];

const small = { itemDim: 8, embeddingDims: { category_list: 3, country: 2 } };
const CONFIGS: { [K in ModelKind]: ModelConfigs[K] } = {
  mlp: { inputs: small, layers: [16], dropout: 0 },
  gru: { inputs: small, units: 12, mlp: [], dropout: 0 },
  lstm: { inputs: small, units: 12, mlp: [8], dropout: 0 },
  transformer: { inputs: small, dModel: 8, heads: 2, layers: 2, ffnDim: 16, dropout: 0, mlp: [] },
  // With GCE-GNN's item graph (read from SESSIONS below): the block's gathers and attention on the device too.
  core: { inputs: small, heads: 2, layers: 1, ffnDim: 16, dropout: 0, inputDropout: 0, globalNeighbours: {} },
  srgnn: { inputs: small },
};

/** Loss and gradients (by variable name) of one training step on the current backend, read back to the host. */
async function lossAndGradients(kind: ModelKind, headConfig: OutputHeadConfig) {
  const model = createModel(kind, CONFIGS[kind] as never, schema);
  const head = createHeadFor(model, headConfig);
  model.fitSessions?.(SESSIONS.map((s) => Int32Array.from(s.items)));
  const batch = toyBatch(SESSIONS, 6);
  const scheme = createTargetScheme(model.output === "pooled" ? "last" : "next");
  // Our names; a tied head's table appears once; buffers (the item graph) have no gradient.
  const named = Object.fromEntries(
    Object.entries({ ...model.variables, ...head.variables }).filter(([, v]) => v.trainable),
  );
  const variables = [...new Set(Object.values(named))];
  const { value, grads } = tf.variableGrads(() => trainingLoss(model, head, scheme, batch), variables);
  // `data()`, not `dataSync()`: in Node the WebGPU backend cannot read back synchronously.
  const entries = Object.entries(named).filter(([, v]) => grads[v.name] !== undefined);
  const values = await Promise.all(entries.map(([, v]) => grads[v.name].data()));
  const result = {
    loss: (await value.data())[0],
    grads: Object.fromEntries(entries.map(([name], i) => [name, Array.from(values[i])])),
  };
  tf.dispose([value, ...Object.values(grads), batch as unknown as tf.TensorContainer, ...variables]);
  head.dispose();
  return result;
}

async function onBackend<T>(name: string, f: () => Promise<T>): Promise<T> {
  await tf.setBackend(name);
  return f();
}

const HEADS: [string, OutputHeadConfig][] = [
  ["full softmax", { temperature: 0.5 }],
  [
    "sampled softmax",
    {
      sampled: {
        negatives: "popularity",
        numNegatives: 7,
        itemProbabilities: Array.from({ length: CARDINALITY }, (_, i) => (i < 2 ? 0 : 1 + (i % 4))),
      },
    },
  ],
  [
    "bce",
    {
      sampled: {
        negatives: "popularity",
        loss: "bce",
        numNegatives: 2,
        itemProbabilities: Array.from({ length: CARDINALITY }, (_, i) => (i < 2 ? 0 : 1)),
      },
    },
  ],
];

describe.skipIf(!available)("webgpu matches cpu", () => {
  const cases = (Object.keys(CONFIGS) as ModelKind[]).flatMap((kind) =>
    HEADS.map(([label, head]) => [kind, label, head] as const),
  );
  it.each(cases)(
    "%s with the %s head: loss and every gradient",
    async (kind, _label, headConfig) => {
      // Model weights and the negative sampler are seeded on the host, so both backends see the same numbers.
      const gpu = await onBackend("webgpu", () => lossAndGradients(kind, headConfig));
      const cpu = await onBackend("cpu", () => lossAndGradients(kind, headConfig));
      await tf.setBackend("webgpu");
      expect(Number.isFinite(gpu.loss)).toBe(true);
      expect(gpu.loss).toBeCloseTo(cpu.loss, 4);
      expect(Object.keys(gpu.grads).sort()).toEqual(Object.keys(cpu.grads).sort());
      for (const [name, expected] of Object.entries(cpu.grads)) {
        const scale = Math.max(1e-3, ...expected.map(Math.abs));
        const worst = Math.max(...gpu.grads[name].map((g, i) => Math.abs(g - expected[i])));
        expect({ name, relativeError: worst / scale < 1e-3 }).toEqual({ name, relativeError: true });
      }
    },
    120_000,
  );
});

/** 40 right-padded sessions over items 2..29 with a learnable pattern: each item is mostly followed by item + 1. */
function patternTable(): SessionTable {
  const rng = new Random(7);
  const sessions = Array.from({ length: 40 }, () => {
    const items = [rng.int(2, CARDINALITY)];
    while (items.length < rng.int(3, 7))
      items.push(
        rng.bernoulli(0.8) ? 2 + ((items[items.length - 1] - 1) % (CARDINALITY - 2)) : rng.int(2, CARDINALITY),
      );
    return items;
  });
  return tableOf(sessions, CARDINALITY);
}

describe.skipIf(!available)("fit and both protocols on webgpu", () => {
  it.each([GRU4REC_PROTOCOL, { ...SASREC_PROTOCOL, negatives: 10 }])(
    "a GRU trained and scored under protocol $name gives cpu's metrics",
    async (protocol) => {
      const table = patternTable();
      const config = {
        kind: "gru" as const,
        model: { units: 16, inputs: { itemDim: 8 }, mlp: [], dropout: 0 },
        epochs: 3,
        batchSize: 8,
        curve: false,
        progress: "none" as const,
      };
      const scored = async (backend: string) => {
        await tf.setBackend(backend);
        const run = await runModelOn(config, { train: table, test: table }, protocol);
        disposeModel(run);
        return run.metrics;
      };
      const gpu = await scored("webgpu");
      const cpu = await scored("cpu");
      await tf.setBackend("webgpu");
      const [, headline] = headlineMetrics(protocol);
      expect(gpu[headline]).toBeGreaterThan(0.2); // it learned the pattern
      for (const [name, value] of Object.entries(cpu))
        expect({ name, value: gpu[name] }).toEqual({ name, value: expect.closeTo(value, 6) });
    },
    300_000,
  );
});
