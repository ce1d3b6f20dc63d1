// A hand-made RecommenderModel with known answers for the service tests: items 100..149 (ids 2..51), and for a
// session whose last city is c it recommends c+1, c+2, … with scores 1, 1/2, 1/3, …. City 666 is a value the
// "encoder" rejects (a plain Error, as lib/data reports bad input); city 999 makes it throw a TypeError (a bug).
import type { ModelFolderManifest, Recommendation, RecommenderModel } from "../../lib/model-folder/index";
import type { EventColumn } from "../../lib/serve/index";

export const FAKE_EVENT_COLUMNS: EventColumn[] = [
  { name: "utrip_id", type: "VARCHAR", required: false },
  { name: "checkin", type: "DATE", required: true },
  { name: "city_id", type: "INTEGER", required: true },
];

export const FAKE_MANIFEST: ModelFolderManifest = {
  format: "sessionrec-model",
  version: 1,
  name: "fake-gru",
  kind: "gru",
  config: {},
  head: {},
  schema: {
    version: 1,
    sessionId: "utrip_id",
    item: "city_id_list",
    maxLength: 5,
    columns: [
      {
        name: "city_id_list",
        kind: "item",
        list: true,
        dtype: "int32",
        cardinality: 52,
        maxLength: 5,
        vocabulary: "city_id",
      },
    ],
  },
  trainedAt: "2024-05-01T12:00:00.000Z",
  metrics: { "recall@10": 0.5 },
};

export interface FakeModel extends RecommenderModel {
  /** Sizes of the recommendBatch calls, in order. */
  readonly calls: number[];
  /** Resolves the calls held back while `hold` is set. */
  release(): void;
  hold: boolean;
}

export function fakeRecommendation(session: readonly Record<string, unknown>[], k: number): Recommendation {
  const last = session[session.length - 1].city_id as number;
  if (last === 666)
    throw new Error(`live session 0, event ${session.length - 1}, "city_id": cannot read 666 as INTEGER`);
  if (last === 999) throw new TypeError("Cannot read properties of undefined (reading 'shape')");
  const items = Array.from({ length: k }, (_, i) => last + i + 1);
  return { items, scores: items.map((_, i) => 1 / (i + 1)) };
}

export function createFakeModel(): FakeModel {
  const calls: number[] = [];
  let held: (() => void)[] = [];
  const model: FakeModel = {
    manifest: FAKE_MANIFEST,
    calls,
    hold: false,
    release() {
      const waiting = held;
      held = [];
      waiting.forEach((resolve) => resolve());
    },
    async recommend(session, k) {
      return (await model.recommendBatch([session], k))[0];
    },
    async recommendBatch(sessions, k) {
      calls.push(sessions.length);
      if (model.hold) await new Promise<void>((resolve) => held.push(resolve));
      return sessions.map((session) => fakeRecommendation(session, k));
    },
    dispose() {},
  };
  return model;
}
