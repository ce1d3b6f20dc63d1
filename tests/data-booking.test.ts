// prepareBooking on a ~2,000-row Booking-shaped fixture (tests/fixtures/booking/train_set.csv: 366 trips over
// 2016-10-01 … 2017-03, some crossing 2017-01-01, some longer than 10 bookings, some single bookings, and a few
// cities only valid trips visit). Every expectation is recomputed here in plain JS from the CSV text.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database, withDatabase } from "../lib/data/index";
import { prepareBooking, type PreparedBooking } from "../lib/data/index";
import { Workflow } from "../lib/data/index";
import { readSchema } from "../lib/data/index";
import { parseDataBookingArgs } from "../scripts/data-booking";

const FIXTURE = join(import.meta.dirname, "fixtures", "booking", "train_set.csv");
const SPLIT = "2017-01-01";
const MAX_LENGTH = 10;

interface Booking {
  checkin: string;
  checkout: string;
  city: number;
  booker: string;
  hotel: string;
  trip: string;
}

function readFixture(): Booking[] {
  const [header, ...lines] = readFileSync(FIXTURE, "utf8").trim().split("\n");
  const names = header.split(",");
  return lines.map((line) => {
    const cells = Object.fromEntries(line.split(",").map((cell, i) => [names[i], cell]));
    return {
      checkin: cells.checkin,
      checkout: cells.checkout,
      city: Number(cells.city_id),
      booker: cells.booker_country,
      hotel: cells.hotel_country,
      trip: cells.utrip_id,
    };
  });
}

/** ids 2.. by descending count, ties by ascending value (numbers numerically, text by code units). */
function vocabulary<T extends string | number>(values: T[]): { values: T[]; counts: number[]; id: Map<T, number> } {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    values: sorted.map(([v]) => v),
    counts: sorted.map(([, n]) => n),
    id: new Map(sorted.map(([v], i) => [v, i + 2])),
  };
}

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) };
}

const DAY = 86_400_000;
const toDate = (iso: string): Date => new Date(`${iso}T00:00:00Z`);
const weekday = (iso: string): number => (toDate(iso).getUTCDay() + 6) % 7; // Monday = 0
const month = (iso: string): number => toDate(iso).getUTCMonth() + 1;
const nights = (b: Booking): number => (toDate(b.checkout).getTime() - toDate(b.checkin).getTime()) / DAY;

/** The whole preparation, independently, in plain JS. */
function expected() {
  const bookings = readFixture();
  const start = new Map<string, string>();
  for (const b of bookings)
    if (!start.has(b.trip) || b.checkin < (start.get(b.trip) as string)) start.set(b.trip, b.checkin);
  const train = bookings.filter((b) => (start.get(b.trip) as string) < SPLIT);
  const valid = bookings.filter((b) => (start.get(b.trip) as string) >= SPLIT);
  const vocab = {
    city_id: vocabulary(train.map((b) => b.city)),
    country: vocabulary(train.flatMap((b) => [b.booker, b.hotel])),
    weekday_checkin: vocabulary(train.map((b) => weekday(b.checkin))),
    weekday_checkout: vocabulary(train.map((b) => weekday(b.checkout))),
    month_checkin: vocabulary(train.map((b) => month(b.checkin))),
  };
  const stay = meanStd(train.map((b) => Math.log1p(nights(b))));
  const sessions = (split: Booking[]) => {
    const trips = new Map<string, Booking[]>();
    for (const b of split) if (vocab.city_id.id.has(b.city)) trips.set(b.trip, [...(trips.get(b.trip) ?? []), b]);
    return [...trips]
      .map(([trip, list]) => {
        const sorted = [...list].sort((a, b) => (a.checkin < b.checkin ? -1 : 1));
        const last = sorted.slice(-MAX_LENGTH);
        const id = <T extends string | number>(v: { id: Map<T, number> }, value: T): number => v.id.get(value) ?? 1;
        return {
          session_id: trip,
          start: sorted[0].checkin,
          raw: last,
          city_id_list: last.map((b) => id(vocab.city_id, b.city)),
          booker_country_list: last.map((b) => id(vocab.country, b.booker)),
          hotel_country_list: last.map((b) => id(vocab.country, b.hotel)),
          weekday_checkin_list: last.map((b) => id(vocab.weekday_checkin, weekday(b.checkin))),
          weekday_checkout_list: last.map((b) => id(vocab.weekday_checkout, weekday(b.checkout))),
          month_checkin_list: last.map((b) => id(vocab.month_checkin, month(b.checkin))),
          length_of_stay_list: last.map((b) => (Math.log1p(nights(b)) - stay.mean) / stay.std),
          city_id_count: sorted.length,
        };
      })
      .filter((s) => s.city_id_count >= 2)
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.session_id < b.session_id ? -1 : 1));
  };
  const trainSessions = sessions(train);
  const visited = meanStd(trainSessions.map((s) => Math.log1p(s.city_id_count)));
  return { bookings, train, valid, vocab, stay, visited, trainSessions, validSessions: sessions(valid) };
}

async function readParquet(file: string): Promise<Record<string, unknown>[]> {
  return withDatabase(async (db) => db.rows(`SELECT * FROM read_parquet('${file}')`));
}

describe("prepareBooking", () => {
  const want = expected();
  let dir: string;
  let out: string;
  let result: PreparedBooking;
  const progress: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sessionrec-booking-"));
    out = join(dir, "prepared");
    result = await prepareBooking({ input: FIXTURE, outDir: out, onProgress: (m) => progress.push(m) });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the fixture exercises the interesting cases", () => {
    const crossing = [...new Set(want.train.filter((b) => b.checkin >= SPLIT).map((b) => b.trip))];
    expect(crossing.length).toBeGreaterThan(5);
    expect(want.trainSessions.some((s) => s.city_id_count > MAX_LENGTH)).toBe(true);
    expect(want.valid.some((b) => !want.vocab.city_id.id.has(b.city))).toBe(true);
  });

  it("splits by trip start and counts bookings and trips", () => {
    expect(result.counts).toEqual({
      events: want.bookings.length,
      trainEvents: want.train.length,
      validEvents: want.valid.length,
      train: want.trainSessions.length,
      valid: want.validSessions.length,
    });
    expect(progress[0]).toBe(`reading ${FIXTURE}`);
    expect(progress.at(-1)).toMatch(/^wrote \d+ train trips and \d+ valid trips to /);
  });

  it("fits every vocabulary on train: values, counts and cardinalities", () => {
    for (const [name, v] of Object.entries(want.vocab)) {
      const fitted = result.workflow.vocabulary(name);
      expect(fitted.values, name).toEqual(v.values);
      expect(fitted.counts, name).toEqual(v.counts);
    }
    const cardinality = Object.fromEntries(result.schema.columns.map((c) => [c.name, c.cardinality]));
    expect(cardinality).toMatchObject({
      city_id_list: want.vocab.city_id.values.length + 2,
      booker_country_list: want.vocab.country.values.length + 2,
      hotel_country_list: want.vocab.country.values.length + 2,
      weekday_checkin_list: 9,
      weekday_checkout_list: 9,
      month_checkin_list: want.vocab.month_checkin.values.length + 2,
    });
  });

  it("writes schema.json as SCHEMA.md describes", async () => {
    const schema = await readSchema(out);
    expect(schema).toEqual(result.schema);
    expect(schema.item).toBe("city_id_list");
    expect(schema.maxLength).toBe(MAX_LENGTH);
    expect(
      schema.columns.map((c) => `${c.name}:${c.kind}:${c.list ? "list" : "scalar"}:${c.dtype}:${c.vocabulary ?? "-"}`),
    ).toEqual([
      "city_id_list:item:list:int32:city_id",
      "booker_country_list:categorical:list:int32:country",
      "hotel_country_list:categorical:list:int32:country",
      "weekday_checkin_list:categorical:list:int32:weekday_checkin",
      "weekday_checkout_list:categorical:list:int32:weekday_checkout",
      "month_checkin_list:categorical:list:int32:month_checkin",
      "length_of_stay_list:continuous:list:float32:-",
      "city_id_count:count:scalar:int32:-",
      "num_city_visited:continuous:scalar:float32:-",
    ]);
    expect(readdirSync(out).sort()).toEqual(["schema.json", "train.parquet", "valid.parquet", "workflow"]);
  });

  for (const split of ["train", "valid"] as const) {
    it(`${split}.parquet holds every trip, encoded, sliced and normalized as computed in JS`, async () => {
      const rows = await readParquet(join(out, `${split}.parquet`));
      const sessions = split === "train" ? want.trainSessions : want.validSessions;
      expect(rows.map((r) => r.session_id)).toEqual(sessions.map((s) => s.session_id));
      rows.forEach((row, i) => {
        const s = sessions[i];
        for (const name of [
          "city_id_list",
          "booker_country_list",
          "hotel_country_list",
          "weekday_checkin_list",
          "weekday_checkout_list",
          "month_checkin_list",
        ] as const) {
          expect(row[name], `${s.session_id} ${name}`).toEqual(s[name]);
        }
        expect(row.city_id_count).toBe(s.city_id_count);
        const stays = row.length_of_stay_list as number[];
        expect(stays.length).toBe(s.length_of_stay_list.length);
        stays.forEach((x, k) => expect(x).toBeCloseTo(s.length_of_stay_list[k], 5));
        expect(row.num_city_visited as number).toBeCloseTo(
          (Math.log1p(s.city_id_count) - want.visited.mean) / want.visited.std,
          5,
        );
      });
    });
  }

  it("decodes a long trip crossing the split date back to its last 10 cities", async () => {
    const trip = want.trainSessions.find((s) => s.city_id_count > MAX_LENGTH && s.raw.at(-1)!.checkin >= SPLIT);
    expect(trip).toBeDefined();
    const row = (await readParquet(join(out, "train.parquet"))).find((r) => r.session_id === trip!.session_id)!;
    const cities = result.workflow.vocabulary("city_id");
    expect((row.city_id_list as number[]).map((id) => cities.values[id - 2])).toEqual(trip!.raw.map((b) => b.city));
  });

  it("the saved workflow serves a live trip exactly as valid.parquet encoded it", async () => {
    const validRows = await readParquet(join(out, "valid.parquet"));
    const original = want.bookings.filter((b) => b.trip === String(validRows[0].session_id));
    const records = original.map((b) => ({
      utrip_id: b.trip,
      checkin: b.checkin,
      checkout: b.checkout,
      city_id: b.city,
      booker_country: b.booker,
      hotel_country: b.hotel,
    }));
    const workflow = await Workflow.load(join(out, "workflow"));
    const db = await Database.open({ threads: 1 });
    try {
      const [served] = await workflow.transformRecords(db, records);
      expect(served).toEqual(validRows[0]);
    } finally {
      db.close();
    }
  });

  it("a city frequency threshold turns rare train cities out-of-vocabulary", async () => {
    const rare = await prepareBooking({ input: FIXTURE, outDir: join(dir, "rare"), minFrequency: 20 });
    const frequent = want.vocab.city_id.values.filter((_, i) => want.vocab.city_id.counts[i] >= 20);
    expect(rare.workflow.vocabulary("city_id").values).toEqual(frequent);
    expect(rare.workflow.vocabulary("city_id").rareCount).toBe(
      want.vocab.city_id.counts.filter((n) => n < 20).reduce((a, b) => a + b, 0),
    );
  });

  it("Parquet input gives the same result as CSV", async () => {
    const parquet = join(dir, "train_set.parquet");
    await withDatabase((db) =>
      db.run(`COPY (SELECT * FROM read_csv('${FIXTURE}', header = true)) TO '${parquet}' (FORMAT parquet)`),
    );
    const fromParquet = await prepareBooking({ input: parquet, outDir: join(dir, "from-parquet") });
    expect(fromParquet.counts).toEqual(result.counts);
    expect(await readParquet(join(dir, "from-parquet", "valid.parquet"))).toEqual(
      await readParquet(join(out, "valid.parquet")),
    );
  });

  it("fails cleanly, writing nothing, on bad input", async () => {
    const target = join(dir, "bad");
    await expect(prepareBooking({ input: join(dir, "nope.csv"), outDir: target })).rejects.toThrow(
      `${join(dir, "nope.csv")}: no such file`,
    );
    await expect(prepareBooking({ input: FIXTURE, outDir: target, splitDate: "2018-01-01" })).rejects.toThrow(
      /the valid split of .* has no rows/,
    );
    await expect(prepareBooking({ input: FIXTURE, outDir: target, maxLength: 0 })).rejects.toThrow(
      "prepareBooking: maxLength must be an integer >= 1, got 0",
    );
    await expect(prepareBooking({ input: FIXTURE, outDir: join(FIXTURE, "..") })).rejects.toThrow(
      `prepareBooking: outDir: ${join(FIXTURE, "..")} holds other files and no schema.json`,
    );
    // Options are checked before anything is read: the missing file is not what the error is about.
    await expect(
      prepareBooking({ input: join(dir, "nope.csv"), outDir: target, splitDate: "2017-13-01" }),
    ).rejects.toThrow(
      'prepareBooking: splitDate: expected a date like 2017-01-01 or 2017-01-01 12:00:00, got "2017-13-01"',
    );
    const copy = join(dir, "copy.csv");
    copyFileSync(FIXTURE, copy);
    const longestTrip = Math.max(...want.trainSessions.map((s) => s.city_id_count));
    await expect(prepareBooking({ input: copy, outDir: target, minLength: 40 })).rejects.toThrow(
      `prepareBooking: no train trip has >= 40 cities (minLength, --min-length 40); the longest has ${longestTrip}`,
    );
    const lines = readFileSync(FIXTURE, "utf8").split("\n");
    const names = lines[0].split(",");
    const cells = lines[300].split(",");
    const [checkin, checkout] = [cells[names.indexOf("checkin")], cells[names.indexOf("checkout")]];
    cells[names.indexOf("checkout")] = "2015-01-01";
    lines[300] = cells.join(",");
    const backwards = join(dir, "backwards.csv");
    writeFileSync(backwards, lines.join("\n"));
    expect(checkout > checkin).toBe(true);
    await expect(prepareBooking({ input: backwards, outDir: target })).rejects.toThrow(
      `${backwards}: row 300 (line 301), "checkout" (2015-01-01) is before "checkin" (${checkin})`,
    );
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.startsWith("."))).toEqual([]);
  });

  it("the script's arguments map onto the options", () => {
    expect(parseDataBookingArgs(["--out", "x", "--max-length", "5"], { SESSIONREC_DATA: "/d/train_set.csv" })).toEqual({
      input: "/d/train_set.csv",
      outDir: "x",
      maxLength: 5,
    });
    expect(parseDataBookingArgs([], {}).input).toBe(join("data", "booking", "train_set.csv"));
    expect(() => parseDataBookingArgs(["--min-length", "two"], {})).toThrow(
      "--min-length: expected an integer >= 1, got two",
    );
    expect(() => parseDataBookingArgs(["--out", "--min-length", "3"], {})).toThrow("--out: missing value");
    expect(() => parseDataBookingArgs(["--out", "."], {})).toThrow(
      "--out: . holds other files and no schema.json: it is not a prepared data set",
    );
    expect(() => parseDataBookingArgs(["--out", FIXTURE], {})).toThrow(`--out: ${FIXTURE} is a file, not a folder`);
    expect(() => parseDataBookingArgs(["--split-date", "2017-13-01"], {})).toThrow(
      '--split-date: expected a date like 2017-01-01 or 2017-01-01 12:00:00, got "2017-13-01"',
    );
    expect(parseDataBookingArgs(["--split-date", "2016-12-15 12:00"], {}).splitDate).toBe("2016-12-15 12:00");
  });
});
