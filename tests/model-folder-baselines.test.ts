// Baselines as model folders: most-popular, successor counts and V-SKNN fitted on a tiny prepared data set (the
// sequences recipe on a hand-written `user item` file), saved, loaded back with loadModelFolder, asked for
// recommendations on raw events, and served. Expected top-k lists are worked out by hand below; the loaded folders
// must also answer exactly what the fitted (never saved) baselines score.
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MostPopular, SessionKnn, SuccessorCounts, Vstan, type SavableBaseline } from "../lib/baselines";
import { prepareSequences, type PreparedSequences } from "../lib/data/recipes/sequences";
import { SessionLoader, sessionsOf } from "../lib/data/loader";
import { topKRow } from "../lib/metrics";
import { type RecommenderModel, loadModelFolder, modelFolderFiles, saveModelFolder } from "../lib/model-folder/index";
import { serveModelFolder } from "../lib/serve/load";

// Each user's last two items are their valid / test targets (item 17, never in train); the train rows are
//   user 1: 11 12 13    user 2: 12 13 14    user 3: 11 13 14 15    user 4: 14 15
// Occurrences in train: 13 and 14 three times, 11, 12, 15 twice. The vocabulary is fitted on the train rows, most
// frequent first, then by value: 13 → id 2, 14 → 3, 11 → 4, 12 → 5, 15 → 6 (ids 0 and 1: padding, OOV).
const PAIRS = [
  [1, [11, 12, 13, 17, 17]],
  [2, [12, 13, 14, 17, 17]],
  [3, [11, 13, 14, 15, 17, 17]],
  [4, [14, 15, 17, 17]],
] as const;

let dir: string;
let prepared: PreparedSequences;
let trainSessions: Int32Array[];
const fitted: Record<string, SavableBaseline> = {};
const folders: Record<string, string> = {};
const loaded: Record<string, RecommenderModel> = {};

/** A raw session of the prepared data's input: item ids, oldest first (the line number orders them). */
const events = (...items: number[]) => items.map((item, i) => ({ item, line: i + 1 }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sessionrec-baseline-folders-"));
  const input = join(dir, "pairs.txt");
  writeFileSync(input, PAIRS.flatMap(([user, items]) => items.map((item) => `${user} ${item}\n`)).join(""));
  prepared = await prepareSequences({ input, outDir: join(dir, "prepared") });
  trainSessions = sessionsOf((await SessionLoader.open(join(dir, "prepared"), "train")).table);
  const nItems = prepared.schema.columns.find((column) => column.kind === "item")?.cardinality as number;
  for (const baseline of [
    new MostPopular(nItems),
    new SuccessorCounts(nItems),
    new SessionKnn(nItems, { k: 3 }),
    new Vstan(nItems, { k: 3, lambdaSnh: null }),
  ]) {
    baseline.fit(trainSessions);
    fitted[baseline.name] = baseline;
    folders[baseline.name] = join(dir, baseline.name);
    await saveModelFolder(folders[baseline.name], {
      name: baseline.name,
      baseline,
      workflow: prepared.workflow,
      schema: prepared.schema,
      metrics: { "recall@10": 0.5 },
    });
    loaded[baseline.name] = await loadModelFolder(folders[baseline.name]);
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("a baseline saved as a model folder", () => {
  it("the tiny data set is the one worked out by hand", () => {
    expect(prepared.workflow.vocabulary("item").values).toEqual([13, 14, 11, 12, 15]);
    expect(trainSessions.map((session) => Array.from(session))).toEqual([
      [4, 5, 2],
      [5, 2, 3],
      [4, 2, 3, 6],
      [3, 6],
    ]);
  });

  it("has the layout of a neural folder; model.json names the baseline as its kind, with its config", () => {
    const manifest = JSON.parse(readFileSync(join(folders["v-sknn"], "model.json"), "utf8"));
    expect(manifest).toMatchObject({
      format: "sessionrec-model",
      version: 1,
      name: "v-sknn",
      kind: "v-sknn",
      config: { k: 3, sampleSize: 500, similarity: "cosine" },
      metrics: { "recall@10": 0.5 },
    });
    expect(manifest.head).toBeUndefined();
    expect(loaded["v-sknn"].manifest).toEqual(manifest);
    const weights = JSON.parse(readFileSync(join(folders["successor-counts"], "weights.json"), "utf8"));
    // 5 transitions from 4 rows: 11→12, 11→13, 12→13 (2), 13→14 (2), 14→15 (2).
    expect(
      weights.weights.map((w: { name: string; shape: number[]; dtype: string }) => [w.name, w.dtype, w.shape]),
    ).toEqual([
      ["start", "int32", [8]],
      ["successors", "int32", [5]],
      ["counts", "float32", [5]],
      ["popularityShare", "float32", [7]],
    ]);
  });

  it("most-popular: the most frequent training items for any session", async () => {
    expect(await loaded["most-popular"].recommend(events(15), 5)).toEqual({
      items: [13, 14, 11, 12, 15],
      scores: [3, 3, 2, 2, 2],
    });
  });

  it("successor counts: the items that followed the last one, then by popularity (occurrences / (3 + 1))", async () => {
    // After 12: 13 twice (2 + 0.75); the rest by popularity share: 14 0.75, 11 0.5 (lower id than 12 and 15).
    const after12 = await loaded["successor-counts"].recommend(events(11, 12), 3);
    expect(after12.items).toEqual([13, 14, 11]);
    after12.scores.forEach((score, i) => expect(score).toBeCloseTo([2.75, 0.75, 0.5][i], 6));
    // After 11: 13 (1 + 0.75), 12 (1 + 0.5).
    expect((await loaded["successor-counts"].recommend(events(11), 2)).items).toEqual([13, 12]);
  });

  it("V-SKNN: the items of the most similar training sessions", async () => {
    // Session 13, 14 weighs 13 by 1/2 and 14 by 1 (norm √1.25). Cosine similarities with the train rows:
    // {11,12,13} 0.5/(√1.25·√3) = 0.2582, {12,13,14} 1.5/(√1.25·√3) = 0.7746, {11,13,14,15} 1.5/(√1.25·2) = 0.6708,
    // {14,15} 1/(√1.25·√2) = 0.6325. k = 3 keeps the last three: 14 → 2.0779, 13 → 1.4454, 15 → 1.3033, 12 → 0.7746,
    // 11 → 0.6708.
    const { items, scores } = await loaded["v-sknn"].recommend(events(13, 14), 5);
    expect(items).toEqual([14, 13, 15, 12, 11]);
    scores.forEach((score, i) => expect(score).toBeCloseTo([2.0779, 1.4454, 1.3033, 0.7746, 0.6708][i], 4));
  });

  it("answers exactly what the fitted baseline scores, for every kind, unknown items and long sessions included", async () => {
    const values = prepared.workflow.vocabulary("item").values as number[];
    const idOf = (item: number) => (values.includes(item) ? values.indexOf(item) + 2 : 1);
    const sessions = [[11], [12, 13], [13, 14], [99, 11, 98], [15, 14, 13, 12, 11], [17]];
    for (const [name, baseline] of Object.entries(fitted)) {
      const results = await loaded[name].recommendBatch(
        sessions.map((items) => events(...items)),
        5,
      );
      sessions.forEach((items, s) => {
        const scores = baseline.score(Int32Array.from(items, idOf));
        const best = Array.from(topKRow(scores, 5));
        expect(results[s], `${name}, session ${s}`).toEqual({
          items: best.map((id) => values[id - 2]),
          scores: best.map((id) => scores[id]),
        });
      });
    }
  });

  it("refuses a bad k, an empty session and a bad value with the words a neural folder uses", async () => {
    const model = loaded["successor-counts"];
    await expect(model.recommend(events(11), 6)).rejects.toThrow(
      "recommend: k = 6 is more than the 5 items the model knows",
    );
    await expect(model.recommend(events(11), 0)).rejects.toThrow("recommend: k must be an integer >= 1, got 0");
    await expect(model.recommend([], 3)).rejects.toThrow("live session 0: no events");
    await expect(model.recommendBatch([events(11), [{ item: "eleven", line: 1 }]], 3)).rejects.toThrow(
      'live session 1, event 0, "item": cannot read "eleven" as BIGINT',
    );
    const again = await loadModelFolder(folders["most-popular"]);
    again.dispose();
    await expect(again.recommend(events(11), 3)).rejects.toThrow('the model "most-popular" has been disposed');
  });

  it("writes the same weights.json and weights.bin for the same fit", async () => {
    const again = new SessionKnn(fitted["v-sknn"].nItems, { k: 3 });
    again.fit(trainSessions);
    const copy = join(dir, "v-sknn-again");
    await saveModelFolder(copy, {
      name: "v-sknn",
      baseline: again,
      workflow: prepared.workflow,
      schema: prepared.schema,
    });
    for (const file of ["weights.json", "weights.bin"])
      expect(readFileSync(join(copy, file)).equals(readFileSync(join(folders["v-sknn"], file))), file).toBe(true);
  });

  it("refuses to save an unfitted baseline or one fitted on another catalogue, writing nothing", async () => {
    const target = join(dir, "refused");
    await expect(
      saveModelFolder(target, {
        name: "p",
        baseline: new MostPopular(7),
        workflow: prepared.workflow,
        schema: prepared.schema,
      }),
    ).rejects.toThrow(`saveModelFolder(${target}): MostPopular: call fit(sessions) first`);
    await expect(
      saveModelFolder(target, {
        name: "p",
        baseline: new MostPopular(9),
        workflow: prepared.workflow,
        schema: prepared.schema,
      }),
    ).rejects.toThrow("the schema has 7 item ids but the most-popular baseline has 9");
    expect(() => readFileSync(join(target, "model.json"))).toThrow();
  });

  it("refuses a corrupt folder at load, naming the file at fault", async () => {
    const broken = (name: string, from: string, damage: (folder: string) => void): string => {
      const folder = join(dir, `broken-${name}`);
      cpSync(folders[from], folder, { recursive: true });
      damage(folder);
      return folder;
    };
    const nan = broken("nan", "most-popular", (f) =>
      writeFileSync(join(f, "weights.bin"), Buffer.alloc(readFileSync(join(f, "weights.bin")).length, 0xff)),
    );
    await expect(loadModelFolder(nan)).rejects.toThrow(
      `${join(nan, "weights.bin")}: state array "counts" holds NaN at index 0 (expected a finite number >= 0): the file is corrupt`,
    );
    const truncated = broken("truncated", "v-sknn", (f) => truncateSync(join(f, "weights.bin"), 8));
    await expect(loadModelFolder(truncated)).rejects.toThrow(
      new RegExp(`^${join(truncated, "weights.bin")}: .*has 8 bytes but weights.json expects \\d+ \\(truncated`),
    );
    const outside = broken("outside", "v-sknn", (f) => {
      const bytes = readFileSync(join(f, "weights.bin"));
      bytes.writeInt32LE(7, bytes.length - 4); // the last session item: id 7 is beyond the catalogue (ids < 7)
      writeFileSync(join(f, "weights.bin"), bytes);
    });
    await expect(loadModelFolder(outside)).rejects.toThrow(
      `${join(outside, "weights.bin")}: state array "sessionItems" holds 7 at index 11, outside the known item ids 2..6: the file is corrupt`,
    );
    const other = broken("other", "most-popular", (f) =>
      ["weights.json", "weights.bin"].forEach((file) => cpSync(join(folders["v-sknn"], file), join(f, file))),
    );
    await expect(loadModelFolder(other)).rejects.toThrow(
      `${join(other, "weights.json")} does not fit the most-popular baseline of ${join(other, "model.json")}: no state array "counts" (the state has sessionStart, sessionItems)`,
    );
    const badConfig = broken("config", "v-sknn", (f) => {
      const manifest = JSON.parse(readFileSync(join(f, "model.json"), "utf8"));
      writeFileSync(join(f, "model.json"), JSON.stringify({ ...manifest, config: { ...manifest.config, k: 0 } }));
    });
    await expect(loadModelFolder(badConfig)).rejects.toThrow(
      `${join(badConfig, "model.json")}: cannot build the v-sknn baseline it describes: SessionKnn: k must be a positive integer, got 0`,
    );
    const badKind = broken("kind", "v-sknn", (f) => {
      const manifest = JSON.parse(readFileSync(join(f, "model.json"), "utf8"));
      writeFileSync(join(f, "model.json"), JSON.stringify({ ...manifest, kind: "item-knn" }));
    });
    await expect(loadModelFolder(badKind)).rejects.toThrow(
      `"kind" must be a model kind (mlp, gru, lstm, transformer, core, srgnn) or a baseline (most-popular, successor-counts, v-sknn, vstan), got "item-knn"`,
    );
  });
});

describe("a served baseline folder", () => {
  it("answers a request as the loaded folder does, names its kind in /v1/models and serves its files under /model/", async () => {
    const { app, model } = await serveModelFolder(folders["v-sknn"]);
    try {
      const session = events(13, 14);
      const response = await app.inject({ method: "POST", url: "/v1/recommend", payload: { session, k: 3 } });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        ...(await loaded["v-sknn"].recommend(session, 3)),
        model: "v-sknn",
        version: model.manifest.trainedAt,
      });
      expect(response.json().items).toEqual([14, 13, 15]);
      const bad = await app.inject({
        method: "POST",
        url: "/v1/recommend/batch",
        payload: { sessions: [session, [{ item: "x", line: 1 }]] },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toBe('sessions[1], event 0, "item": cannot read "x" as BIGINT (expected an integer)');
      const [described] = (await app.inject({ method: "GET", url: "/v1/models" })).json().models;
      expect(described).toMatchObject({
        name: "v-sknn",
        kind: "v-sknn",
        vocabularySize: 5,
        metrics: { "recall@10": 0.5 },
      });
      expect(await modelFolderFiles(folders["v-sknn"])).toEqual([
        "model.json",
        "weights.json",
        "weights.bin",
        "workflow/workflow.json",
        "workflow/vocabularies/item.json",
      ]);
      const bin = await app.inject({ method: "GET", url: "/model/weights.bin" });
      expect(bin.statusCode).toBe(200);
      expect(bin.rawPayload.equals(readFileSync(join(folders["v-sknn"], "weights.bin")))).toBe(true);
      writeFileSync(join(folders["v-sknn"], "state.txt"), "not part of the folder\n");
      expect((await app.inject({ method: "GET", url: "/model/state.txt" })).statusCode).toBe(404);
      rmSync(join(folders["v-sknn"], "state.txt"));
    } finally {
      await app.close();
      model.dispose();
    }
  });
});
