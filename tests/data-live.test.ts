// The in-memory live encoder (lib/data/live.ts) against the DuckDB path it mirrors,
// `workflow.transformRecords(db, events, { filters: false })`: the booking workflow fitted on the fixture, and a
// small workflow that uses every other step op (gap-based sessions, timestamps, decimals, shared vocabularies,
// repeats, first/last, tie breaks). Equality is exact (toEqual on the rows DuckDB returns).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../lib/data/database";
import { parseSavedWorkflow } from "../lib/data/fitted";
import { encodeSessions, liveEncoder, type RawSession } from "../lib/data/live";
import { prepareBooking } from "../lib/data/recipes/booking";
import { Relation } from "../lib/data/relation";
import type { WorkflowStep } from "../lib/data/steps";
import { Workflow } from "../lib/data/workflow";

const FIXTURE = join(import.meta.dirname, "fixtures", "booking", "train_set.csv");

type Booking = Record<"utrip_id" | "checkin" | "checkout" | "booker_country" | "hotel_country", string> & {
  city_id: number;
};

function readBookings(): Booking[] {
  const [header, ...lines] = readFileSync(FIXTURE, "utf8").trim().split("\n");
  const names = header.split(",");
  return lines.map((line) => {
    const cells = Object.fromEntries(line.split(",").map((cell, i) => [names[i], cell]));
    return {
      utrip_id: cells.utrip_id,
      checkin: cells.checkin,
      checkout: cells.checkout,
      city_id: Number(cells.city_id),
      booker_country: cells.booker_country,
      hotel_country: cells.hotel_country,
    };
  });
}

let db: Database;
let dir: string;

beforeAll(async () => {
  db = await Database.open({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), "sessionrec-live-"));
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** DuckDB's rows for `sessions` (each given the session id `id(s)`), in input order. */
async function duckdbRows(
  workflow: Workflow,
  sessions: RawSession[],
  id: (s: number) => Record<string, unknown>,
): Promise<Record<string, unknown>[]> {
  const records = sessions.flatMap((events, s) => events.map((event) => ({ ...event, ...id(s) })));
  return workflow.transformRecords(db, records, { filters: false });
}

describe("encodeSessions on the booking workflow", () => {
  const bookings = readBookings();
  let workflow: Workflow;
  const trips = new Map<string, Booking[]>();
  for (const b of bookings) trips.set(b.utrip_id, [...(trips.get(b.utrip_id) ?? []), b]);
  const tripsBySize = [...trips.values()].sort((a, b) => b.length - a.length);
  const strip = ({ utrip_id: _, ...event }: Booking): Record<string, unknown> => event;

  // Each session without its utrip_id (the encoder fills "live-<s>"); DuckDB gets the same id explicitly.
  const longest = tripsBySize[0];
  const sessions: RawSession[] = [
    tripsBySize[40].map(strip), // an ordinary trip, in file order
    [...longest].reverse().map(strip), // longer than maxLength (10), newest first
    [strip(tripsBySize[5][0])], // one event
    [
      // unknown city and unknown countries in the middle, unsorted, a Date object for a DATE
      { ...strip(tripsBySize[7][2]), checkin: "2016-12-07", checkout: "2016-12-09" },
      {
        checkin: new Date(Date.UTC(2016, 11, 3, 15)),
        checkout: "2016-12-05",
        city_id: 987654,
        booker_country: "Narnia",
        hotel_country: "Utopia",
      },
      { ...strip(tripsBySize[7][0]), checkin: "2016-12-01", checkout: "2016-12-03" },
      { ...strip(tripsBySize[7][1]), checkin: "2016-12-05", checkout: "2016-12-06", booker_country: "Narnia" },
    ],
    [
      // two bookings on one check-in day: DuckDB orders them by the other collected columns (city first)
      {
        checkin: "2016-10-20",
        checkout: "2016-10-22",
        city_id: tripsBySize[9][0].city_id,
        booker_country: "Gondal",
        hotel_country: "Gondal",
      },
      {
        checkin: "2016-10-20",
        checkout: "2016-10-21",
        city_id: tripsBySize[3][0].city_id,
        booker_country: "Gondal",
        hotel_country: "Elbonia",
      },
      {
        checkin: "2016-10-18",
        checkout: "2016-10-20",
        city_id: tripsBySize[2][0].city_id,
        booker_country: "Gondal",
        hotel_country: "Gondal",
      },
    ],
  ];

  beforeAll(async () => {
    workflow = (await prepareBooking({ input: FIXTURE, outDir: join(dir, "booking") })).workflow;
  });

  it("agrees exactly with transformRecords(…, { filters: false })", async () => {
    const expected = await duckdbRows(workflow, sessions, (s) => ({ utrip_id: `live-${s}` }));
    const encoded = encodeSessions(workflow, sessions);
    expect(encoded.map((row) => row.session_id)).toEqual(sessions.map((_, s) => `live-${s}`));
    for (const row of encoded)
      expect(row, String(row.session_id)).toEqual(expected.find((r) => r.session_id === row.session_id));
    expect(liveEncoder(workflow).columns).toEqual(Object.keys(expected[0]));
  });

  it("encodes what the test expects by hand: OOV ids, the last 10 events, counts, order", () => {
    const [ordinary, long, single, unknown, ties] = encodeSessions(workflow, sessions);
    const cities = workflow.vocabulary("city_id");
    const cityId = (city: number): number => cities.values.indexOf(city) + 2;
    const byCheckin = [...tripsBySize[40]].sort((a, b) => (a.checkin < b.checkin ? -1 : 1));
    expect(ordinary.city_id_list).toEqual(byCheckin.map((b) => cityId(b.city_id)));
    expect(long.city_id_count).toBe(longest.length);
    expect((long.city_id_list as number[]).map((id) => cities.values[id - 2])).toEqual(
      [...longest]
        .sort((a, b) => (a.checkin < b.checkin ? -1 : 1))
        .slice(-10)
        .map((b) => b.city_id),
    );
    expect(single.city_id_count).toBe(1);
    expect((unknown.city_id_list as number[])[1]).toBe(1); // 2016-12-03 sorts second
    expect((unknown.booker_country_list as number[]).slice(1, 3)).toEqual([1, 1]);
    expect((unknown.hotel_country_list as number[])[1]).toBe(1);
    expect(ties.city_id_list).toEqual(
      [tripsBySize[2][0], ...[tripsBySize[9][0], tripsBySize[3][0]].sort((a, b) => a.city_id - b.city_id)].map((b) =>
        cityId(b.city_id),
      ),
    );
  });

  it("a workflow rebuilt from its saved JSON (as a web page would fetch it) encodes the same", async () => {
    const folder = join(dir, "booking", "workflow");
    const saved = JSON.parse(readFileSync(join(folder, "workflow.json"), "utf8"));
    const names = ["city_id", "country", "weekday_checkin", "weekday_checkout", "month_checkin"];
    const vocabularies = Object.fromEntries(
      names.map((name) => [name, JSON.parse(readFileSync(join(folder, "vocabularies", `${name}.json`), "utf8"))]),
    );
    const expected = encodeSessions(workflow, sessions);
    expect(encodeSessions(Workflow.fromSaved(saved, vocabularies), sessions)).toEqual(expected);
    expect(encodeSessions(parseSavedWorkflow(saved, vocabularies), sessions)).toEqual(expected);
    expect(encodeSessions(await Workflow.load(folder), sessions)).toEqual(expected);
    const { country: _, ...withoutCountry } = vocabularies;
    expect(() => Workflow.fromSaved(saved, withoutCountry)).toThrow(
      'vocabularies/country.json: missing (the workflow\'s vocabulary "country")',
    );
  });

  it("says which session, event and field is wrong", () => {
    const good = strip(tripsBySize[40][0]);
    const encode =
      (...live: unknown[]) =>
      () =>
        encodeSessions(workflow, live as RawSession[]);
    expect(encode([good], [{ ...good, checkin: "2016-13-01" }])).toThrow(
      'live session 1, event 0, "checkin": cannot read "2016-13-01" as DATE (expected a date "YYYY-MM-DD")',
    );
    expect(encode([good, { ...good, city_id: "Paris" }])).toThrow(
      'live session 0, event 1, "city_id": cannot read "Paris" as INTEGER (expected an integer)',
    );
    expect(encode([good, { ...good, city_id: 2 ** 40 }])).toThrow("expected an integer in -2147483648..2147483647");
    const { checkout: _, ...noCheckout } = good;
    expect(encode([good, good, noCheckout])).toThrow(
      'live session 0, event 2: no "checkout" (each event needs "checkin", "checkout", "city_id", "booker_country", "hotel_country")',
    );
    expect(encode([{ ...good, checkin: null }])).toThrow(
      'live session 0, event 0, "checkin": is null, but the workflow orders events by it',
    );
    expect(
      encode([
        { ...good, utrip_id: "a" },
        { ...good, utrip_id: "b" },
      ]),
    ).toThrow('live session 0: its events disagree on "utrip_id" ("a", "b")');
    expect(encode([good], [])).toThrow("live session 1: no events");
    expect(encode([good], "oops")).toThrow("live session 1: expected an array of events, got string");
    expect(encode([good, 7])).toThrow('live session 0, event 1: expected an object with "checkin"');
    // The rule preparation applies to train_set.csv (a stay cannot end before it starts), named the same way.
    const backwards = { ...good, checkin: "2016-10-05", checkout: "2016-10-03" };
    expect(encode([good], [good, backwards])).toThrow(
      'live session 1, event 1: "checkout" (2016-10-03) is before "checkin" (2016-10-05)',
    );
    expect(
      encodeSessions(workflow, [[{ ...good, checkin: "2016-10-05", checkout: "2016-10-05" }]])[0].length_of_stay_list,
    ).not.toContain(null);
  });

  it("a given session id is kept, and unknown values of a known type are not errors", () => {
    const [row] = encodeSessions(workflow, [
      [{ ...strip(tripsBySize[40][0]), utrip_id: "mine" }, { ...strip(tripsBySize[40][1]) }],
    ]);
    expect(row.session_id).toBe("mine");
    expect(row.city_id_count).toBe(2);
  });
});

describe("encodeSessions on a workflow using every other step op", () => {
  const STEPS: WorkflowStep[] = [
    { op: "sessionize", user: "user", time: "ts", gapSeconds: 3600 },
    {
      op: "timeFeatures",
      column: "ts",
      features: {
        hour: "hour",
        minute: "minute",
        week: "week",
        yday: "dayofyear",
        year: "year",
        mday: "day",
        wday: "weekday",
        month: "month",
      },
    },
    { op: "duration", start: "ts", end: "until", unit: "minutes", output: "stay" },
    { op: "normalize", column: "stay" },
    { op: "log1p", column: "price", output: "log_price" },
    { op: "normalize", column: "log_price" },
    { op: "categorify", name: "item", columns: ["item"] },
    {
      op: "categorify",
      name: "calendar",
      columns: ["hour", "minute", "week", "yday", "year", "mday", "wday", "month"],
    },
    { op: "categorify", name: "mixed", columns: ["shop", "day", "label"] },
    { op: "dropOutOfVocabulary", columns: ["item"] },
    { op: "removeConsecutiveRepeats", session: "session_id", time: "ts", column: "item" },
    {
      op: "groupbySession",
      session: "session_id",
      time: "ts",
      tieBreak: ["label"],
      lists: [
        "item",
        "stay",
        "log_price",
        "hour",
        "minute",
        "week",
        "yday",
        "year",
        "mday",
        "wday",
        "month",
        "shop",
        "day",
      ],
      first: ["label"],
      last: ["label", "log_price"],
      count: "n",
    },
    { op: "sliceLast", n: 3 },
    { op: "log1p", column: "n", output: "n_log" },
    { op: "normalize", column: "n_log" },
    { op: "filterMinLength", column: "n", min: 2 },
  ];
  // (user, ts, until, item, price DECIMAL(3,1), shop INTEGER, day DATE, label VARCHAR)
  const TRAIN = `
    ('u1', TIMESTAMP '2020-12-31 23:10:00', TIMESTAMP '2020-12-31 23:40:30', 'a', 1.5, 7, DATE '2020-12-31', 'x'),
    ('u1', TIMESTAMP '2020-12-31 23:50:00', TIMESTAMP '2021-01-01 00:20:00', 'b', 12.0, 8, DATE '2020-12-31', 'y'),
    ('u1', TIMESTAMP '2021-01-01 00:30:00', TIMESTAMP '2021-01-01 02:00:00', 'c', 0.0, 7, DATE '2021-01-01', 'x'),
    ('u1', TIMESTAMP '2021-01-04 09:00:00', TIMESTAMP '2021-01-04 09:05:00', 'a', 3.3, 9, DATE '2021-01-04', 'z'),
    ('u1', TIMESTAMP '2021-01-04 09:10:00', TIMESTAMP '2021-01-04 09:11:00', 'a', 99.9, 7, DATE '2021-01-04', 'y'),
    ('u2', TIMESTAMP '2021-06-15 12:00:00', TIMESTAMP '2021-06-15 12:30:00', 'b', 5.5, 8, DATE '2021-06-15', 'z'),
    ('u2', TIMESTAMP '2021-06-15 12:20:00.25', TIMESTAMP '2021-06-15 13:00:00', 'd', 2.2, 9, DATE '2021-06-15', 'x')`;
  let workflow: Workflow;

  beforeAll(async () => {
    workflow = new Workflow({ steps: STEPS, item: "item_list" });
    const train = new Relation(
      db,
      `SELECT * FROM (VALUES ${TRAIN}) AS v(user, ts, until, item, price, shop, day, label)`,
      "train",
    );
    await workflow.fit(train);
  });

  const event = (
    ts: string,
    item: string,
    price: number | string,
    shop: number,
    label: string,
    until = ts,
  ): Record<string, unknown> => ({ ts, until, item, price, shop, day: ts.slice(0, 10), label });
  const sessions: RawSession[] = [
    // repeats (b b), an unknown item, a tie on ts broken by label, across new year (ISO week 53)
    [
      event("2020-12-31 22:00:00", "b", 2, 7, "y", "2020-12-31 23:00:00"),
      event("2020-12-31 22:45:00", "b", "2.25", 8, "x", "2020-12-31 22:46:00.5"),
      event("2020-12-31 23:30:00", "zzz", 0.04, 9, "w", "2021-01-01 00:00:00"),
      event("2021-01-01 00:10:00", "c", 10.05, 7, "z"),
      event("2021-01-01 00:10:00", "a", 7, 7, "a"),
    ],
    // the gap cuts these in two: the later session is the live one
    [
      event("2021-01-04 09:00:00", "a", 1, 9, "x"),
      event("2021-01-04 11:00:00.123", "d", 1, 8, "y"),
      event("2021-01-04 11:30:00", "a", 3, 7, "q"),
    ],
    // a Date for ts, with milliseconds (and "until" after it: a stay may not end before it starts)
    [
      {
        ...event("2021-06-15 12:00:00", "d", 4.44, 12, "z", "2021-06-15 12:00:00.5"),
        ts: new Date(Date.UTC(2021, 5, 15, 12, 0, 0, 250)),
      },
    ],
  ];

  it("agrees exactly with transformRecords(…, { filters: false })", async () => {
    const encoded = encodeSessions(workflow, sessions);
    const expected = await duckdbRows(workflow, sessions, (s) => ({ user: `live-${s}` }));
    expect(encoded.map((row) => row.session_id)).toEqual(["live-0:1", "live-1:2", "live-2:1"]);
    for (const row of encoded)
      expect(row, String(row.session_id)).toEqual(expected.find((r) => r.session_id === row.session_id));
    expect(expected.map((row) => row.session_id).sort()).toEqual(["live-0:1", "live-1:1", "live-1:2", "live-2:1"]);
  });

  it("follows DuckDB where it is easy to get wrong: repeats, ties, ISO weeks, decimals, shared text vocabularies", () => {
    const [row] = encodeSessions(workflow, sessions);
    const items = workflow.vocabulary("item");
    const calendar = workflow.vocabulary("calendar");
    const mixed = workflow.vocabulary("mixed");
    // b b zzz a c (ties at 00:10 ordered by label: "a" before "z") → repeat b dropped → last 3: zzz a c
    expect(row.n).toBe(4);
    expect(row.item_list).toEqual([1, items.values.indexOf("a") + 2, items.values.indexOf("c") + 2]);
    expect(row.week_list).toEqual([53, 53, 53].map((w) => calendar.values.indexOf(w) + 2));
    expect(row.label_first).toBe(mixed.values.indexOf("y") + 2);
    expect(row.label_last).toBe(mixed.values.indexOf("z") + 2);
    expect(mixed.values).toEqual(expect.arrayContaining(["7", "2021-01-04", "x"]));
    expect(row.shop_list).toEqual([9, 7, 7].map((shop) => mixed.values.indexOf(String(shop)) + 2));
  });

  it("refuses what it cannot read the way DuckDB would", () => {
    const bad = (field: string, value: unknown) => () =>
      encodeSessions(workflow, [[{ ...event("2021-01-01 00:00:00", "a", 1, 7, "x"), [field]: value }]]);
    expect(bad("price", "123.4")).toThrow(
      '"price": cannot read "123.4" as DECIMAL(3,1) (expected a number with at most 2 digits before the point)',
    );
    expect(bad("ts", "2021-01-01T25:00:00")).toThrow('"ts": cannot read "2021-01-01T25:00:00" as TIMESTAMP');
    expect(bad("shop", 1.5)).toThrow('"shop": cannot read 1.5 as INTEGER (expected an integer)');
  });
});
