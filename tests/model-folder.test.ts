// Saved model folders: tiny GRU, MLP and Transformer models (and a masked-item Transformer, a GRU with the attention
// readout, CORE-trm and a pooled CORE-ave) trained for a few steps
// on the prepared booking fixture, saved, loaded back, and asked for recommendations on raw events. The reference
// is computed without the folder: the original in-memory model on sessions encoded by DuckDB
// (workflow.transformRecords) and batched by the loader, through the evaluation path of lib/evaluate.
import * as tf from "@tensorflow/tfjs";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../lib/data/database";
import type { RawSession } from "../lib/data/live";
import { prepareBooking, type PreparedBooking } from "../lib/data/recipes/booking";
import { SessionLoader, type SessionTable } from "../lib/data/loader";
import {
  liveBatch,
  loadModelFolder,
  saveModelFolder,
  type ModelFolderManifest,
  type RecommenderModel,
} from "../lib/model-folder/index";
import {
  type ItemOutputHead,
  type ModelKind,
  type SessionModel,
  createHeadFor,
  createModel,
  createTargetScheme,
  evaluationInputs,
  nextItemStates,
} from "../lib/models";
import type { SchemeKind } from "../lib/models/targets";
import type { DatasetSchema } from "../lib/data/schema";
import { fit } from "../lib/train/fit";

const FIXTURE = join(import.meta.dirname, "fixtures", "booking", "train_set.csv");
const K = 5;

interface Trained {
  name: string;
  model: SessionModel;
  head: ItemOutputHead;
  scheme: SchemeKind;
  folder: string;
  loaded: RecommenderModel;
  manifest: ModelFolderManifest;
}

const RUNS: { name: string; kind: ModelKind; config: object; scheme: SchemeKind }[] = [
  { name: "gru", kind: "gru", config: { inputs: { itemDim: 8 }, units: 8, mlp: [8] }, scheme: "next" },
  { name: "mlp", kind: "mlp", config: { inputs: { itemDim: 8 }, layers: [16] }, scheme: "last" },
  {
    name: "transformer",
    kind: "transformer",
    config: { inputs: { itemDim: 8 }, dModel: 8, heads: 2, layers: 1, mlp: [8] },
    scheme: "next",
  },
  {
    name: "bert4rec",
    kind: "transformer",
    config: { inputs: { itemDim: 8, maskToken: true }, dModel: 8, heads: 2, layers: 1, mlp: [], causal: false },
    scheme: "masked",
  },
  {
    name: "gru-attention",
    kind: "gru",
    config: { inputs: { itemDim: 8 }, units: 8, mlp: [], readout: "attention" },
    scheme: "next",
  },
  { name: "core", kind: "core", config: { inputs: { itemDim: 8 }, ffnDim: 16, layers: 1 }, scheme: "next" },
  {
    // Its item graph (buffers read from the training sessions) travels with the weights.
    name: "core-global",
    kind: "core",
    config: { inputs: { itemDim: 8 }, ffnDim: 16, layers: 1, globalNeighbours: { neighbours: 4 } },
    scheme: "next",
  },
  {
    name: "core-ave-pooled",
    kind: "core",
    config: { inputs: { itemDim: 8 }, weights: "uniform", output: "pooled" },
    scheme: "last",
  },
  { name: "srgnn", kind: "srgnn", config: { inputs: { itemDim: 8 }, steps: 2 }, scheme: "last" },
];

/** Raw events of the fixture's trips, by trip id (file order). */
function readTrips(): Map<string, Record<string, unknown>[]> {
  const [header, ...lines] = readFileSync(FIXTURE, "utf8").trim().split("\n");
  const names = header.split(",");
  const trips = new Map<string, Record<string, unknown>[]>();
  for (const line of lines) {
    const c = Object.fromEntries(line.split(",").map((cell, i) => [names[i], cell]));
    const event = {
      utrip_id: c.utrip_id,
      checkin: c.checkin,
      checkout: c.checkout,
      city_id: Number(c.city_id),
      booker_country: c.booker_country,
      hotel_country: c.hotel_country,
    };
    trips.set(c.utrip_id, [...(trips.get(c.utrip_id) ?? []), event]);
  }
  return trips;
}

/** Rows as DuckDB returns them → a SessionTable, the way lib/data/loader.ts lays out a Parquet split. */
function tableOf(rows: Record<string, unknown>[], schema: DatasetSchema): SessionTable {
  const n = rows.length;
  const len = schema.maxLength;
  const sequence = <A extends Int32Array | Float32Array>(name: string, out: A): A => {
    rows.forEach((row, r) => out.set(row[name] as number[], r * len));
    return out;
  };
  const table: SessionTable = {
    schema,
    numSessions: n,
    maxLength: len,
    lengths: Int32Array.from(rows, (row) => (row[schema.item] as number[]).length),
    items: sequence(schema.item, new Int32Array(n * len)),
    categorical: {},
    continuous: {},
    context: {},
  };
  for (const column of schema.columns) {
    if (column.kind === "count" || column.kind === "item") continue;
    if (!column.list)
      table.context[column.name] =
        column.dtype === "int32"
          ? Int32Array.from(rows, (row) => row[column.name] as number)
          : Float32Array.from(rows, (row) => row[column.name] as number);
    else if (column.kind === "categorical")
      table.categorical[column.name] = sequence(column.name, new Int32Array(n * len));
    else table.continuous[column.name] = sequence(column.name, new Float32Array(n * len));
  }
  return table;
}

/** The first `n` sessions of a table: enough to train for a few steps. */
function firstSessions(table: SessionTable, n: number): SessionTable {
  const cells = n * table.maxLength;
  const cut = <A extends Int32Array | Float32Array>(arrays: Record<string, A>, size: number): Record<string, A> =>
    Object.fromEntries(Object.entries(arrays).map(([name, a]) => [name, a.subarray(0, size) as A]));
  return {
    ...table,
    numSessions: n,
    lengths: table.lengths.subarray(0, n),
    items: table.items.subarray(0, cells),
    categorical: cut(table.categorical, cells),
    continuous: cut(table.continuous, cells),
    context: cut(table.context, n),
  };
}

let dir: string;
let prepared: PreparedBooking;
let db: Database;
const trained: Trained[] = [];
const trips = readTrips();
// Sessions to recommend for: every trip starting in 2017 (never trained on; some visit cities unknown to the
// model), one single booking, one trip longer than maxLength given newest first, one with an unknown country.
const tripList = [...trips.values()];
const sessions: RawSession[] = (
  [
    ...tripList.filter((events) => events.every((e) => (e.checkin as string) >= "2017-01-01")),
    [tripList[3][0]],
    [...tripList.reduce((a, b) => (b.length > a.length ? b : a))].reverse(),
    tripList[10].map((event) => ({ ...event, booker_country: "Narnia" })),
  ] as Record<string, unknown>[][]
).map((events, s) => events.map(({ utrip_id: _, ...event }) => ({ ...event, utrip_id: `s${s}` })));

beforeAll(async () => {
  await tf.setBackend("cpu");
  dir = mkdtempSync(join(tmpdir(), "sessionrec-model-folder-"));
  db = await Database.open({ threads: 1 });
  prepared = await prepareBooking({ input: FIXTURE, outDir: join(dir, "prepared") });
  const train = new SessionLoader(firstSessions((await SessionLoader.open(join(dir, "prepared"), "train")).table, 96));
  for (const run of RUNS) {
    const model = createModel(run.kind, run.config as never, prepared.schema);
    const head = createHeadFor(model);
    const scheme = createTargetScheme(run.scheme, { maskId: model.inputs.maskId });
    await fit(model, head, train, {
      scheme,
      epochs: 1,
      batchSize: 32,
      progress: "none",
      schedule: { learningRate: 0.01 },
    });
    const folder = join(dir, run.name);
    const manifest = await saveModelFolder(folder, {
      name: run.name,
      model,
      head,
      workflow: prepared.workflow,
      schema: prepared.schema,
      metrics: { "recall@10": 0.25 },
      scheme: run.scheme,
    });
    trained.push({
      name: run.name,
      model,
      head,
      scheme: run.scheme,
      folder,
      manifest,
      loaded: await loadModelFolder(folder),
    });
  }
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("saveModelFolder / loadModelFolder", () => {
  it("sessions for the checks include unknown cities, a single booking and a trip longer than maxLength", () => {
    const cities = new Set(prepared.workflow.vocabulary("city_id").values);
    expect(sessions.length).toBeGreaterThan(20);
    expect(sessions.some((events) => events.some((e) => !cities.has(e.city_id as number)))).toBe(true);
    expect(sessions.some((events) => events.length === 1)).toBe(true);
    expect(sessions.some((events) => events.length > prepared.schema.maxLength)).toBe(true);
  });

  for (const run of RUNS) {
    it(`${run.name}: recommendations of the loaded folder on raw events = top-k of the original model on DuckDB-encoded sessions, bit for bit`, async () => {
      const { model, head, scheme, loaded } = trained.find((t) => t.name === run.name) as Trained;
      // Reference: DuckDB encoding, the loader's batch, the original (never saved) model.
      const rows = await prepared.workflow.transformRecords(db, sessions.flat(), { filters: false });
      const ordered = sessions.map((_, s) => rows.find((row) => row.session_id === `s${s}`) as Record<string, unknown>);
      const batch = new SessionLoader(tableOf(ordered, prepared.schema)).batch(ordered.map((_, i) => i));
      const evaluation = evaluationInputs(batch, { kind: scheme, maskId: model.inputs.maskId });
      const states = nextItemStates(model, evaluation);
      const best = head.topK(states, K);
      const [scores, ids] = [await best.values.data(), await best.indices.data()];
      tf.dispose([
        batch as unknown as tf.TensorContainer,
        evaluation as unknown as tf.TensorContainer,
        states,
        best.values,
        best.indices,
      ]);

      const cities = prepared.workflow.vocabulary("city_id").values;
      const recommended = await loaded.recommendBatch(sessions, K);
      recommended.forEach((recommendation, s) => {
        expect(recommendation.scores, `session ${s}`).toEqual(Array.from(scores.subarray(s * K, (s + 1) * K)));
        expect(recommendation.items, `session ${s}`).toEqual(
          Array.from(ids.subarray(s * K, (s + 1) * K), (id) => cities[id - 2]),
        );
      });
      expect(await loaded.recommend(sessions[3], K)).toEqual(recommended[3]);
    });
  }

  it("writes the manifest, the weights and the workflow; the manifest says what was saved", () => {
    const gru = trained[0];
    expect(readdirSync(gru.folder).sort()).toEqual(["model.json", "weights.bin", "weights.json", "workflow"]);
    expect(readdirSync(join(gru.folder, "workflow", "vocabularies")).sort()).toEqual([
      "city_id.json",
      "country.json",
      "month_checkin.json",
      "weekday_checkin.json",
      "weekday_checkout.json",
    ]);
    expect(gru.loaded.manifest).toEqual(JSON.parse(readFileSync(join(gru.folder, "model.json"), "utf8")));
    expect(gru.manifest).toMatchObject({
      format: "sessionrec-model",
      version: 1,
      name: "gru",
      kind: "gru",
      schema: prepared.schema,
      metrics: { "recall@10": 0.25 },
      scheme: "next",
    });
    expect(gru.manifest.config).toEqual(gru.model.config);
    expect(gru.manifest.head).toEqual({ ...gru.head.config, sampled: null });
    expect(Math.abs(Date.parse(gru.manifest.trainedAt) - Date.now())).toBeLessThan(10 * 60_000);
    expect(readdirSync(dir).filter((name) => name.startsWith("."))).toEqual([]); // no temporary folder left
  });

  it("recommends known raw city ids only: k = the whole catalogue lists every known city once, best first", async () => {
    const { loaded } = trained[2];
    const cities = prepared.workflow.vocabulary("city_id").values;
    const { items, scores } = await loaded.recommend(sessions[0], cities.length);
    expect([...items].sort()).toEqual([...cities].sort());
    expect(scores.every((score, i) => i === 0 || score <= scores[i - 1])).toBe(true);
    expect(scores.every((score) => score > -1e8)).toBe(true); // padding and OOV (scored -1e9) never appear
  });

  it("a folder saved with a reminder bonus recommends the session's own known cities first", async () => {
    const { model, head } = trained[0];
    const folder = join(dir, "gru-reminders");
    head.setReminderBonus(1000);
    try {
      await saveModelFolder(folder, {
        name: "gru-reminders",
        model,
        head,
        workflow: prepared.workflow,
        schema: prepared.schema,
      });
    } finally {
      head.setReminderBonus(0);
    }
    const loaded = await loadModelFolder(folder);
    expect(loaded.manifest.head?.reminderBonus).toBe(1000);
    const known = new Set(prepared.workflow.vocabulary("city_id").values);
    const session = sessions.find(
      (events) => new Set(events.map((e) => e.city_id).filter((c) => known.has(c as number))).size >= 3,
    )!;
    const own = new Set(session.map((e) => e.city_id).filter((c) => known.has(c as number)));
    const { items } = await loaded.recommend(session, own.size + 2);
    expect(new Set(items.slice(0, own.size))).toEqual(own);
    expect(items.slice(own.size).some((c) => own.has(c))).toBe(false);
    loaded.dispose();
  });

  it("rejects a bad k, bad sessions, and use after dispose, without leaking tensors", async () => {
    const { loaded } = trained[0];
    const catalogue = prepared.workflow.vocabulary("city_id").values.length;
    const before = tf.memory().numTensors;
    await expect(loaded.recommend(sessions[0], catalogue + 1)).rejects.toThrow(
      `recommend: k = ${catalogue + 1} is more than the ${catalogue} items the model knows`,
    );
    await expect(loaded.recommend(sessions[0], 0)).rejects.toThrow("recommend: k must be an integer >= 1, got 0");
    await expect(loaded.recommend(sessions[0], 2.5)).rejects.toThrow("recommend: k must be an integer >= 1, got 2.5");
    await expect(loaded.recommend([], 3)).rejects.toThrow("live session 0: no events");
    await expect(
      loaded.recommendBatch([sessions[0], [{ ...sessions[0][0], checkout: "tomorrow" }]], 3),
    ).rejects.toThrow('live session 1, event 0, "checkout": cannot read "tomorrow" as DATE');
    expect(await loaded.recommendBatch([], 3)).toEqual([]);
    await loaded.recommendBatch(sessions.slice(0, 4), 3);
    expect(tf.memory().numTensors).toBe(before);

    const again = await loadModelFolder(trained[0].folder);
    again.dispose();
    await expect(again.recommend(sessions[0], 3)).rejects.toThrow('the model "gru" has been disposed');
  });

  it("names the folder or the file at fault when a folder is missing or corrupt", async () => {
    const broken = (name: string, damage: (folder: string) => void): string => {
      const folder = join(dir, `broken-${name}`);
      cpSync(trained[0].folder, folder, { recursive: true });
      damage(folder);
      return folder;
    };
    const missing = join(dir, "nothing");
    await expect(loadModelFolder(missing)).rejects.toThrow(`${missing}: no such folder`);
    const noWeights = broken("no-weights", (f) => rmSync(join(f, "weights.bin")));
    await expect(loadModelFolder(noWeights)).rejects.toThrow(`${join(noWeights, "weights.bin")}: not found`);
    const truncated = broken("truncated", (f) => truncateSync(join(f, "weights.bin"), 100));
    await expect(loadModelFolder(truncated)).rejects.toThrow(
      new RegExp(`^${join(truncated, "weights.bin")}: .*has 100 bytes but weights.json expects \\d+ \\(truncated`),
    );
    const wrongFormat = broken("format", (f) =>
      writeFileSync(join(f, "model.json"), JSON.stringify({ ...trained[0].manifest, format: "keras" })),
    );
    await expect(loadModelFolder(wrongFormat)).rejects.toThrow(
      `${join(wrongFormat, "model.json")}: expected "format": "sessionrec-model", got "keras"`,
    );
    const notJson = broken("not-json", (f) => writeFileSync(join(f, "model.json"), "{ model"));
    await expect(loadModelFolder(notJson)).rejects.toThrow(`${join(notJson, "model.json")}: not valid JSON`);
    const badKind = broken("kind", (f) =>
      writeFileSync(join(f, "model.json"), JSON.stringify({ ...trained[0].manifest, kind: "svm" })),
    );
    await expect(loadModelFolder(badKind)).rejects.toThrow(
      `${join(badKind, "model.json")}: "kind" must be a model kind (mlp, gru, lstm, transformer, core, srgnn) or a baseline (most-popular, successor-counts, v-sknn, vstan), got "svm"`,
    );
    const otherWeights = broken("other-weights", (f) =>
      ["weights.bin", "weights.json"].forEach((file) => cpSync(join(trained[1].folder, file), join(f, file))),
    );
    await expect(loadModelFolder(otherWeights)).rejects.toThrow(
      `${join(otherWeights, "weights.json")} does not fit the model of ${join(otherWeights, "model.json")}: assignWeights: no weight for variable`,
    );
    const noVocabulary = broken("vocabulary", (f) => rmSync(join(f, "workflow", "vocabularies", "country.json")));
    await expect(loadModelFolder(noVocabulary)).rejects.toThrow(
      `${join(noVocabulary, "workflow", "vocabularies", "country.json")}: not found`,
    );
    const otherSchema = broken("schema", (f) => {
      const schema = {
        ...prepared.schema,
        columns: prepared.schema.columns.map((c) => (c.name === "booker_country_list" ? { ...c, cardinality: 99 } : c)),
      };
      writeFileSync(join(f, "model.json"), JSON.stringify({ ...trained[0].manifest, schema }));
    });
    await expect(loadModelFolder(otherSchema)).rejects.toThrow(
      `column "booker_country_list" has cardinality 99 in the schema but ${prepared.workflow.vocabulary("country").values.length + 2} in the workflow's vocabulary "country"`,
    );
  });

  it("refuses to save a model with a schema it was not built for, writing nothing", async () => {
    const { model, head } = trained[0];
    const schema = {
      ...prepared.schema,
      columns: prepared.schema.columns.map((c) => (c.kind === "item" ? { ...c, cardinality: 5 } : c)),
    };
    const target = join(dir, "refused");
    await expect(
      saveModelFolder(target, { name: "gru", model, head, workflow: prepared.workflow, schema }),
    ).rejects.toThrow("the schema has 5 item ids but the model has");
    expect(existsSync(target)).toBe(false);
  });
});

describe("liveBatch", () => {
  it("pads to maxLength and keeps the last maxLength events of longer sessions", () => {
    const schema: DatasetSchema = {
      version: 1,
      sessionId: "session_id",
      item: "item_list",
      maxLength: 3,
      columns: [
        {
          name: "item_list",
          kind: "item",
          list: true,
          dtype: "int32",
          cardinality: 9,
          maxLength: 3,
          vocabulary: "item",
        },
        { name: "price_list", kind: "continuous", list: true, dtype: "float32", maxLength: 3 },
        { name: "n", kind: "count", list: false, dtype: "int32" },
        { name: "age", kind: "continuous", list: false, dtype: "float32" },
      ],
    };
    const batch = liveBatch(
      [
        { session_id: "a", item_list: [2, 3, 4, 5, 6], price_list: [0.5, 1, 1.5, 2, 2.5], n: 5, age: 0.25 },
        { session_id: "b", item_list: [7], price_list: [3], n: 1, age: -1 },
      ],
      schema,
    );
    expect(batch.items.arraySync()).toEqual([
      [4, 5, 6],
      [7, 0, 0],
    ]);
    expect(batch.continuous.price_list.arraySync()).toEqual([
      [1.5, 2, 2.5],
      [3, 0, 0],
    ]);
    expect(batch.mask.arraySync()).toEqual([
      [1, 1, 1],
      [1, 0, 0],
    ]);
    expect(Array.from(batch.lengths.dataSync())).toEqual([3, 1]);
    expect(Array.from(batch.context.age.dataSync())).toEqual([0.25, -1]);
    expect(batch.context.n).toBeUndefined();
    tf.dispose(batch as unknown as tf.TensorContainer);
    expect(() =>
      liveBatch([{ session_id: "c", item_list: [2, 3], price_list: [1, null], n: 2, age: 0 }], schema),
    ).toThrow('live session 0: column "price_list" has null at event 1');
  });
});
