// Statistics of the structure of trips in a Booking-shaped log, computed from the rows alone (no access to the
// generator's hidden world). tests/synthetic.test.ts checks them on generated logs; data/README.md quotes them.
import { BOOKER_COUNTRIES, type BookingRow } from "../../lib/data/index";

/** Rows grouped into trips (a trip's rows are contiguous in the log). */
export function groupTrips(rows: BookingRow[]): BookingRow[][] {
  const trips: BookingRow[][] = [];
  for (const row of rows) {
    const last = trips[trips.length - 1];
    if (last && last[0].utrip_id === row.utrip_id) last.push(row);
    else trips.push([row]);
  }
  return trips;
}

type Counts<K, V = number> = Map<K, Map<V, number>>;

function bump<K, V>(m: Counts<K, V>, key: K, value: V): void {
  let inner = m.get(key);
  if (!inner) m.set(key, (inner = new Map()));
  inner.set(value, (inner.get(value) ?? 0) + 1);
}

/** Values by decreasing count, ties by value (deterministic). */
function ranked(m: Map<number, number> | undefined): number[] {
  return m ? [...m.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map((e) => e[0]) : [];
}

/** The first k of `lists` in order, without repeats. */
function topUp(k: number, ...lists: number[][]): number[] {
  const out: number[] = [];
  for (const list of lists) {
    for (const x of list) {
      if (out.length >= k) return out;
      if (!out.includes(x)) out.push(x);
    }
  }
  return out;
}

export interface OrderAccuracy {
  /** Predictions scored: every booking at position ≥ 2 of a held-out trip. */
  n: number;
  /** Accuracy@k of successor counts of the last city, topped up with the most popular cities. */
  last: { at1: number; at10: number };
  /** The same from counts of (second-to-last, last) pairs, backed off to the last city's counts, then popularity. */
  lastTwo: { at1: number; at10: number };
  /** Where the (second-to-last, last) pair was seen ≥ SEEN_PAIR times in train: how many, and both models' acc@1. */
  seenPairs: { n: number; last: number; lastTwo: number };
}

/** Training occurrences of a pair for its counts to be a fair estimate of the next city's distribution. */
export const SEEN_PAIR = 5;

/**
 * How much better the last two cities predict the next than the last one alone: count models fitted on `train`,
 * scored on `test` at positions ≥ 2 (both models see the same targets). A first-order walk gives lastTwo ≈ last
 * (pair counts are sparser, so slightly worse); a walk with trip-level state gives lastTwo > last.
 */
export function orderAccuracy(train: BookingRow[][], test: BookingRow[][]): OrderAccuracy {
  const byLast: Counts<number> = new Map();
  const byPair: Counts<string> = new Map();
  const popularity = new Map<number, number>();
  for (const t of train) {
    for (let i = 0; i < t.length; i++) {
      popularity.set(t[i].city_id, (popularity.get(t[i].city_id) ?? 0) + 1);
      if (i >= 1) bump(byLast, t[i - 1].city_id, t[i].city_id);
      if (i >= 2) bump(byPair, `${t[i - 2].city_id},${t[i - 1].city_id}`, t[i].city_id);
    }
  }
  const popular = ranked(popularity).slice(0, 10);
  let n = 0;
  const hits = { last1: 0, last10: 0, two1: 0, two10: 0, seen: 0, seenLast: 0, seenTwo: 0 };
  for (const t of test) {
    for (let i = 2; i < t.length; i++) {
      const target = t[i].city_id;
      const fromLast = ranked(byLast.get(t[i - 1].city_id));
      const last = topUp(10, fromLast, popular);
      const pairCounts = byPair.get(`${t[i - 2].city_id},${t[i - 1].city_id}`);
      const two = topUp(10, ranked(pairCounts), fromLast, popular);
      let pairSeen = 0;
      for (const c of pairCounts?.values() ?? []) pairSeen += c;
      if (pairSeen >= SEEN_PAIR) {
        hits.seen++;
        if (last[0] === target) hits.seenLast++;
        if (two[0] === target) hits.seenTwo++;
      }
      n++;
      if (last[0] === target) hits.last1++;
      if (last.includes(target)) hits.last10++;
      if (two[0] === target) hits.two1++;
      if (two.includes(target)) hits.two10++;
    }
  }
  return {
    n,
    last: { at1: hits.last1 / n, at10: hits.last10 / n },
    lastTwo: { at1: hits.two1 / n, at10: hits.two10 / n },
    seenPairs: { n: hits.seen, last: hits.seenLast / hits.seen, lastTwo: hits.seenTwo / hits.seen },
  };
}

/**
 * Country-level memory: how many moves follow a border crossing (the last city in another country than the
 * second-to-last), and the share of them that go back to the second-to-last city's country. A tour that makes a
 * detour across a border comes back to its region; a first-order walk has forgotten where it came from.
 */
export function returnAfterDetour(trips: BookingRow[][]): { detours: number; back: number } {
  let detours = 0;
  let back = 0;
  for (const t of trips) {
    for (let i = 2; i < t.length; i++) {
      if (t[i - 1].hotel_country === t[i - 2].hotel_country) continue;
      detours++;
      if (t[i].hotel_country === t[i - 2].hotel_country) back++;
    }
  }
  return { detours, back: back / detours };
}

export interface TourShape {
  /** Shares of moves (consecutive bookings) to the same country, to a neighbouring one, and elsewhere. */
  sameCountry: number;
  neighbour: number;
  elsewhere: number;
  /** Mean number of consecutive bookings in one country (a run), over runs that are not a trip's last. */
  meanRun: number;
}

/** Tours move through a country, then on to a neighbouring one: long runs in one country, crossings to neighbours. */
export function tourShape(trips: BookingRow[][], neighbours: Map<string, string[]>): TourShape {
  let moves = 0;
  let same = 0;
  let neighbour = 0;
  let runs = 0;
  let runLengths = 0;
  for (const t of trips) {
    let run = 1;
    for (let i = 1; i < t.length; i++) {
      moves++;
      if (t[i].hotel_country === t[i - 1].hotel_country) {
        same++;
        run++;
        continue;
      }
      if (neighbours.get(t[i - 1].hotel_country)?.includes(t[i].hotel_country)) neighbour++;
      runs++;
      runLengths += run;
      run = 1;
    }
  }
  return {
    sameCountry: same / moves,
    neighbour: neighbour / moves,
    elsewhere: (moves - same - neighbour) / moves,
    meanRun: runLengths / runs,
  };
}

/** Share of bookings in the booker's own country: at the trip's last city, and at its middle cities. */
export function homeShares(trips: BookingRow[][]): { last: number; middle: number } {
  let last = 0;
  let middle = 0;
  let middleCount = 0;
  for (const t of trips) {
    if (t[t.length - 1].hotel_country === t[0].booker_country) last++;
    for (let i = 1; i < t.length - 1; i++) {
      middleCount++;
      if (t[i].hotel_country === t[0].booker_country) middle++;
    }
  }
  return { last: last / trips.length, middle: middle / middleCount };
}

/** Season of a check-in date: summer (Jun–Sep), winter (Dec–Feb), or between. */
export function season(date: string): "summer" | "winter" | "between" {
  const month = Number(date.slice(5, 7));
  if (month >= 6 && month <= 9) return "summer";
  if (month === 12 || month <= 2) return "winter";
  return "between";
}

/**
 * How much a trip-level context (booker country, season of the start) tells about where a trip goes abroad: the
 * bits per trip saved on `test` by predicting the country of its first city (when not a booker country) from the
 * trip's context rather than from all trips, both distributions fitted on `train`. The context's counts are shrunk
 * towards the overall distribution (prior weight CONTEXT_PRIOR trips), so a context that says nothing saves ≈ 0 bits
 * (slightly less, from noise).
 */
export function contextInformation(
  train: BookingRow[][],
  test: BookingRow[][],
  context: (trip: BookingRow[]) => string,
): { n: number; bits: number } {
  const byContext: Counts<string, string> = new Map();
  const overall = new Map<string, number>();
  const contextTotal = new Map<string, number>();
  let total = 0;
  // Trips starting in a booker country are left out: which booker countries are "abroad" differs by booker, which
  // would tell the context apart for free.
  const bookers = new Set<string>(BOOKER_COUNTRIES);
  for (const t of train) {
    if (bookers.has(t[0].hotel_country)) continue;
    const c = t[0].hotel_country;
    const key = context(t);
    bump(byContext, key, c);
    overall.set(c, (overall.get(c) ?? 0) + 1);
    contextTotal.set(key, (contextTotal.get(key) ?? 0) + 1);
    total++;
  }
  const countries = overall.size + 1; // one slot for countries unseen in train
  const pOverall = (c: string) => ((overall.get(c) ?? 0) + 1) / (total + countries);
  let n = 0;
  let bits = 0;
  for (const t of test) {
    if (bookers.has(t[0].hotel_country)) continue;
    const c = t[0].hotel_country;
    const key = context(t);
    const inner = byContext.get(key);
    const seen = contextTotal.get(key) ?? 0;
    const pContext = ((inner?.get(c) ?? 0) + CONTEXT_PRIOR * pOverall(c)) / (seen + CONTEXT_PRIOR);
    bits += Math.log2(pContext / pOverall(c));
    n++;
  }
  return { n, bits: bits / n };
}

/** Prior weight (in trips) of the overall distribution in a context's smoothed distribution. */
export const CONTEXT_PRIOR = 50;
