// A deterministic synthetic event log shaped like the Booking.com Multi-Destination Trips data set
// (WSDM WebTour 2021): same columns, same kinds of values, similar statistics, and a planted sequential
// structure that next-item models can learn. It is the project's default data so that everything runs
// offline; point SESSIONREC_DATA at the real `train_set.csv` to use the real thing.
//
// The world: countries scattered on a map (each has a few neighbours), cities clustered in countries with
// Zipf-like popularity, for every city two short lists of preferred next cities ("routes", one per travel
// direction), mostly in the same or a neighbouring country, and classic circuits through a country and on
// across a border. A trip draws its dates, then a destination (the booker's home country, or a country drawn by
// the booker's favourites and the season), and tours it: along a circuit, or by routes of the current city
// drawn towards the tour's country, moving on now and then to a neighbouring country, often ending back home.
// So the last city predicts the next one far better than popularity does, the direction of travel matters
// (A→B does not imply B→A), and earlier cities, the booker's country and the season tell more (data/README.md
// lists the statistics that tests/synthetic.test.ts checks).
//
// Output is produced in columnar chunks (typed arrays) so that 10M-event logs stream to disk in bounded
// memory; `generateBookings` materialises small logs as row objects.
import * as fs from "fs";
import * as path from "path";
import { Random, WeightedSampler } from "../util/random";

/** Column names of the real `train_set.csv`, in file order. */
export const BOOKING_COLUMNS = [
  "user_id",
  "checkin",
  "checkout",
  "city_id",
  "device_class",
  "affiliate_id",
  "booker_country",
  "hotel_country",
  "utrip_id",
] as const;

export const DEVICE_CLASSES = ["desktop", "mobile", "tablet"] as const;

/** The five booker countries of the real data (fictional names chosen by Booking.com to anonymise). */
export const BOOKER_COUNTRIES = ["Gondal", "The Devilfire Empire", "Cobra Island", "Elbonia", "Bozatta"] as const;

/** One booking, exactly as a row of `train_set.csv` reads (dates as YYYY-MM-DD). */
export interface BookingRow {
  user_id: number;
  checkin: string;
  checkout: string;
  city_id: number;
  device_class: string;
  affiliate_id: number;
  booker_country: string;
  hotel_country: string;
  utrip_id: string;
}

export interface SyntheticBookingsOptions {
  /** Number of trips (sessions). Default 46_000, about 250k bookings. */
  trips?: number;
  /** Seed of everything random. Default 42. */
  seed?: number;
  /** Number of distinct cities. Default: the real ratio 39,901 cities per 217,686 trips, within [2 × countries, 39,901]. */
  cities?: number;
  /** Number of hotel countries (the first five are the booker countries). Default 195, at least 5. */
  countries?: number;
  /** Number of distinct affiliate ids. Default 3,200. */
  affiliates?: number;
  /** Fewest bookings in a trip. Default 4, as in the real data (it keeps trips of 4+ cities). */
  minCities?: number;
  /** Most bookings in a trip. Default 48 (the real maximum). Mean trip length ≈ minCities + 1.4. */
  maxCities?: number;
  /** Off a circuit, probability that the next city is one of the current city's preferred next cities. Default 0.65. */
  followProbability?: number;
  /** First possible check-in, YYYY-MM-DD. Default "2015-12-31" (as in the real data). */
  firstCheckin?: string;
  /** Last possible check-in, YYYY-MM-DD. Default "2017-02-27" (as in the real data). */
  lastCheckin?: string;
}

type ResolvedOptions = Required<SyntheticBookingsOptions>;

export const DEFAULT_SYNTHETIC_TRIPS = 46_000;
export const DEFAULT_SYNTHETIC_SEED = 42;
const REAL_CITIES = 39_901;
const REAL_TRIPS = 217_686;

/** Bump when the generator's output for a given seed changes: the cached default file name carries it. */
export const SYNTHETIC_GENERATOR_VERSION = 2;

/** Decoded columns of consecutive bookings; a user's trips never straddle two chunks. */
export interface BookingChunk {
  rows: number;
  userId: Int32Array;
  /** Days since 1970-01-01 (UTC). */
  checkinDay: Int32Array;
  checkoutDay: Int32Array;
  cityId: Int32Array;
  /** Index into DEVICE_CLASSES. */
  device: Uint8Array;
  affiliateId: Int32Array;
  /** Index into `countryNames`. */
  bookerCountry: Uint16Array;
  /** Index into `countryNames`. */
  hotelCountry: Uint16Array;
  /** 1-based trip number of the user: utrip_id = `${userId}_${tripNumber}`. */
  tripNumber: Uint16Array;
  countryNames: readonly string[];
}

export interface SyntheticStats {
  rows: number;
  trips: number;
  users: number;
  cities: number;
  firstCheckin: string;
  lastCheckin: string;
}

// ---------------------------------------------------------------------------------------------------------
// Shape constants (why these values: they reproduce the published statistics of the real set).

/** Zipf exponent and offset of city popularity: top 1% of cities take roughly 40% of bookings. */
const CITY_ZIPF = { exponent: 1.0, offset: 3 };
/** Zipf exponent of country sizes (number of cities and traffic). */
const COUNTRY_ZIPF_EXPONENT = 1.1;
/** Popularity ranks given to the booker countries: they are also among the largest destinations. */
const BOOKER_COUNTRY_RANKS = [0, 1, 3, 6, 11];
/** Share of users per booker country. */
const BOOKER_COUNTRY_SHARE = [0.47, 0.2, 0.14, 0.11, 0.08];
const DEVICE_SHARE = [0.62, 0.35, 0.03];
const AFFILIATE_ZIPF_EXPONENT = 1.3;
/** Affiliate and user ids are sparse in the real data; these bound the synthetic id ranges. */
const MAX_AFFILIATE_ID = 10_700;
const USER_ID_MAX_GAP = 55;
const FIRST_USER_ID = 1_000;
/** Each country's nearest countries on the map: where cross-border routes go. */
const NEIGHBOURS_PER_COUNTRY = 4;
/** Preferred next cities per (city, direction): 3..5, weights 1, 1/2, 1/3, … */
const SUCCESSORS_MIN = 3;
const SUCCESSORS_MAX = 5;
const TRAVEL_DIRECTIONS = 2;
const SUCCESSOR_SAME_COUNTRY = 0.7;
/** If the walk does not follow a route: probability of a popular city of the tour's country (else: anywhere). */
const STAY_IN_TOUR = 0.6;
/** Probability that a trip tours the booker's home country (else a destination country drawn by booker and season). */
const DOMESTIC_TRIP = 0.3;
/** Per step, probability that the tour moves on from its country to a neighbouring one. */
const MOVE_ON = 0.15;
/** Weight factor of a route into the tour's current country: the trip's region pulls the walk back to it. */
const TOUR_ROUTE_BOOST = 8;
/** Probability that the last city of a trip abroad is in the booker's home country (heading home). */
const RETURN_HOME = 0.35;
/** A booker country's favourite destinations: its map neighbours and this many others, weighted ×FAVOURITE_BOOST. */
const FAVOURITE_DESTINATIONS = 6;
const FAVOURITE_BOOST = 8;
/** Climates of destination countries and their weight factor per season [summer, winter, between]. */
const CLIMATES = [
  { share: 0.55, factor: [1, 1, 1] }, // temperate
  { share: 0.3, factor: [4, 0.4, 1] }, // sun: a summer destination
  { share: 0.15, factor: [0.4, 4, 1] }, // snow: a winter destination
];
const SEASONS = 3;
/**
 * Classic circuits: fixed sequences of cities through a country, the last ones often across a border. Popular
 * cities lie on several circuits, so where a traveller goes next from them depends on where they came from.
 */
const CIRCUITS_PER_CITY = 0.25;
const CIRCUIT_LENGTH = { min: 5, max: 9 };
/** Per city after a circuit's third, probability that it crosses into a neighbouring country (and stays there). */
const CIRCUIT_CROSS_BORDER = 0.3;
/** Probability that a trip follows a circuit of its destination; per step, that it keeps following it. */
const FOLLOW_CIRCUIT = 0.5;
const KEEP_CIRCUIT = 0.85;
/** Trip length = minCities + X, X a mixture of two geometrics: mean 1.4, long tail to ~40. */
const LENGTH_TAIL = { share: 0.04, shortMean: 1.21, longMean: 6 };
/** Nights per booking: 1..14. */
const NIGHTS_SHARE = [0.4, 0.27, 0.15, 0.08, 0.04, 0.025, 0.02, 0.004, 0.003, 0.002, 0.002, 0.002, 0.001, 0.001];
/** Trips per user = 1 + geometric(mean 0.09): 217,686 trips / 200,153 users in the real data. */
const EXTRA_TRIPS_PER_USER_MEAN = 0.09;
const MAX_TRIPS_PER_USER = 20;
/** Probabilities that a booking keeps the trip's device / affiliate; that a trip keeps the user's affiliate. */
const KEEP_DEVICE = 0.95;
const KEEP_AFFILIATE = 0.85;
const USER_AFFILIATE = 0.6;
/** Start-day seasonality: summer peak, Christmas bump, growth over the period, more departures Thu–Sat.
 * Tuned so that about 15% of trips start on or after 2017-01-01 (a realistic train/valid split). */
const SEASON = { amplitude: 0.3, peakDayOfYear: 196, growth: 2.5, holidayBoost: 0.3 };
const WEEKDAY_WEIGHT = [1.0, 0.85, 0.85, 0.9, 1.1, 1.3, 1.2]; // Sunday..Saturday

const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------------------

function resolveOptions(opts: SyntheticBookingsOptions): ResolvedOptions {
  const trips = opts.trips ?? DEFAULT_SYNTHETIC_TRIPS;
  const countries = opts.countries ?? 195;
  const resolved: ResolvedOptions = {
    trips,
    seed: opts.seed ?? DEFAULT_SYNTHETIC_SEED,
    countries,
    cities:
      opts.cities ?? Math.min(REAL_CITIES, Math.max(2 * countries, Math.round((trips * REAL_CITIES) / REAL_TRIPS))),
    affiliates: opts.affiliates ?? 3_200,
    minCities: opts.minCities ?? 4,
    maxCities: opts.maxCities ?? 48,
    followProbability: opts.followProbability ?? 0.65,
    firstCheckin: opts.firstCheckin ?? "2015-12-31",
    lastCheckin: opts.lastCheckin ?? "2017-02-27",
  };
  const fail = (what: string) => {
    throw new Error(`generateBookings: ${what}`);
  };
  const isInt = (x: number, lo: number, hi = Infinity) => Number.isInteger(x) && x >= lo && x <= hi;
  if (!isInt(resolved.trips, 1, 50_000_000)) fail(`trips must be an integer in [1, 5e7], got ${resolved.trips}`);
  if (!Number.isInteger(resolved.seed)) fail(`seed must be an integer, got ${resolved.seed}`);
  if (!isInt(countries, BOOKER_COUNTRIES.length, 2_000)) fail(`countries must be an integer in [5, 2000], got ${countries}`);
  if (!isInt(resolved.cities, countries, 2_000_000)) {
    fail(`cities must be an integer in [countries = ${countries}, 2e6], got ${resolved.cities}`);
  }
  if (!isInt(resolved.affiliates, 1, MAX_AFFILIATE_ID)) {
    fail(`affiliates must be an integer in [1, ${MAX_AFFILIATE_ID}], got ${resolved.affiliates}`);
  }
  if (!isInt(resolved.minCities, 1) || !isInt(resolved.maxCities, resolved.minCities, 1_000)) {
    fail(`need integers 1 <= minCities <= maxCities <= 1000, got ${resolved.minCities}..${resolved.maxCities}`);
  }
  if (!(resolved.followProbability >= 0 && resolved.followProbability <= 1)) {
    fail(`followProbability must be in [0, 1], got ${resolved.followProbability}`);
  }
  const first = parseDay(resolved.firstCheckin, "firstCheckin");
  const last = parseDay(resolved.lastCheckin, "lastCheckin");
  if (last - first < resolved.maxCities) {
    fail(`the check-in range ${resolved.firstCheckin}..${resolved.lastCheckin} is too short for trips of up to ${resolved.maxCities} bookings`);
  }
  return resolved;
}

function parseDay(date: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new Error(`generateBookings: ${what} must be a date YYYY-MM-DD, got "${date}"`);
  }
  return ms / DAY_MS;
}

function zipfWeights(n: number, exponent: number, offset = 0): Float64Array {
  const w = new Float64Array(n);
  for (let r = 0; r < n; r++) w[r] = 1 / Math.pow(r + 1 + offset, exponent);
  return w;
}

/** `count` distinct ids in [1, maxId], in random order. */
function sparseIds(rng: Random, count: number, maxId: number): Int32Array {
  const pool = rng.permutation(maxId);
  const ids = new Int32Array(count);
  for (let i = 0; i < count; i++) ids[i] = pool[i] + 1;
  return ids;
}

const NAME_SYLLABLES = [
  "al", "bar", "cor", "dun", "el", "fen", "gal", "har", "is", "jor", "kal", "lor", "mor", "nal", "or", "pel",
  "quen", "ros", "sul", "tar", "ul", "vel", "wen", "xan", "yor", "zem", "ath", "bri", "dra", "gry",
];
const NAME_ENDINGS = ["ia", "land", "stan", "ova", "ar", "en", "ora", "burg", "is", "ania"];

/** Fictional country names in the spirit of the real data's; the booker countries come first. */
function countryNames(rng: Random, count: number): string[] {
  const names: string[] = [...BOOKER_COUNTRIES];
  const taken = new Set(names);
  while (names.length < count) {
    const syllables = 1 + rng.int(0, 3);
    let stem = "";
    for (let i = 0; i < syllables; i++) stem += rng.choice(NAME_SYLLABLES);
    let name = stem + rng.choice(NAME_ENDINGS);
    name = name[0].toUpperCase() + name.slice(1);
    if (rng.bernoulli(0.08)) name += " Island";
    if (!taken.has(name)) {
      taken.add(name);
      names.push(name);
    }
  }
  return names;
}

/** Everything fixed before the first trip: countries, cities, routes, id mappings, samplers. */
interface World {
  countryNames: string[];
  /** Hotel country of each city index. */
  cityCountry: Uint16Array;
  /** Public city_id of each city index (sparse, unrelated to popularity). */
  cityId: Int32Array;
  citySampler: WeightedSampler;
  /** Per country: its cities and a popularity sampler over them. */
  countryCities: Int32Array[];
  countryCitySampler: WeightedSampler[];
  /** Each country's nearest countries on the map. */
  neighbours: Int32Array[];
  /** Circuit k is circuitCities[circuitStart[k] .. circuitStart[k + 1]); countryCircuits[c]: circuits starting in c. */
  circuitCities: Int32Array;
  circuitStart: Int32Array;
  countryCircuits: Int32Array[];
  /** Destination country of a trip abroad, per (booker country × SEASONS + season); the booker's own has weight 0. */
  destinationSampler: WeightedSampler[];
  /** successors[(city * TRAVEL_DIRECTIONS + direction) * SUCCESSORS_MAX + k], cumulative weights alongside. */
  successors: Int32Array;
  successorCumulative: Float64Array;
  successorCount: Uint8Array;
  affiliateIds: Int32Array;
  affiliateSampler: WeightedSampler;
  bookerSampler: WeightedSampler;
  deviceSampler: WeightedSampler;
  nightsSampler: WeightedSampler;
  /** Cumulative start-day weights over the check-in range, for start days bounded by a trip's span. */
  startDayCumulative: Float64Array;
  firstDay: number;
}

function buildWorld(o: ResolvedOptions, rng: Random): World {
  const names = countryNames(rng.fork(1), o.countries);

  // Country popularity ranks: booker countries at fixed ranks, the rest in order.
  const countryRank = new Int32Array(o.countries);
  const bookerRank = new Set(BOOKER_COUNTRY_RANKS);
  let nextRank = 0;
  for (let c = 0; c < o.countries; c++) {
    if (c < BOOKER_COUNTRIES.length) countryRank[c] = BOOKER_COUNTRY_RANKS[c];
    else {
      while (bookerRank.has(nextRank)) nextRank++;
      countryRank[c] = nextRank++;
    }
  }
  const countryWeight = new Float64Array(o.countries);
  for (let c = 0; c < o.countries; c++) countryWeight[c] = 1 / Math.pow(countryRank[c] + 1, COUNTRY_ZIPF_EXPONENT);

  // Map positions and nearest neighbours.
  const mapRng = rng.fork(2);
  const x = new Float64Array(o.countries);
  const y = new Float64Array(o.countries);
  for (let c = 0; c < o.countries; c++) {
    x[c] = mapRng.uniform();
    y[c] = mapRng.uniform();
  }
  const neighbours: Int32Array[] = [];
  for (let c = 0; c < o.countries; c++) {
    const others = Array.from({ length: o.countries }, (_, i) => i).filter((i) => i !== c);
    others.sort((a, b) => (x[a] - x[c]) ** 2 + (y[a] - y[c]) ** 2 - ((x[b] - x[c]) ** 2 + (y[b] - y[c]) ** 2) || a - b);
    neighbours.push(Int32Array.from(others.slice(0, NEIGHBOURS_PER_COUNTRY)));
  }

  // Cities: the first `countries` cities seed one country each (no empty country), the rest follow country size.
  const cityRng = rng.fork(3);
  const countrySampler = new WeightedSampler(countryWeight);
  const cityCountry = new Uint16Array(o.cities);
  for (let i = 0; i < o.cities; i++) cityCountry[i] = i < o.countries ? i : countrySampler.sample(cityRng);
  const popularityRank = cityRng.permutation(o.cities);
  const rankWeight = zipfWeights(o.cities, CITY_ZIPF.exponent, CITY_ZIPF.offset);
  const cityWeight = new Float64Array(o.cities);
  for (let i = 0; i < o.cities; i++) cityWeight[i] = rankWeight[popularityRank[i]];
  const cityId = sparseIds(cityRng, o.cities, Math.round(o.cities * 1.7) + 10);

  const members: number[][] = Array.from({ length: o.countries }, () => []);
  for (let i = 0; i < o.cities; i++) members[cityCountry[i]].push(i);
  const countryCities = members.map((m) => Int32Array.from(m));
  const countryCitySampler = countryCities.map((m) => new WeightedSampler(Array.from(m, (i) => cityWeight[i])));
  const citySampler = new WeightedSampler(cityWeight);

  // Routes: per city and direction, a few preferred next cities, mostly in the same or a neighbouring country.
  const routeRng = rng.fork(4);
  const slots = o.cities * TRAVEL_DIRECTIONS;
  const successors = new Int32Array(slots * SUCCESSORS_MAX);
  const successorCumulative = new Float64Array(slots * SUCCESSORS_MAX);
  const successorCount = new Uint8Array(slots);
  for (let city = 0; city < o.cities; city++) {
    const home = cityCountry[city];
    for (let d = 0; d < TRAVEL_DIRECTIONS; d++) {
      const slot = city * TRAVEL_DIRECTIONS + d;
      const want = routeRng.int(SUCCESSORS_MIN, SUCCESSORS_MAX + 1);
      let count = 0;
      let total = 0;
      for (let attempt = 0; count < want && attempt < 20 * want; attempt++) {
        const country =
          routeRng.bernoulli(SUCCESSOR_SAME_COUNTRY) && countryCities[home].length > 1
            ? home
            : neighbours[home][routeRng.int(0, NEIGHBOURS_PER_COUNTRY)];
        const next = countryCities[country][countryCitySampler[country].sample(routeRng)];
        let duplicate = next === city;
        for (let k = 0; k < count; k++) duplicate ||= successors[slot * SUCCESSORS_MAX + k] === next;
        if (duplicate) continue;
        total += 1 / (count + 1);
        successors[slot * SUCCESSORS_MAX + count] = next;
        successorCumulative[slot * SUCCESSORS_MAX + count] = total;
        count++;
      }
      successorCount[slot] = count;
    }
  }

  const circuits = buildCircuits(o, rng.fork(7), countryCities, countryCitySampler, neighbours, countrySampler);
  const destinationSampler = destinationSamplers(o, rng.fork(6), countryWeight, neighbours);

  const metaRng = rng.fork(5);
  const affiliateIds = sparseIds(metaRng, o.affiliates, MAX_AFFILIATE_ID);

  const firstDay = parseDay(o.firstCheckin, "firstCheckin");
  const lastDay = parseDay(o.lastCheckin, "lastCheckin");
  const startDayCumulative = new Float64Array(lastDay - firstDay + 1);
  let cumulative = 0;
  for (let d = firstDay; d <= lastDay; d++) {
    cumulative += startDayWeight(d, (d - firstDay) / (lastDay - firstDay));
    startDayCumulative[d - firstDay] = cumulative;
  }

  return {
    countryNames: names,
    cityCountry,
    cityId,
    citySampler,
    countryCities,
    countryCitySampler,
    neighbours,
    ...circuits,
    destinationSampler,
    successors,
    successorCumulative,
    successorCount,
    affiliateIds,
    affiliateSampler: new WeightedSampler(zipfWeights(o.affiliates, AFFILIATE_ZIPF_EXPONENT)),
    bookerSampler: new WeightedSampler(BOOKER_COUNTRY_SHARE),
    deviceSampler: new WeightedSampler(DEVICE_SHARE),
    nightsSampler: new WeightedSampler(NIGHTS_SHARE),
    startDayCumulative,
    firstDay,
  };
}

/** Circuits of distinct cities: starting country by country size, cities by popularity, the tail maybe abroad. */
function buildCircuits(
  o: ResolvedOptions,
  rng: Random,
  countryCities: Int32Array[],
  countryCitySampler: WeightedSampler[],
  neighbours: Int32Array[],
  countrySampler: WeightedSampler,
): Pick<World, "circuitCities" | "circuitStart" | "countryCircuits"> {
  const count = Math.max(1, Math.round(o.cities * CIRCUITS_PER_CITY));
  const cities: number[] = [];
  const start: number[] = [];
  const byCountry: number[][] = Array.from({ length: o.countries }, () => []);
  for (let k = 0; k < count; k++) {
    const home = k < o.countries ? k : countrySampler.sample(rng);
    const length = rng.int(CIRCUIT_LENGTH.min, CIRCUIT_LENGTH.max + 1);
    const circuit: number[] = [];
    let country = home;
    for (let attempt = 0; circuit.length < length && attempt < 20 * length; attempt++) {
      if (circuit.length >= 3 && country === home && rng.bernoulli(CIRCUIT_CROSS_BORDER)) {
        country = neighbours[home][rng.int(0, neighbours[home].length)];
      }
      const city = countryCities[country][countryCitySampler[country].sample(rng)];
      if (!circuit.includes(city)) circuit.push(city);
    }
    if (circuit.length < 2) continue; // a one-city country has no circuit
    byCountry[home].push(start.length);
    start.push(cities.length);
    cities.push(...circuit);
  }
  start.push(cities.length);
  return {
    circuitCities: Int32Array.from(cities),
    circuitStart: Int32Array.from(start),
    countryCircuits: byCountry.map((c) => Int32Array.from(c)),
  };
}

/**
 * Where trips abroad go, per booker country and season: country popularity, times FAVOURITE_BOOST for the
 * booker's favourite destinations (its neighbours and a few others), times the destination's climate factor for
 * the season (sun countries in summer, snow countries in winter).
 */
function destinationSamplers(
  o: ResolvedOptions,
  rng: Random,
  countryWeight: Float64Array,
  neighbours: Int32Array[],
): WeightedSampler[] {
  const climateSampler = new WeightedSampler(CLIMATES.map((c) => c.share));
  const climate = Array.from({ length: o.countries }, () => climateSampler.sample(rng));
  const samplers: WeightedSampler[] = [];
  for (let booker = 0; booker < BOOKER_COUNTRIES.length; booker++) {
    const affinity = new Float64Array(o.countries).fill(1);
    for (const n of neighbours[booker]) affinity[n] = FAVOURITE_BOOST;
    for (let k = 0; k < FAVOURITE_DESTINATIONS; k++) affinity[rng.int(0, o.countries)] = FAVOURITE_BOOST;
    affinity[booker] = 0;
    for (let season = 0; season < SEASONS; season++) {
      samplers.push(
        new WeightedSampler(Array.from(affinity, (a, c) => countryWeight[c] * a * CLIMATES[climate[c]].factor[season])),
      );
    }
  }
  return samplers;
}

/** Season of a day (days since epoch): 0 summer (Jun–Sep), 1 winter (Dec–Feb), 2 between. */
function seasonOf(day: number): number {
  const month = new Date(day * DAY_MS).getUTCMonth();
  if (month >= 5 && month <= 8) return 0;
  if (month === 11 || month <= 1) return 1;
  return 2;
}

/** Relative number of trips starting on `day` (days since epoch); `progress` is 0..1 through the period. */
function startDayWeight(day: number, progress: number): number {
  const date = new Date(day * DAY_MS);
  const dayOfYear = day - Date.UTC(date.getUTCFullYear(), 0, 1) / DAY_MS;
  const month = date.getUTCMonth();
  const holiday = (month === 11 && date.getUTCDate() >= 20) || (month === 0 && date.getUTCDate() <= 5);
  return (
    (1 + SEASON.amplitude * Math.cos((2 * Math.PI * (dayOfYear - SEASON.peakDayOfYear)) / 365.25)) *
    (1 + SEASON.growth * progress) *
    (holiday ? 1 + SEASON.holidayBoost : 1) *
    WEEKDAY_WEIGHT[date.getUTCDay()]
  );
}

/** Index of the first cumulative weight above `target` among the first `limit` entries. */
function searchCumulative(cumulative: Float64Array, limit: number, target: number): number {
  let lo = 0;
  let hi = limit - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function tripLength(o: ResolvedOptions, rng: Random): number {
  const mean = rng.bernoulli(LENGTH_TAIL.share) ? LENGTH_TAIL.longMean : LENGTH_TAIL.shortMean;
  return Math.min(o.maxCities, o.minCities + rng.geometric(mean));
}

/** Where a trip is: its cities so far, the country its tour is in, and its direction of travel. */
interface Walk {
  city: number;
  /** The city before, or -1 at the start. */
  previous: number;
  tourCountry: number;
  direction: number;
}

/**
 * A preferred next city of the walk's city: route weights 1, 1/2, …, times TOUR_ROUTE_BOOST for routes into the
 * tour's country, never straight back to the previous city. -1 if no route is left.
 */
function followRoute(w: World, rng: Random, walk: Walk): number {
  const slot = walk.city * TRAVEL_DIRECTIONS + walk.direction;
  const count = w.successorCount[slot];
  const base = slot * SUCCESSORS_MAX;
  const weights = [0, 0, 0, 0, 0];
  let total = 0;
  for (let k = 0; k < count; k++) {
    const next = w.successors[base + k];
    if (next === walk.previous) continue;
    weights[k] = (w.cityCountry[next] === walk.tourCountry ? TOUR_ROUTE_BOOST : 1) / (k + 1);
    total += weights[k];
  }
  if (total === 0) return -1;
  let target = rng.uniform() * total;
  for (let k = 0; k < count; k++) {
    target -= weights[k];
    if (target < 0) return w.successors[base + k];
  }
  return w.successors[base + count - 1];
}

function popularCityOf(w: World, rng: Random, country: number): number {
  return w.countryCities[country][w.countryCitySampler[country].sample(rng)];
}

/** Next city of a walk: a route of its city (mostly), else a popular city of the tour's country, else anywhere. */
function nextCity(w: World, o: ResolvedOptions, rng: Random, walk: Walk): number {
  for (let attempt = 0; attempt < 8; attempt++) {
    const u = rng.uniform();
    let next: number;
    if (u < o.followProbability) next = followRoute(w, rng, walk);
    else if (u < o.followProbability + (1 - o.followProbability) * STAY_IN_TOUR) {
      next = popularCityOf(w, rng, walk.tourCountry);
    } else next = w.citySampler.sample(rng);
    if (next >= 0 && next !== walk.city) return next;
  }
  const anywhere = w.citySampler.sample(rng);
  return anywhere !== walk.city ? anywhere : (walk.city + 1) % w.cityId.length;
}

/** One trip's bookings before ids and trip numbers are attached. */
interface Trip {
  startDay: number;
  cities: number[];
  nights: number[];
  devices: number[];
  affiliates: number[];
}

/**
 * A trip: its dates first (the season shapes where it goes), then a tour of the booker's home country or of a
 * destination drawn by booker country and season, moving on now and then to a neighbouring country, and often
 * ending back home.
 */
function generateTrip(w: World, o: ResolvedOptions, rng: Random, home: number, device: number, affiliate: number): Trip {
  const length = tripLength(o, rng);
  const nights: number[] = [];
  const devices: number[] = [];
  const affiliates: number[] = [];
  let span = 0; // nights before the last check-in
  for (let i = 0; i < length; i++) {
    const n = 1 + w.nightsSampler.sample(rng);
    nights.push(n);
    if (i < length - 1) span += n;
    devices.push(rng.bernoulli(KEEP_DEVICE) ? device : w.deviceSampler.sample(rng));
    affiliates.push(rng.bernoulli(KEEP_AFFILIATE) ? affiliate : w.affiliateSampler.sample(rng));
  }
  // The last check-in must stay in range: start no later than (last day - span). A trip too long for the
  // range (possible only for very short ranges) falls back to one night per booking.
  if (span >= w.startDayCumulative.length) {
    nights.fill(1);
    span = length - 1;
  }
  const limit = w.startDayCumulative.length - span;
  const target = rng.uniform() * w.startDayCumulative[limit - 1];
  const startDay = w.firstDay + searchCumulative(w.startDayCumulative, limit, target);

  const destination = rng.bernoulli(DOMESTIC_TRIP)
    ? home
    : w.destinationSampler[home * SEASONS + seasonOf(startDay)].sample(rng);
  const walk: Walk = {
    city: popularCityOf(w, rng, destination),
    previous: -1,
    tourCountry: destination,
    direction: rng.int(0, TRAVEL_DIRECTIONS),
  };
  // A circuit trip joins a circuit of its destination at a random city and follows it while it lasts.
  const circuits = w.countryCircuits[destination];
  let circuitAt = -1;
  let circuitEnd = -1;
  if (circuits.length > 0 && rng.bernoulli(FOLLOW_CIRCUIT)) {
    const k = circuits[rng.int(0, circuits.length)];
    circuitEnd = w.circuitStart[k + 1];
    circuitAt = rng.int(w.circuitStart[k], circuitEnd - 1);
    walk.city = w.circuitCities[circuitAt];
  }
  const cities = [walk.city];
  for (let i = 1; i < length; i++) {
    if (rng.bernoulli(MOVE_ON)) {
      const neighbours = w.neighbours[walk.tourCountry];
      walk.tourCountry = neighbours[rng.int(0, neighbours.length)];
    }
    let next: number;
    if (circuitAt >= 0 && circuitAt + 1 < circuitEnd && rng.bernoulli(KEEP_CIRCUIT)) {
      next = w.circuitCities[++circuitAt];
      walk.tourCountry = w.cityCountry[next];
    } else {
      circuitAt = -1; // a trip that leaves its circuit does not rejoin it
      if (i === length - 1 && destination !== home && rng.bernoulli(RETURN_HOME)) {
        next = popularCityOf(w, rng, home);
        if (next === walk.city) next = nextCity(w, o, rng, walk);
      } else next = nextCity(w, o, rng, walk);
    }
    walk.previous = walk.city;
    walk.city = next;
    cities.push(next);
  }
  return { startDay, cities, nights, devices, affiliates };
}

function allocateChunk(capacity: number, names: readonly string[]): BookingChunk {
  return {
    rows: 0,
    userId: new Int32Array(capacity),
    checkinDay: new Int32Array(capacity),
    checkoutDay: new Int32Array(capacity),
    cityId: new Int32Array(capacity),
    device: new Uint8Array(capacity),
    affiliateId: new Int32Array(capacity),
    bookerCountry: new Uint16Array(capacity),
    hotelCountry: new Uint16Array(capacity),
    tripNumber: new Uint16Array(capacity),
    countryNames: names,
  };
}

/**
 * The synthetic log as a sequence of columnar chunks of about `chunkRows` bookings (users are never split).
 * Rows come grouped by user (ascending user_id), a user's trips in start order, a trip's bookings in time order.
 */
export function* bookingChunks(opts: SyntheticBookingsOptions = {}, chunkRows = 65_536): Generator<BookingChunk> {
  const o = resolveOptions(opts);
  const root = new Random(o.seed);
  const world = buildWorld(o, root.fork(100));
  const rng = root.fork(200);
  const capacity = chunkRows + MAX_TRIPS_PER_USER * o.maxCities;
  let chunk = allocateChunk(capacity, world.countryNames);
  let userId = FIRST_USER_ID;
  let tripsLeft = o.trips;
  while (tripsLeft > 0) {
    userId += 1 + rng.int(0, USER_ID_MAX_GAP);
    const tripCount = Math.min(tripsLeft, MAX_TRIPS_PER_USER, 1 + rng.geometric(EXTRA_TRIPS_PER_USER_MEAN));
    tripsLeft -= tripCount;
    const booker = world.bookerSampler.sample(rng);
    const device = world.deviceSampler.sample(rng);
    const userAffiliate = world.affiliateSampler.sample(rng);
    const trips: Trip[] = [];
    for (let t = 0; t < tripCount; t++) {
      const affiliate = rng.bernoulli(USER_AFFILIATE) ? userAffiliate : world.affiliateSampler.sample(rng);
      trips.push(generateTrip(world, o, rng, booker, device, affiliate));
    }
    trips.sort((a, b) => a.startDay - b.startDay);
    for (let t = 0; t < trips.length; t++) {
      const trip = trips[t];
      let day = trip.startDay;
      for (let i = 0; i < trip.cities.length; i++) {
        const r = chunk.rows++;
        chunk.userId[r] = userId;
        chunk.checkinDay[r] = day;
        day += trip.nights[i];
        chunk.checkoutDay[r] = day;
        chunk.cityId[r] = world.cityId[trip.cities[i]];
        chunk.device[r] = trip.devices[i];
        chunk.affiliateId[r] = world.affiliateIds[trip.affiliates[i]];
        chunk.bookerCountry[r] = booker;
        chunk.hotelCountry[r] = world.cityCountry[trip.cities[i]];
        chunk.tripNumber[r] = t + 1;
      }
    }
    if (chunk.rows >= chunkRows) {
      yield chunk;
      chunk = allocateChunk(capacity, world.countryNames);
    }
  }
  if (chunk.rows > 0) yield chunk;
}

/** Formats days since epoch as YYYY-MM-DD, memoised (a log spans a few hundred distinct days). */
class DayFormatter {
  private readonly cache = new Map<number, string>();
  format(day: number): string {
    let s = this.cache.get(day);
    if (s === undefined) {
      s = new Date(day * DAY_MS).toISOString().slice(0, 10);
      this.cache.set(day, s);
    }
    return s;
  }
}

const MAX_ROWS_IN_MEMORY = 6_000_000;

/**
 * The map behind a synthetic log: each hotel country's nearest countries (by name), where tours and circuits
 * cross borders to. Lets a reader (or a test) tell a move to a neighbouring country from a jump across the map.
 */
export function syntheticCountryNeighbours(opts: SyntheticBookingsOptions = {}): Map<string, string[]> {
  const o = resolveOptions(opts);
  const world = buildWorld(o, new Random(o.seed).fork(100));
  const names = world.countryNames;
  return new Map(names.map((name, c) => [name, Array.from(world.neighbours[c], (n) => names[n])]));
}

/** The synthetic log as row objects, for small logs (tests, notebooks); use `writeBookingsCsv` for big ones. */
export function generateBookings(opts: SyntheticBookingsOptions = {}): BookingRow[] {
  if ((opts.trips ?? DEFAULT_SYNTHETIC_TRIPS) * 5.4 > MAX_ROWS_IN_MEMORY) {
    throw new Error(`generateBookings: ${opts.trips} trips is too many to hold as objects; use writeBookingsCsv`);
  }
  const days = new DayFormatter();
  const rows: BookingRow[] = [];
  for (const c of bookingChunks(opts)) {
    for (let r = 0; r < c.rows; r++) {
      rows.push({
        user_id: c.userId[r],
        checkin: days.format(c.checkinDay[r]),
        checkout: days.format(c.checkoutDay[r]),
        city_id: c.cityId[r],
        device_class: DEVICE_CLASSES[c.device[r]],
        affiliate_id: c.affiliateId[r],
        booker_country: c.countryNames[c.bookerCountry[r]],
        hotel_country: c.countryNames[c.hotelCountry[r]],
        utrip_id: `${c.userId[r]}_${c.tripNumber[r]}`,
      });
    }
  }
  return rows;
}

const COMMA = 44;
const NEWLINE = 10;
const UNDERSCORE = 95;
const DIGIT_ZERO = 48;

/**
 * Encodes chunks as CSV bytes (no header, "\n" line ends) straight into a reused buffer: about ten times
 * faster than building strings, which matters for 10M-row logs. No value holds a comma, quote or non-ASCII
 * character, so nothing needs quoting.
 */
class CsvChunkEncoder {
  private readonly utf8 = new TextEncoder();
  private readonly countryBytes: Uint8Array[];
  private readonly deviceBytes = DEVICE_CLASSES.map((d) => this.utf8.encode(d));
  private readonly dayBytes = new Map<number, Uint8Array>();
  private readonly maxRowBytes: number;
  private buffer = new Uint8Array(0);
  private length = 0;

  constructor(countryNames: readonly string[]) {
    this.countryBytes = countryNames.map((name) => this.utf8.encode(name));
    const longestCountry = Math.max(...this.countryBytes.map((b) => b.length));
    // 5 integers of at most 10 digits, 2 dates, a device, 2 countries, 9 separators.
    this.maxRowBytes = 5 * 10 + 2 * 10 + 7 + 2 * longestCountry + 9;
  }

  /** The chunk's rows as CSV bytes; the view is only valid until the next call. */
  encode(c: BookingChunk): Uint8Array {
    if (this.buffer.length < c.rows * this.maxRowBytes) this.buffer = new Uint8Array(c.rows * this.maxRowBytes);
    this.length = 0;
    for (let r = 0; r < c.rows; r++) {
      this.int(c.userId[r]);
      this.byte(COMMA);
      this.bytes(this.day(c.checkinDay[r]));
      this.byte(COMMA);
      this.bytes(this.day(c.checkoutDay[r]));
      this.byte(COMMA);
      this.int(c.cityId[r]);
      this.byte(COMMA);
      this.bytes(this.deviceBytes[c.device[r]]);
      this.byte(COMMA);
      this.int(c.affiliateId[r]);
      this.byte(COMMA);
      this.bytes(this.countryBytes[c.bookerCountry[r]]);
      this.byte(COMMA);
      this.bytes(this.countryBytes[c.hotelCountry[r]]);
      this.byte(COMMA);
      this.int(c.userId[r]);
      this.byte(UNDERSCORE);
      this.int(c.tripNumber[r]);
      this.byte(NEWLINE);
    }
    return this.buffer.subarray(0, this.length);
  }

  private day(day: number): Uint8Array {
    let b = this.dayBytes.get(day);
    if (b === undefined) {
      b = this.utf8.encode(new Date(day * DAY_MS).toISOString().slice(0, 10));
      this.dayBytes.set(day, b);
    }
    return b;
  }

  private byte(b: number): void {
    this.buffer[this.length++] = b;
  }

  private bytes(b: Uint8Array): void {
    this.buffer.set(b, this.length);
    this.length += b.length;
  }

  /** A non-negative integer in decimal. */
  private int(n: number): void {
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.length + digits;
    this.length = p;
    do {
      const d = n % 10;
      this.buffer[--p] = DIGIT_ZERO + d;
      n = (n - d) / 10;
    } while (n > 0);
  }
}

/** The synthetic log as CSV text with header (for small logs; `writeBookingsCsv` streams big ones). */
export function bookingsCsv(opts: SyntheticBookingsOptions = {}): string {
  const decoder = new TextDecoder();
  let out = BOOKING_COLUMNS.join(",") + "\n";
  let encoder: CsvChunkEncoder | undefined;
  for (const c of bookingChunks(opts)) {
    encoder ??= new CsvChunkEncoder(c.countryNames);
    out += decoder.decode(encoder.encode(c));
  }
  return out;
}

/**
 * Streams the synthetic log to a CSV file with header, in bounded memory. Written to a temporary file in the
 * same folder and renamed at the end, so readers never see a half-written file.
 */
export async function writeBookingsCsv(
  file: string,
  opts: SyntheticBookingsOptions = {},
  onProgress?: (rowsWritten: number) => void,
): Promise<SyntheticStats> {
  const o = resolveOptions(opts);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const handle = await fs.promises.open(tmp, "w");
  const days = new DayFormatter();
  let encoder: CsvChunkEncoder | undefined;
  const cities = new Set<number>();
  let rows = 0;
  let trips = 0;
  let users = 0;
  let firstCheckin = Infinity;
  let lastCheckin = -Infinity;
  try {
    await handle.write(BOOKING_COLUMNS.join(",") + "\n");
    for (const c of bookingChunks(o)) {
      encoder ??= new CsvChunkEncoder(c.countryNames);
      await handle.write(encoder.encode(c));
      for (let r = 0; r < c.rows; r++) {
        // Users never straddle chunks, so row 0 always starts a new user and a new trip.
        const newUser = r === 0 || c.userId[r] !== c.userId[r - 1];
        if (newUser) users++;
        if (newUser || c.tripNumber[r] !== c.tripNumber[r - 1]) trips++;
        cities.add(c.cityId[r]);
        if (c.checkinDay[r] < firstCheckin) firstCheckin = c.checkinDay[r];
        if (c.checkinDay[r] > lastCheckin) lastCheckin = c.checkinDay[r];
      }
      rows += c.rows;
      onProgress?.(rows);
    }
    await handle.close();
    fs.renameSync(tmp, file);
  } catch (err) {
    await handle.close().catch(() => undefined);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return {
    rows,
    trips,
    users,
    cities: cities.size,
    firstCheckin: days.format(firstCheckin),
    lastCheckin: days.format(lastCheckin),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The default data set.

/** Environment variable naming a real `train_set.csv` (or any file of the same columns) to use instead. */
export const DATA_ENV_VAR = "SESSIONREC_DATA";

/** The folder holding the project's package.json: walks up from the working directory (notebooks chdir there). */
export function projectRoot(from = process.cwd()): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        if (JSON.parse(fs.readFileSync(manifest, "utf8")).name === "sessionrec") return dir;
      } catch {
        // An unreadable package.json is not ours: keep walking up.
      }
    }
    if (path.dirname(dir) === dir) return path.resolve(from);
  }
}

/** Where the default synthetic log lives; the name carries the generator version, so a new generator regenerates. */
export function defaultDataPath(root = projectRoot()): string {
  return path.join(
    root,
    "build",
    "data",
    `synthetic-bookings-v${SYNTHETIC_GENERATOR_VERSION}-seed${DEFAULT_SYNTHETIC_SEED}-${DEFAULT_SYNTHETIC_TRIPS}trips.csv`,
  );
}

/**
 * Path of the default synthetic log (≈250k bookings, CSV with the columns of `train_set.csv`), generating it
 * (≈2 s) on first use. Concurrent callers are safe: each writes its own temporary file and renames it into
 * place, and all write identical bytes.
 */
export async function ensureDefaultData(root = projectRoot()): Promise<string> {
  const file = defaultDataPath(root);
  if (!fs.existsSync(file)) await writeBookingsCsv(file, {});
  return file;
}

/** The booking log to use: the file named by SESSIONREC_DATA if set (it must exist), else the default synthetic log. */
export async function resolveBookingData(root = projectRoot()): Promise<string> {
  const fromEnv = process.env[DATA_ENV_VAR];
  if (fromEnv) {
    const file = path.resolve(root, fromEnv);
    if (!fs.existsSync(file)) throw new Error(`${DATA_ENV_VAR}=${fromEnv}: no such file (resolved to ${file})`);
    return file;
  }
  return ensureDefaultData(root);
}
