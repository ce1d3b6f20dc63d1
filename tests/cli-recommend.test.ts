// `sessionrec recommend` through runCli, in process: a V-SKNN folder and an (untrained) GRU folder saved on a tiny
// prepared data set (the sequences recipe on a hand-written `user item` file), sessions given as arguments and as
// JSON on stdin, answers as a table and as JSON; bad input is one line on stderr and exit code 2. Also how item ids
// alone become events for other workflows (itemEventsFor).
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionKnn } from "../lib/baselines";
import { BOOKING_INPUT_COLUMNS, bookingWorkflow } from "../lib/data/recipes/booking";
import { prepareSequences } from "../lib/data/recipes/sequences";
import { SessionLoader, sessionsOf } from "../lib/data/loader";
import { loadModelFolder, saveModelFolder } from "../lib/model-folder/index";
import { createHeadFor, createModel, disposeModel } from "../lib/models";
import { runCliCaptured } from "./helpers/cli-capture";
import { itemEventsFor } from "../lib/cli/session-input";

// Train rows (each user's last two items are held out): 11 12 13 | 12 13 14 | 11 13 14 15 | 14 15, as in
// tests/model-folder-baselines.test.ts, whose V-SKNN (k = 3) scores after 13, 14 were worked out by hand:
// 14 → 2.0779, 13 → 1.4454, 15 → 1.3033, 12 → 0.7746, 11 → 0.6708.
const PAIRS =
  "1 11\n1 12\n1 13\n1 17\n1 17\n2 12\n2 13\n2 14\n2 17\n2 17\n3 11\n3 13\n3 14\n3 15\n3 17\n3 17\n4 14\n4 15\n4 17\n4 17\n";

let dir: string;
let knn: string;
let gru: string;

beforeAll(async () => {
  await tf.setBackend("cpu");
  process.env.SESSIONREC_BACKEND = "cpu";
  dir = mkdtempSync(join(tmpdir(), "sessionrec-cli-recommend-"));
  writeFileSync(join(dir, "pairs.txt"), PAIRS);
  const prepared = await prepareSequences({ input: join(dir, "pairs.txt"), outDir: join(dir, "prepared") });
  const baseline = new SessionKnn(7, { k: 3 });
  baseline.fit(sessionsOf((await SessionLoader.open(join(dir, "prepared"), "train")).table));
  knn = join(dir, "v-sknn");
  await saveModelFolder(knn, { name: "v-sknn", baseline, workflow: prepared.workflow, schema: prepared.schema });
  const model = createModel("gru", { inputs: { itemDim: 4 }, units: 4, mlp: [4] }, prepared.schema);
  const head = createHeadFor(model);
  gru = join(dir, "gru");
  await saveModelFolder(gru, { name: "gru", model, head, workflow: prepared.workflow, schema: prepared.schema });
  disposeModel({ model, head });
});

afterAll(() => {
  delete process.env.SESSIONREC_BACKEND;
  rmSync(dir, { recursive: true, force: true });
});

const cli = runCliCaptured;

/** Raw events of the prepared data's input: item ids, oldest first (the line number orders them). */
const events = (...items: number[]) => items.map((item, i) => ({ item, line: i + 1 }));

describe("sessionrec recommend", () => {
  it("prints the top k of a baseline folder for item ids given as arguments, as a table", async () => {
    const run = await cli(["recommend", knn, "13", "14", "--k", "3"]);
    expect(run).toEqual({
      code: 0,
      stderr: "",
      stdout: "rank  item    score\n   1  14    2.07787\n   2  13    1.44542\n   3  15    1.30328\n",
    });
  });

  it("prints JSON with --json: the folder's own answer, for a baseline and a neural folder", async () => {
    for (const folder of [knn, gru]) {
      const model = await loadModelFolder(folder);
      const expected = await model.recommend(events(11, 12), 4);
      model.dispose();
      const run = await cli(["recommend", folder, "11", "12", "-k", "4", "--json"]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual(expected);
    }
  });

  it("reads the session as JSON on stdin: item ids, events, the service's batch body or a list of sessions", async () => {
    const model = await loadModelFolder(gru);
    const [a, b] = await model.recommendBatch([events(13, 14), events(11)], 2);
    model.dispose();
    const one = await cli(["recommend", gru, "--json", "-k", "2"], JSON.stringify({ items: [13, 14] }));
    expect(JSON.parse(one.stdout)).toEqual(a);
    const session = await cli(["recommend", gru, "--json"], JSON.stringify({ session: events(13, 14), k: 2 }));
    expect(JSON.parse(session.stdout)).toEqual(a);
    const batch = await cli(
      ["recommend", gru, "--json", "-k", "2"],
      JSON.stringify({ sessions: [events(13, 14), events(11)] }),
    );
    expect(JSON.parse(batch.stdout)).toEqual({ results: [a, b] });
    const list = await cli(["recommend", gru, "--json", "-k", "2"], JSON.stringify([{ items: [13, 14] }, events(11)]));
    expect(JSON.parse(list.stdout)).toEqual({ results: [a, b] });
    const table = await cli(
      ["recommend", knn, "-k", "1"],
      JSON.stringify([{ items: [13, 14] }, { session: events(13, 14) }]),
    );
    expect(table.stdout).toBe(
      "session  rank  item    score\n      0     1  14    2.07787\n      1     1  14    2.07787\n",
    );
  });

  it("without -k recommends 10 items, or every known item when the catalogue has fewer", async () => {
    const run = await cli(["recommend", knn, "13", "14", "--json"]);
    expect(JSON.parse(run.stdout).items).toEqual([14, 13, 15, 12, 11]);
  });

  it("answers bad input with one line naming the item, event, field or key, and exit code 2", async () => {
    const cases: [string[], string | undefined, string][] = [
      [
        ["recommend", knn, "13", "abc"],
        undefined,
        'sessionrec: session, event 1, "item": cannot read "abc" as BIGINT (expected an integer)\n',
      ],
      [
        ["recommend", gru, "13", "--k", "6"],
        undefined,
        "sessionrec: recommend: k = 6 is more than the 5 items the model knows\n",
      ],
      [
        ["recommend", knn],
        undefined,
        "sessionrec: no session: give the item ids after the model folder, or JSON on stdin (see --help)\n",
      ],
      [
        ["recommend", knn],
        "",
        "sessionrec: no session: stdin is empty (give the item ids after the model folder, or JSON on stdin)\n",
      ],
      [["recommend", knn], '{"items": [13,', /^sessionrec: stdin: not valid JSON: .+\n$/.source],
      [
        ["recommend", knn],
        '{"itemz": [13]}',
        'sessionrec: stdin: expected one of the keys "items", "session" or "sessions" (and optionally "k"), got "itemz"\n',
      ],
      [["recommend", knn], '{"items": [13], "k": 0}', 'sessionrec: stdin: "k" must be an integer >= 1, got 0\n'],
      [["recommend", knn], '{"session": []}', "sessionrec: session: no events (a session needs at least one)\n"],
      [
        ["recommend", gru],
        JSON.stringify({ sessions: [events(13), [{ item: 13 }]] }),
        'sessionrec: sessions[1], event 0: no "line" (each event needs "item", "line")\n',
      ],
      [
        ["recommend", knn],
        JSON.stringify([{ items: [] }]),
        'sessionrec: stdin[0]: "items": no items (a session needs at least one)\n',
      ],
      [
        ["recommend", knn],
        JSON.stringify([42]),
        'sessionrec: stdin[0]: expected a list of events, {"items": [...]} or {"session": [...]}\n',
      ],
    ];
    for (const [args, stdin, expected] of cases) {
      const run = await cli(args, stdin);
      expect({ args, stdin, code: run.code, stdout: run.stdout }).toEqual({ args, stdin, code: 2, stdout: "" });
      if (expected.startsWith("^")) expect(run.stderr).toMatch(new RegExp(expected));
      else expect(run.stderr).toBe(expected);
    }
  });

  it("names the folder at fault with exit code 1, and a bad flag with exit code 2", async () => {
    const missing = await cli(["recommend", join(dir, "nothing"), "13"]);
    expect(missing).toEqual({
      code: 1,
      stdout: "",
      stderr: `sessionrec: ${join(dir, "nothing")}: no such folder (a model folder holds model.json, weights.json, weights.bin and workflow/)\n`,
    });
    const flag = await cli(["recommend", knn, "13", "--k", "0"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(
      /^error: option '-k, --k <count>' argument '0' is invalid\. expected an integer >= 1\n/,
    );
  });

  it("has --help with a description and examples", async () => {
    const run = await cli(["recommend", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Usage: sessionrec recommend \[options\] <model-folder> \[items\.\.\.\]\n\ntop-k next items of a session/,
    );
    expect(run.stdout).toContain("Examples:\n  $ sessionrec recommend build/models/v-sknn");
  });
});

describe("itemEventsFor: item ids as events of a workflow", () => {
  it("fills the item column and ascending stand-ins for columns read only to order events", () => {
    const toEvents = itemEventsFor({
      steps: [
        { op: "sessionize", user: "user", time: "ts", gapSeconds: 1800 },
        { op: "categorify", name: "item", columns: ["item"] },
        { op: "groupbySession", session: "session_id", time: "ts", lists: ["item"] },
      ],
      inputs: { user: "VARCHAR", ts: "TIMESTAMP", item: "VARCHAR" },
      item: "item_list",
    });
    expect(toEvents(["a", "b", "c"], "items")).toEqual([
      { item: "a", ts: "2000-01-01 00:00:00" },
      { item: "b", ts: "2000-01-01 00:00:01" },
      { item: "c", ts: "2000-01-01 00:00:02" },
    ]);
    const byDay = itemEventsFor({
      steps: [
        { op: "categorify", name: "item", columns: ["item"] },
        { op: "groupbySession", session: "s", time: "day", lists: ["item"] },
      ],
      inputs: { s: "INTEGER", day: "DATE", item: "INTEGER" },
      item: "item_list",
    });
    expect(byDay([5, 6], "items")).toEqual([
      { item: 5, day: "2000-01-01" },
      { item: 6, day: "2000-01-02" },
    ]);
  });

  it("refuses, naming the columns, when the workflow reads more of each event than the item and its order", () => {
    const booking = itemEventsFor({
      steps: bookingWorkflow().steps,
      inputs: BOOKING_INPUT_COLUMNS,
      item: "city_id_list",
    });
    expect(() => booking([8183], "items")).toThrow(
      'items: item ids alone are not enough for this model: each event also needs "checkin", "checkout", "booker_country", "hotel_country" ' +
        '(give the events as JSON on stdin: {"session": [{"city_id": …, "checkin": …, "checkout": …, "booker_country": …, "hotel_country": …}, …]})',
    );
    const withTimeFeatures = itemEventsFor({
      steps: [
        { op: "timeFeatures", column: "ts", features: { hour: "hour" } },
        { op: "categorify", name: "item", columns: ["item"] },
        { op: "groupbySession", session: "s", time: "ts", lists: ["item", "hour"] },
      ],
      inputs: { s: "VARCHAR", ts: "TIMESTAMP", item: "VARCHAR" },
      item: "item_list",
    });
    expect(() => withTimeFeatures(["a"], "items")).toThrow('each event also needs "ts"');
  });
});
