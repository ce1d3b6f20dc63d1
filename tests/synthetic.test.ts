import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BOOKER_COUNTRIES,
  BOOKING_COLUMNS,
  type BookingRow,
  DATA_ENV_VAR,
  DEVICE_CLASSES,
  bookingChunks,
  bookingsCsv,
  defaultDataPath,
  ensureDefaultData,
  generateBookings,
  resolveBookingData,
  syntheticCountryNeighbours,
  writeBookingsCsv,
} from "../lib/data/index";
import {
  contextInformation,
  groupTrips,
  homeShares,
  orderAccuracy,
  returnAfterDetour,
  season,
  tourShape,
} from "./helpers/trip-structure";

const SMALL = { trips: 3000, seed: 7 };
const DAY_MS = 86_400_000;

let rows: BookingRow[];
let trips: BookingRow[][];
let tmp: string;

beforeAll(() => {
  rows = generateBookings(SMALL);
  trips = groupTrips(rows);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sessionrec-synthetic-"));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const days = (date: string) => Date.parse(date) / DAY_MS;

describe("determinism", () => {
  it("the same seed gives byte-identical CSV; another seed does not", () => {
    const a = bookingsCsv(SMALL);
    expect(bookingsCsv(SMALL)).toBe(a);
    expect(bookingsCsv({ ...SMALL, seed: 8 })).not.toBe(a);
  });

  it("the streamed file equals the in-memory CSV and reports its statistics", async () => {
    const file = path.join(tmp, "small.csv");
    const stats = await writeBookingsCsv(file, SMALL);
    const text = fs.readFileSync(file, "utf8");
    expect(text).toBe(bookingsCsv(SMALL));
    expect(stats.rows).toBe(rows.length);
    expect(stats.trips).toBe(SMALL.trips);
    expect(stats.users).toBe(new Set(rows.map((r) => r.user_id)).size);
    expect(stats.cities).toBe(new Set(rows.map((r) => r.city_id)).size);
    expect(fs.readdirSync(tmp).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("chunking does not change the rows, and never splits a user across chunks", () => {
    const chunks = [...bookingChunks(SMALL, 100)];
    expect(chunks.length).toBeGreaterThan(50);
    const userIds: number[] = [];
    for (const c of chunks) userIds.push(...c.userId.subarray(0, c.rows));
    expect(chunks.slice(0, -1).every((c) => c.rows >= 100)).toBe(true);
    expect(userIds).toEqual(rows.map((r) => r.user_id));
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i].userId[0]).not.toBe(chunks[i - 1].userId[chunks[i - 1].rows - 1]);
    }
  });
});

describe("columns and values", () => {
  it("has exactly the columns of train_set.csv", () => {
    expect(bookingsCsv({ trips: 2, seed: 1 }).split("\n")[0]).toBe(
      "user_id,checkin,checkout,city_id,device_class,affiliate_id,booker_country,hotel_country,utrip_id",
    );
    expect(Object.keys(rows[0])).toEqual([...BOOKING_COLUMNS]);
  });

  it("every value has the expected type and domain", () => {
    const date = /^\d{4}-\d{2}-\d{2}$/;
    const positiveInt = (x: number) => Number.isInteger(x) && x > 0;
    const bad = rows.filter(
      (r) =>
        !positiveInt(r.user_id) ||
        !positiveInt(r.city_id) ||
        !positiveInt(r.affiliate_id) ||
        !date.test(r.checkin) ||
        !date.test(r.checkout) ||
        !(DEVICE_CLASSES as readonly string[]).includes(r.device_class) ||
        !(BOOKER_COUNTRIES as readonly string[]).includes(r.booker_country) ||
        r.hotel_country.length === 0 ||
        !new RegExp(`^${r.user_id}_\\d+$`).test(r.utrip_id),
    );
    expect(bad).toEqual([]);
  });

  it("check-ins span 2015-12-31 .. 2017-02-27, about 15% of trips start in 2017 (the default split date)", () => {
    const checkins = rows.map((r) => r.checkin).sort();
    expect(checkins[0]).toBe("2015-12-31");
    expect(checkins[checkins.length - 1]).toBe("2017-02-27");
    const in2017 = trips.filter((t) => t[0].checkin >= "2017-01-01").length / trips.length;
    expect(in2017).toBeGreaterThan(0.1);
    expect(in2017).toBeLessThan(0.2);
    // Summer peak: more check-ins in July–August 2016 than in January–February 2016 (about 3 times as many).
    const summer = checkins.filter((d) => d >= "2016-07" && d < "2016-09").length;
    const winter = checkins.filter((d) => d >= "2016-01" && d < "2016-03").length;
    expect(summer).toBeGreaterThan(2 * winter);
  });

  it("a city always lies in the same hotel country; ~195 countries, 5 booker countries, desktop > mobile > tablet", () => {
    const countryOf = new Map<number, string>();
    for (const r of rows) if (!countryOf.has(r.city_id)) countryOf.set(r.city_id, r.hotel_country);
    expect(rows.filter((r) => countryOf.get(r.city_id) !== r.hotel_country)).toEqual([]);
    expect(new Set(rows.map((r) => r.hotel_country)).size).toBeGreaterThan(150);
    expect(new Set(rows.map((r) => r.booker_country)).size).toBe(5);
    const device = (d: string) => rows.filter((r) => r.device_class === d).length / rows.length;
    expect(device("desktop")).toBeGreaterThan(0.55); // configured 0.62
    expect(device("mobile")).toBeGreaterThan(0.3); // 0.35
    expect(device("tablet")).toBeLessThan(0.05); // 0.03
  });
});

describe("trips", () => {
  it("bookings of a trip chain: checkout > checkin, next checkin = previous checkout, no city twice in a row", () => {
    const broken: string[] = [];
    for (const t of trips) {
      for (let i = 0; i < t.length; i++) {
        const nights = days(t[i].checkout) - days(t[i].checkin);
        if (!(nights >= 1 && nights <= 14)) broken.push(`${t[i].utrip_id}[${i}]: ${nights} nights`);
        if (i > 0 && t[i].checkin !== t[i - 1].checkout) broken.push(`${t[i].utrip_id}[${i}]: gap`);
        if (i > 0 && t[i].city_id === t[i - 1].city_id) broken.push(`${t[i].utrip_id}[${i}]: same city`);
      }
    }
    expect(broken).toEqual([]);
    // Nights per booking: P(1 night) = 0.40 as configured.
    const oneNight = rows.filter((r) => days(r.checkout) - days(r.checkin) === 1).length / rows.length;
    expect(Math.abs(oneNight - 0.4)).toBeLessThan(0.02);
  });

  it("each trip is one contiguous block; a user's trips are numbered 1, 2, … in time order", () => {
    expect(new Set(trips.map((t) => t[0].utrip_id)).size).toBe(trips.length);
    expect(trips.length).toBe(SMALL.trips);
    for (let i = 1; i < trips.length; i++) {
      const [prev, cur] = [trips[i - 1][0], trips[i][0]];
      const number = Number(cur.utrip_id.split("_")[1]);
      if (cur.user_id === prev.user_id) {
        expect(number).toBe(Number(prev.utrip_id.split("_")[1]) + 1);
        expect(cur.checkin >= prev.checkin).toBe(true);
      } else {
        expect(cur.user_id).toBeGreaterThan(prev.user_id);
        expect(number).toBe(1);
      }
    }
    const users = new Set(rows.map((r) => r.user_id)).size;
    // 1 + geometric(mean 0.09) trips per user: 3000 / 1.09 ≈ 2750 users.
    expect(SMALL.trips / users).toBeGreaterThan(1.04);
    expect(SMALL.trips / users).toBeLessThan(1.15);
  });

  it("trip lengths: at least 4, mean ≈ 5.4 (4 + 1.4), long tail", () => {
    const lengths = trips.map((t) => t.length);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    // sd of a trip length ≈ 2.5, so the mean of 3000 has sd ≈ 0.05.
    expect(mean).toBeGreaterThan(5.2);
    expect(mean).toBeLessThan(5.6);
    expect(Math.min(...lengths)).toBe(4);
    expect(Math.max(...lengths)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(48);
    // P(length = 4) = 0.96 · 1/2.21 + 0.04 · 1/7 ≈ 0.44
    expect(Math.abs(lengths.filter((l) => l === 4).length / lengths.length - 0.44)).toBeLessThan(0.04);
  });

  it("minCities / maxCities bound the trip lengths", () => {
    const short = generateBookings({ trips: 300, seed: 3, minCities: 1, maxCities: 3 });
    const perTrip = new Map<string, number>();
    for (const r of short) perTrip.set(r.utrip_id, (perTrip.get(r.utrip_id) ?? 0) + 1);
    const lengths = [...perTrip.values()];
    expect(Math.min(...lengths)).toBe(1);
    expect(Math.max(...lengths)).toBe(3);
  });
});

describe("popularity and learnable sequences", () => {
  it("city popularity is skewed: top 1% of cities take > 8% of bookings, top 10% > 35%", () => {
    const counts = new Map<number, number>();
    for (const r of rows) counts.set(r.city_id, (counts.get(r.city_id) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const share = (fraction: number) =>
      sorted.slice(0, Math.ceil(sorted.length * fraction)).reduce((a, b) => a + b, 0) / rows.length;
    // 3000 trips use ≈ 550 cities (uniform: 1% and 10%); measured for seed 7: 13% and 49% (generator v1: 13%, 44%).
    expect(share(0.01)).toBeGreaterThan(0.08);
    expect(share(0.1)).toBeGreaterThan(0.35);
  });

  it("a successor-count model beats most-popular clearly, and beats the same counts read backwards", () => {
    const cut = Math.floor(trips.length * 0.8);
    const train = trips.slice(0, cut);
    const test = trips.slice(cut);
    const successors = new Map<number, Map<number, number>>();
    const predecessors = new Map<number, Map<number, number>>();
    const popularity = new Map<number, number>();
    const bump = (m: Map<number, Map<number, number>>, from: number, to: number) => {
      let inner = m.get(from);
      if (!inner) m.set(from, (inner = new Map()));
      inner.set(to, (inner.get(to) ?? 0) + 1);
    };
    for (const t of train) {
      for (let i = 0; i < t.length; i++) {
        popularity.set(t[i].city_id, (popularity.get(t[i].city_id) ?? 0) + 1);
        if (i > 0) {
          bump(successors, t[i - 1].city_id, t[i].city_id);
          bump(predecessors, t[i].city_id, t[i - 1].city_id);
        }
      }
    }
    const ranked = (m: Map<number, number> | undefined) =>
      m ? [...m.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map((e) => e[0]) : [];
    const mostPopular = ranked(popularity);
    const top10 = (m: Map<number, number> | undefined) => {
      // Counts first, topped up with the most popular cities (so both models always propose 10 cities).
      const list = ranked(m).slice(0, 10);
      for (const c of mostPopular) {
        if (list.length >= 10) break;
        if (!list.includes(c)) list.push(c);
      }
      return list;
    };
    let hitsSuccessor = 0;
    let hitsBackwards = 0;
    let hitsPopular = 0;
    let n = 0;
    for (const t of test) {
      for (let i = 1; i < t.length; i++) {
        const [from, target] = [t[i - 1].city_id, t[i].city_id];
        n++;
        if (top10(successors.get(from)).includes(target)) hitsSuccessor++;
        if (top10(predecessors.get(from)).includes(target)) hitsBackwards++;
        if (mostPopular.slice(0, 10).includes(target)) hitsPopular++;
      }
    }
    const [successor, backwards, popular] = [hitsSuccessor / n, hitsBackwards / n, hitsPopular / n];
    // Hand check: most moves follow a route of ≤ 2 × 5 known successors or a circuit, so a well-fitted successor
    // model reaches ≈ 0.7; measured for seed 7: successor 0.72, read backwards 0.41, most popular 0.19
    // (generator v1: 0.70, 0.45, 0.175).
    expect(n).toBeGreaterThan(2000);
    expect(successor).toBeGreaterThan(0.6);
    expect(successor).toBeGreaterThan(3 * popular);
    expect(successor - backwards).toBeGreaterThan(0.15);
    expect(popular).toBeLessThan(0.25);
  });
});

// The structure of multi-destination trips, on the default log (the one data/README.md documents): each
// statistic's threshold is the value measured on it with a margin, and fails on the generator without the
// feature (measured by disabling each feature once: the values are quoted per test).
describe("trip structure (default log: seed 42, 46,000 trips)", () => {
  let all: BookingRow[][];
  let train: BookingRow[][];
  let test: BookingRow[][];
  beforeAll(() => {
    all = groupTrips(generateBookings({}));
    const cut = Math.floor(all.length * 0.8);
    [train, test] = [all.slice(0, cut), all.slice(cut)];
  });

  it("the last two cities predict the next better than the last one alone, which stays a strong predictor", () => {
    const o = orderAccuracy(train, test);
    // Measured: last 0.200 / 0.628 (acc@1 / acc@10), last two 0.277 / 0.640; where the pair was seen ≥ 5 times
    // (15,171 targets) acc@1 0.228 → 0.327. Without circuits: 0.199 → 0.201 and 0.237 → 0.262;
    // generator v1: 0.213 → 0.210 and 0.255 → 0.274.
    expect(o.n).toBeGreaterThan(25_000);
    expect(o.last.at10).toBeGreaterThan(0.55);
    expect(o.lastTwo.at1 - o.last.at1).toBeGreaterThan(0.05);
    expect(o.seenPairs.n).toBeGreaterThan(10_000);
    expect(o.seenPairs.lastTwo - o.seenPairs.last).toBeGreaterThan(0.06);
  });

  it("tours stay in a country, cross to neighbouring ones, and come back to their region after a detour", () => {
    const shape = tourShape(all, syntheticCountryNeighbours({}));
    // Measured: same country 0.641, neighbour 0.193, elsewhere 0.166 (v1: 0.542, 0.252, 0.206).
    expect(shape.sameCountry).toBeGreaterThan(0.6);
    expect(shape.sameCountry + shape.neighbour).toBeGreaterThan(0.8);
    expect(shape.elsewhere).toBeLessThan(0.19);
    // After a border crossing, back in the country before it: measured 0.095; without the tour's country
    // (routes not drawn to it, fill-ins from the current city's country) 0.039; v1 0.044.
    const detour = returnAfterDetour(all);
    expect(detour.detours).toBeGreaterThan(30_000);
    expect(detour.back).toBeGreaterThan(0.07);
  });

  it("trips head home at their end: the last city is far more often in the booker's country than middle ones", () => {
    const home = homeShares(all);
    // Measured: last 0.339, middle 0.168; without the return home 0.132 / 0.172 (v1: 0.132 / 0.198).
    expect(home.last).toBeGreaterThan(0.28);
    expect(home.last - home.middle).toBeGreaterThan(0.1);
  });

  it("the booker's country and the season shape where trips go; an unrelated split of trips does not", () => {
    const booker = contextInformation(train, test, (t) => t[0].booker_country);
    const byseason = contextInformation(train, test, (t) => season(t[0].checkin));
    const unrelated = contextInformation(train, test, (t) => String(t[0].user_id % 5));
    // Measured (bits per trip abroad): booker 0.256, season 0.097, user_id mod 5 −0.039 (shrinkage noise).
    // Without favourite destinations and climates: booker 0.001, season −0.018; v1: −0.046, −0.041.
    expect(booker.n).toBeGreaterThan(3_000);
    expect(booker.bits).toBeGreaterThan(0.15);
    expect(byseason.bits).toBeGreaterThan(0.05);
    expect(unrelated.bits).toBeLessThan(0.02);
  });
});

describe("options and the default data", () => {
  it("rejects bad options with a clear message", () => {
    expect(() => generateBookings({ trips: 0 })).toThrow(/trips must be an integer/);
    expect(() => generateBookings({ trips: 10, cities: 10, countries: 50 })).toThrow(/cities must be/);
    expect(() => generateBookings({ trips: 10, firstCheckin: "2016-02-30" })).toThrow(/firstCheckin must be a date/);
    expect(() => generateBookings({ trips: 10, minCities: 5, maxCities: 4 })).toThrow(/minCities/);
  });

  it("ensureDefaultData generates the default file once, atomically, and reuses it", async () => {
    const root = path.join(tmp, "project");
    const file = await ensureDefaultData(root);
    expect(file).toBe(defaultDataPath(root));
    const text = fs.readFileSync(file, "utf8");
    const lines = text.split("\n").length - 2; // header and trailing newline
    expect(lines).toBeGreaterThan(200_000);
    expect(lines).toBeLessThan(300_000);
    expect(fs.readdirSync(path.dirname(file))).toEqual([path.basename(file)]);
    const mtime = fs.statSync(file).mtimeMs;
    expect(await ensureDefaultData(root)).toBe(file);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  it(`resolveBookingData prefers ${DATA_ENV_VAR} and names it when the file is missing`, async () => {
    const saved = process.env[DATA_ENV_VAR];
    try {
      const real = path.join(tmp, "train_set.csv");
      fs.writeFileSync(real, BOOKING_COLUMNS.join(",") + "\n");
      process.env[DATA_ENV_VAR] = real;
      expect(await resolveBookingData(tmp)).toBe(real);
      process.env[DATA_ENV_VAR] = path.join(tmp, "missing.csv");
      await expect(resolveBookingData(tmp)).rejects.toThrow(/SESSIONREC_DATA=.*missing\.csv: no such file/);
    } finally {
      if (saved === undefined) delete process.env[DATA_ENV_VAR];
      else process.env[DATA_ENV_VAR] = saved;
    }
  });
});
