// The reference course's preparation of the Booking.com Multi-Destination Trips data (NVIDIA Merlin, GTC 2023
// session-based tutorial), step by step, built only from the general operators of lib/data:
//   1. time split: trips starting before 2017-01-01 → train, the others → valid (a trip is never cut in two);
//   2. per booking: weekday of check-in and of check-out, month of check-in (each its own vocabulary), length of
//      stay = days(checkout − checkin) → log1p → z-score (fitted on train bookings);
//   3. encoding fitted on train: city_id (rare cities → out-of-vocabulary), booker_country and hotel_country with
//      ONE shared vocabulary; bookings whose city is out-of-vocabulary are dropped;
//   4. one row per trip, lists in check-in order, city_id_count; the last `maxLength` entries of each list; trips
//      with at least `minLength` cities; num_city_visited = log1p(city_id_count) → z-score (fitted on train trips).
import * as os from "os";
import type { DatasetSchema } from "../schema";
import { type DatabaseOptions, withDatabase } from "../database";
import { checkOutputFolder, writeDataset } from "../dataset";
import { readEvents } from "../io";
import { formatCount } from "../sql";
import { checkDateText, timeSplit } from "../split";
import { type WorkflowStep, inputTimeOrders } from "../steps";
import { EmptiedByStepError, Workflow } from "../workflow";
import { positiveInteger } from "./options";

/** Columns of train_set.csv the preparation reads, with their types (user_id, device_class, affiliate_id are unused). */
export const BOOKING_INPUT_COLUMNS: Record<string, string> = {
  utrip_id: "VARCHAR",
  checkin: "DATE",
  checkout: "DATE",
  city_id: "INTEGER",
  booker_country: "VARCHAR",
  hotel_country: "VARCHAR",
};

/** Per-booking columns that become time-ordered lists of each trip. */
export const BOOKING_LIST_COLUMNS = [
  "city_id",
  "booker_country",
  "hotel_country",
  "weekday_checkin",
  "weekday_checkout",
  "month_checkin",
  "length_of_stay",
] as const;

export interface BookingWorkflowOptions {
  /** Entries kept per list (the last ones). Default 10. */
  maxLength?: number;
  /** Fewest cities a trip needs (after dropping unknown cities). Default 2. */
  minLength?: number;
  /** Cities booked fewer times in train are out-of-vocabulary (and their bookings dropped). Default 1. */
  minFrequency?: number;
}

/** The steps of the course's preparation, as a workflow ready to fit. */
export function bookingWorkflow(options: BookingWorkflowOptions = {}): Workflow {
  const maxLength = positiveInteger("prepareBooking", options.maxLength ?? 10, "maxLength");
  const minLength = positiveInteger("prepareBooking", options.minLength ?? 2, "minLength");
  const minFrequency = positiveInteger("prepareBooking", options.minFrequency ?? 1, "minFrequency");
  const steps: WorkflowStep[] = [
    { op: "timeFeatures", column: "checkin", features: { weekday_checkin: "weekday", month_checkin: "month" } },
    { op: "timeFeatures", column: "checkout", features: { weekday_checkout: "weekday" } },
    { op: "duration", start: "checkin", end: "checkout", unit: "days", output: "length_of_stay" },
    { op: "log1p", column: "length_of_stay" },
    { op: "normalize", column: "length_of_stay" },
    { op: "categorify", name: "city_id", columns: ["city_id"], minFrequency },
    { op: "categorify", name: "country", columns: ["booker_country", "hotel_country"] },
    { op: "categorify", name: "weekday_checkin", columns: ["weekday_checkin"] },
    { op: "categorify", name: "weekday_checkout", columns: ["weekday_checkout"] },
    { op: "categorify", name: "month_checkin", columns: ["month_checkin"] },
    { op: "dropOutOfVocabulary", columns: ["city_id"] },
    { op: "groupbySession", session: "utrip_id", time: "checkin", lists: [...BOOKING_LIST_COLUMNS], count: "city_id_count" },
    { op: "sliceLast", n: maxLength },
    { op: "filterMinLength", column: "city_id_count", min: minLength },
    { op: "log1p", column: "city_id_count", output: "num_city_visited" },
    { op: "normalize", column: "num_city_visited" },
  ];
  return new Workflow({ steps, item: "city_id_list" });
}

export interface PrepareBookingOptions extends BookingWorkflowOptions {
  /** train_set.csv, or a Parquet file with its columns. */
  input: string;
  /** Output folder: train.parquet, valid.parquet, schema.json, workflow/. Replaced only once complete. */
  outDir: string;
  /** Trips starting before this date → train, the others → valid. Default "2017-01-01". */
  splitDate?: string;
  onProgress?: (message: string) => void;
  /** DuckDB settings. Default: DuckDB's, except `memoryLimit` (see `defaultMemoryLimit`). */
  database?: DatabaseOptions;
}

export interface PreparedBooking {
  schema: DatasetSchema;
  counts: {
    /** Bookings read. */
    events: number;
    /** Bookings in each split before any filtering. */
    trainEvents: number;
    validEvents: number;
    /** Trips written. */
    train: number;
    valid: number;
  };
  /** The fitted workflow (also saved under `<outDir>/workflow`). */
  workflow: Workflow;
}

/**
 * 2.5 GB, or half the RAM when that is less: DuckDB spills beyond it, which keeps 10M bookings under ~3 GB of RSS
 * for a few seconds more (its own default, 80% of the RAM, lets it hold everything).
 */
export function defaultMemoryLimit(): string {
  return `${Math.floor(Math.min(2500, os.totalmem() / 2 / 2 ** 20))}MB`;
}

/** A train split that the trip length filter left empty, said in trips and cities, with the option to change. */
function inBookingTerms(error: unknown): unknown {
  if (!(error instanceof EmptiedByStepError)) return error;
  const min = error.step.min;
  return new Error(`prepareBooking: no train trip has >= ${min} cities (minLength, --min-length ${min}); the longest has ${error.largest ?? 0}`);
}

/** Prepares the Booking.com trips into `outDir` as the reference course does (see the top of this file). */
export async function prepareBooking(options: PrepareBookingOptions): Promise<PreparedBooking> {
  const progress = options.onProgress ?? (() => undefined);
  // Every option is checked here, before any SQL runs, so that errors name the option rather than a query.
  const workflow = bookingWorkflow(options);
  const splitDate = checkDateText(options.splitDate ?? "2017-01-01", "prepareBooking: splitDate");
  checkOutputFolder(options.outDir, "prepareBooking: outDir");

  return withDatabase(async (db) => {
    progress(`reading ${options.input}`);
    const events = await readEvents(db, options.input, {
      columns: BOOKING_INPUT_COLUMNS,
      notNull: ["utrip_id", "checkin", "checkout"],
      ordered: inputTimeOrders(workflow.steps, workflow.inputColumns), // checkout not before checkin
    });
    const eventCount = await events.count();
    progress(`read ${formatCount(eventCount)} bookings`);

    const split = await timeSplit(events, { session: "utrip_id", time: "checkin", date: splitDate });
    await events.drop(); // the split holds its own copy
    progress(`split at ${splitDate}: ${formatCount(split.counts.train)} train bookings, ${formatCount(split.counts.valid)} valid bookings`);

    const train = await workflow.fit(split.train, progress).catch((error: unknown) => {
      throw inBookingTerms(error);
    });
    const valid = await workflow.transform(split.valid);
    const written = await writeDataset(options.outDir, { train, valid }, workflow, progress);
    progress(`wrote ${formatCount(written.sessions.train)} train trips and ${formatCount(written.sessions.valid)} valid trips to ${options.outDir}`);
    return {
      schema: written.schema,
      counts: {
        events: eventCount,
        trainEvents: split.counts.train,
        validEvents: split.counts.valid,
        train: written.sessions.train,
        valid: written.sessions.valid,
      },
      workflow,
    };
  }, { memoryLimit: defaultMemoryLimit(), ...options.database });
}
