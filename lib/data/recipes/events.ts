// The general event-log recipe: any click / view / purchase log with one event per row, mapped by column names, into
// a prepared data set folder (docs/data-formats.md). Built only from the general operators of lib/data:
//   1. read CSV / TSV / Parquet / JSON lines (by extension, or `format`) with the mapped columns only; item ids stay
//      integers when the file gives integers, else text; time is an ISO timestamp (an offset or Z is honoured; without
//      one it is UTC) or epoch seconds / milliseconds (`timeUnit`), read as a UTC TIMESTAMP; rows are numbered in
//      file order, which breaks ties between events at the same time;
//   2. sessions: the `session` column, or each user's events cut wherever the user was inactive for longer than
//      `gapMinutes` (default 30; a gap of exactly 30 minutes does not cut); with a leave-one-out split the rows are
//      users (each user's whole history, as SASRec's), not sessions;
//   3. cleaning on the whole log, in this order: consecutive repeats of an item in a session are removed
//      (`removeRepeats`, default on); then GRU4Rec's / session-rec's order — sessions shorter than `minLength` (2) are
//      dropped, items with fewer than `minItemSupport` (5) events are dropped, and sessions left shorter than
//      `minLength` are dropped again (a leave-one-out row also needs one event per held-out split, plus one);
//   4. split: sessions starting before a date, or in the last N days (counted back from the last event), or the
//      last fraction of sessions by start time → test, a session never cut in two; or leave-one-out: each user's last
//      event is the test target (test rows: the whole history; train rows: all but the last event); `validation`
//      carves a valid split from train the same way;
//   5. a workflow fitted on train (`sessionWorkflow`): item ids and each categorical feature encoded with vocabularies
//      of train; with a time split, test / valid events on items unseen in train are dropped (nothing can recommend
//      them), with leave-one-out they stay out-of-vocabulary (a miss, as in SASRec's protocol); repeats made adjacent
//      by that drop are removed; continuous features z-scored on train; one row per session with list columns
//      `<column>_list` in time order; the last `maxLength` events kept; sessions shorter than `minLength` dropped;
//   6. train.parquet, [valid.parquet,] test.parquet, schema.json and workflow/, written all or nothing.
import * as path from "path";
import { z } from "zod";
import type { DatasetSchema } from "../schema";
import { type Database, type DatabaseOptions, withDatabase } from "../database";
import { checkOutputFolder, writeDataset } from "../dataset";
import { AUTO_TYPE, FILE_FORMATS, readEvents } from "../io";
import { Relation } from "../relation";
import { sessionize } from "../sessionize";
import { removeConsecutiveRepeats } from "../sessions";
import { type Split, checkDateText, lastItemSplit, timeSplit } from "../split";
import { formatCount, ident, isNumericType } from "../sql";
import type { WorkflowStep } from "../steps";
import { Workflow } from "../workflow";
import { positiveInteger } from "./options";

/** Column added on reading: the event's row in its file, from 1, which orders events of a session at the same time. */
export const FILE_ROW = "file_row";

/** The session id column the events recipe makes when it cuts sessions at a gap. */
export const SESSION_ID = "session_id";

export const TIME_UNITS = ["iso", "s", "ms"] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

const columnName = z.string().min(1, "expected a column name");

const splitSchema = z.discriminatedUnion("by", [
  z.strictObject({
    by: z.literal("date"),
    date: z.string().refine(isDateText, "expected a date like 2024-03-01 or 2024-03-01 12:00:00"),
  }),
  z.strictObject({ by: z.literal("lastDays"), days: z.number().positive() }),
  z.strictObject({ by: z.literal("fraction"), fraction: z.number().gt(0).lt(1) }),
  z.strictObject({ by: z.literal("leaveOneOut") }),
]);

/**
 * The events recipe's configuration, as JSON (a run config embeds it as `{ "recipe": "events", … }`). Strict: an
 * unknown key is an error. `checkEventsRecipe` turns its errors into one line naming the key.
 */
export const eventsRecipeSchema = z
  .strictObject({
    recipe: z.literal("events").optional(),
    /** The event log (relative paths: to the working folder, or to a config file's folder in the CLI). */
    input: z.string().min(1, "expected a file name"),
    format: z.enum(FILE_FORMATS).optional(),
    columns: z.strictObject({
      item: columnName,
      time: columnName,
      session: columnName.optional(),
      user: columnName.optional(),
      categorical: z.array(columnName).default([]),
      continuous: z.array(columnName).default([]),
    }),
    timeUnit: z.enum(TIME_UNITS).default("iso"),
    /** Inactivity that cuts a user's events into sessions, in minutes (user column only). Default 30. */
    gapMinutes: z.number().positive().optional(),
    filters: z
      .strictObject({
        minItemSupport: z.number().int().min(1).default(5),
        minLength: z.number().int().min(1).default(2),
        maxLength: z.number().int().min(1).optional(),
        removeRepeats: z.boolean().default(true),
      })
      .prefault({}),
    split: splitSchema,
    validation: splitSchema.optional(),
  })
  .superRefine((config, context) => {
    const { columns } = config;
    const issue = (path: (string | number)[], message: string): void => context.addIssue({ code: "custom", path, message });
    if (columns.session === undefined && columns.user === undefined) issue(["columns"], 'give a "session" column, or a "user" column (sessions are then cut at gapMinutes)');
    if (config.gapMinutes !== undefined && columns.session !== undefined) issue(["gapMinutes"], 'applies only without a "session" column (it cuts user streams into sessions)');
    const leaveOneOut = [config.split, config.validation].map((split) => split?.by === "leaveOneOut");
    if ((leaveOneOut[0] || leaveOneOut[1]) && columns.user === undefined) issue(["columns", "user"], "leaveOneOut needs a user column");
    if (config.validation !== undefined && leaveOneOut[0] !== leaveOneOut[1]) issue(["validation", "by"], "carve validation the way the split is made (leaveOneOut with leaveOneOut, by time with by time)");
    if (config.validation?.by === "date" && config.split.by === "date" && config.validation.date >= config.split.date) {
      issue(["validation", "date"], `must come before split.date (${config.split.date})`);
    }
    const named = [columns.item, columns.time, columns.session, columns.user].filter((c): c is string => c !== undefined);
    for (const key of ["categorical", "continuous"] as const) {
      columns[key].forEach((column, i) => {
        if (named.includes(column)) issue(["columns", key, i], `"${column}" is already mapped as the item, time, session or user column`);
      });
    }
    columns.continuous.forEach((column, i) => {
      if (columns.categorical.includes(column)) issue(["columns", "continuous", i], `"${column}" is also listed as categorical`);
    });
    if (config.filters.maxLength !== undefined && config.filters.maxLength < config.filters.minLength) {
      issue(["filters", "maxLength"], `must be >= filters.minLength (${config.filters.minLength})`);
    }
  });

/** A recipe as written (defaults may be left out). */
export type EventsRecipeInput = z.input<typeof eventsRecipeSchema>;
/** A checked recipe with its defaults filled in. */
export type EventsRecipe = z.output<typeof eventsRecipeSchema>;
export type EventsSplit = z.output<typeof splitSchema>;

function isDateText(text: string): boolean {
  try {
    checkDateText(text, "");
    return true;
  } catch {
    return false;
  }
}

/** Checks a recipe; errors are one line, `<source>: <key path>: <what was expected>` for each problem. */
export function checkEventsRecipe(value: unknown, source = "events recipe"): EventsRecipe {
  const parsed = eventsRecipeSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => `${[...issue.path, key].join(".")}: unknown key`).join("; ");
    const at = issue.path.length === 0 ? "(top level)" : issue.path.join(".");
    return `${at}: ${issue.message}`;
  });
  const error = new Error(`${source}: ${problems.join("; ")}`);
  (error as Error & { usage?: boolean }).usage = true; // the CLI exits 2: the config is the user's to fix
  throw error;
}

export interface SessionWorkflowOptions {
  /** The item id column (the output's item column is `<item>_list`, its vocabulary "item"). */
  item: string;
  /** How events are ordered into sessions. */
  session: string;
  time: string;
  tieBreak?: string[];
  /** Columns encoded each with its own vocabulary (named after the column), collected as `<column>_list`. */
  categorical?: string[];
  /** Numeric columns z-scored on train, collected as `<column>_list`. */
  continuous?: string[];
  /** Events on items outside the train vocabulary: "drop" them, or "keep" them as out-of-vocabulary (id 1). */
  unseenItems: "drop" | "keep";
  /** Drop an event on the same item as the session's previous event (after the unseen ones are dropped). */
  removeRepeats?: boolean;
  /** Keep the last `maxLength` events of each session. Default: whole sessions. */
  maxLength?: number;
  /** Fewest events a session needs. */
  minLength: number;
  /** Who is asking, for option errors. */
  recipe: string;
}

/**
 * The steps turning ordered events into one row per session, fitted on train: the events recipe's, and the
 * yoochoose and sequences recipes' (which are configurations of it).
 */
export function sessionWorkflow(options: SessionWorkflowOptions): Workflow {
  const { item, recipe } = options;
  const minLength = positiveInteger(recipe, options.minLength, "minLength");
  const order = { session: options.session, time: options.time, ...(options.tieBreak === undefined ? {} : { tieBreak: options.tieBreak }) };
  const categorical = options.categorical ?? [];
  const continuous = options.continuous ?? [];
  const steps: WorkflowStep[] = [
    { op: "categorify", name: "item", columns: [item] },
    ...categorical.map((column): WorkflowStep => ({ op: "categorify", name: vocabularyName(column), columns: [column] })),
    ...(options.unseenItems === "drop" ? [{ op: "dropOutOfVocabulary" as const, columns: [item] }] : []),
    ...(options.removeRepeats ? [{ op: "removeConsecutiveRepeats" as const, ...order, column: item }] : []),
    ...continuous.map((column): WorkflowStep => ({ op: "normalize", column })),
    { op: "groupbySession", ...order, lists: [item, ...categorical, ...continuous], count: "length" },
    ...(options.maxLength === undefined ? [] : [{ op: "sliceLast" as const, n: positiveInteger(recipe, options.maxLength, "maxLength") }]),
    { op: "filterMinLength", column: `${item}_list`, min: minLength },
  ];
  return new Workflow({ steps, item: `${item}_list` });
}

/** A vocabulary (file) name for a feature column: letters, digits, _ . - kept, anything else as _. */
function vocabularyName(column: string): string {
  return column === "item" ? "item_feature" : column.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/** How `prepareSessions` treats events already read and typed (the events recipe's settings, resolved). */
export interface SessionRecipe {
  item: string;
  time: string;
  /** The column grouping events into rows: the session (time splits) or the user (leave-one-out). */
  session: string;
  tieBreak?: string[];
  categorical: string[];
  continuous: string[];
  minItemSupport: number;
  minLength: number;
  /** Fewest events a session (or user) needs before splitting. Default: minLength, and with leave-one-out at least one per held-out split plus one. */
  minEvents?: number;
  maxLength?: number;
  removeRepeats: boolean;
  split: EventsSplit;
  validation?: EventsSplit;
  /** Vocabularies fitted on the train split (default), or on every event read ("all", SASRec's item ids 1..n). */
  catalogue?: "train" | "all";
  recipe: string;
}

export interface PreparedSessions {
  schema: DatasetSchema;
  workflow: Workflow;
  counts: {
    /** Events and sessions (rows) before cleaning. */
    events: number;
    sessions: number;
    /** What cleaning dropped, in events: consecutive repeats, events of too-short sessions, events on rare items. */
    dropped: { repeats: number; shortSessions: number; rareItems: number };
    /** What cleaning kept. */
    kept: { events: number; sessions: number; items: number };
    /** Sessions (rows) written per split. */
    splits: Record<string, number>;
  };
  /** The cleaned events (a table of `db`), before splitting. */
  cleaned: Relation;
}

/**
 * Steps 3–6 of the events recipe (see the top of this file) on events already read: one column per event of
 * `recipe.item`, `recipe.time` (a TIMESTAMP for time splits; any order for leave-one-out), `recipe.session`, the
 * tie-breaks and the features.
 */
export async function prepareSessions(events: Relation, recipe: SessionRecipe, outDir: string, progress: (message: string) => void): Promise<PreparedSessions> {
  const leaveOneOut = recipe.split.by === "leaveOneOut";
  const workflow = sessionWorkflow({ ...recipe, unseenItems: leaveOneOut ? "keep" : "drop" });
  const order = { session: recipe.session, time: recipe.time, tieBreak: recipe.tieBreak };
  const db = events.db;
  const counted = async (relation: Relation): Promise<{ events: number; sessions: number; items: number }> => {
    const row = await db.row(
      `SELECT count(*) AS events, count(DISTINCT ${ident(recipe.session)}) AS sessions, count(DISTINCT ${ident(recipe.item)}) AS items FROM (${relation.sql}) AS t`,
    );
    return { events: Number(row?.events), sessions: Number(row?.sessions), items: Number(row?.items) };
  };

  const read = await counted(events);
  // A leave-one-out row needs one event per held-out split and one to train on.
  const holdouts = leaveOneOut ? (recipe.validation === undefined ? 1 : 2) : 0;
  const minEvents = recipe.minEvents ?? Math.max(recipe.minLength, holdouts + 1);
  const withoutRepeats = recipe.removeRepeats ? await removeConsecutiveRepeats(events, { ...order, column: recipe.item }) : events;
  const repeatsLeft = await withoutRepeats.count();
  const longEnough = (relation: Relation): Relation =>
    relation.derive((from) => `SELECT * FROM ${from} QUALIFY count(*) OVER (PARTITION BY ${ident(recipe.session)}) >= ${minEvents}`);
  const firstCut = longEnough(withoutRepeats);
  const firstCutLeft = await firstCut.count();
  const supported =
    recipe.minItemSupport > 1
      ? firstCut.derive((from) => `SELECT * FROM ${from} QUALIFY count(*) OVER (PARTITION BY ${ident(recipe.item)}) >= ${recipe.minItemSupport}`)
      : firstCut;
  const supportedLeft = await supported.count();
  const cleaned = await longEnough(supported).materialize(db.uniqueName("cleaned"));
  const kept = await counted(cleaned);
  const dropped = { repeats: read.events - repeatsLeft, shortSessions: repeatsLeft - firstCutLeft + (supportedLeft - kept.events), rareItems: firstCutLeft - supportedLeft };
  progress(
    `cleaned: ${formatCount(kept.events)} events in ${formatCount(kept.sessions)} ${leaveOneOut ? "users" : "sessions"} on ${formatCount(kept.items)} items ` +
      `(dropped ${formatCount(dropped.repeats)} repeats, ${formatCount(dropped.shortSessions)} events of short ${leaveOneOut ? "histories" : "sessions"}, ` +
      `${formatCount(dropped.rareItems)} events on items with < ${recipe.minItemSupport} events)`,
  );
  if (kept.events === 0) {
    throw new Error(`${recipe.recipe}: no events left after cleaning (${leaveOneOut ? "users" : "sessions"} need >= ${minEvents} events, items >= ${recipe.minItemSupport} events; lower filters.minLength or filters.minItemSupport)`);
  }

  const outer = await splitEvents(cleaned, recipe.split, order, recipe.recipe, "test");
  const inner = recipe.validation === undefined ? undefined : await splitEvents(outer.train, recipe.validation, order, `${recipe.recipe} (validation)`, "valid");
  const trainEvents = inner?.train ?? outer.train;
  progress(
    `split (${describeSplit(recipe.split)}${recipe.validation === undefined ? "" : `, validation ${describeSplit(recipe.validation)}`}): ` +
      `${formatCount(inner?.counts.train ?? outer.counts.train)} train events, ${inner === undefined ? "" : `${formatCount(inner.counts.valid)} valid events, `}${formatCount(outer.counts.valid)} test events`,
  );

  const train = recipe.catalogue === "all" ? await fitThenTransform(workflow, events, trainEvents, progress) : await workflow.fit(trainEvents, progress);
  const splits: Record<string, Relation> = { train };
  if (inner !== undefined) splits.valid = await workflow.transform(inner.valid);
  splits.test = await workflow.transform(outer.valid);
  const written = await writeDataset(outDir, splits, workflow, progress);
  return { schema: written.schema, workflow, counts: { events: read.events, sessions: read.sessions, dropped, kept, splits: written.sessions }, cleaned };
}

async function fitThenTransform(workflow: Workflow, fitOn: Relation, rows: Relation, progress: (message: string) => void): Promise<Relation> {
  await workflow.fit(fitOn, progress);
  return workflow.transform(rows);
}

function describeSplit(split: EventsSplit): string {
  switch (split.by) {
    case "date":
      return `sessions from ${split.date}`;
    case "lastDays":
      return `sessions of the last ${split.days} days`;
    case "fraction":
      return `the last ${split.fraction} of sessions`;
    case "leaveOneOut":
      return "each user's last event";
  }
}

/**
 * Holds out the later sessions (or each user's last event): `train` keeps the rest, `valid` is the held-out part,
 * which errors call `heldOut` ("test", or "valid" for a validation split carved from train).
 */
export async function splitEvents(
  events: Relation,
  split: EventsSplit,
  order: { session: string; time: string; tieBreak?: string[] },
  who: string,
  heldOut: "test" | "valid",
): Promise<Split> {
  if (split.by === "leaveOneOut") return lastItemSplit(events, { ...order, n: 1 });
  const s = ident(order.session);
  const t = ident(order.time);
  let date: string;
  if (split.by === "date") date = split.date;
  else if (split.by === "lastDays") {
    const micros = Math.round(split.days * 86400e6);
    const row = await events.db.row(`SELECT CAST(max(${t}) - to_microseconds(${micros}) AS VARCHAR) AS boundary FROM (${events.sql}) AS t`);
    date = String(row?.boundary);
  } else {
    const starts = `SELECT min(${t}) AS start FROM (${events.sql}) AS t GROUP BY ${s}`;
    const sessions = Number((await events.db.row(`SELECT count(*) AS n FROM (${starts}) AS t`))?.n);
    const held = Math.round(split.fraction * sessions);
    if (held < 1 || held >= sessions) {
      throw new Error(`${who}: a fraction of ${split.fraction} of ${sessions} sessions is ${held}: both parts need at least one session`);
    }
    const row = await events.db.row(`SELECT CAST(start AS VARCHAR) AS boundary FROM (${starts}) AS t ORDER BY start DESC LIMIT 1 OFFSET ${held - 1}`);
    date = String(row?.boundary);
  }
  return timeSplit(events, { session: order.session, time: order.time, date }).catch((error: unknown) => {
    if (!(error instanceof Error) || heldOut === "valid") throw error;
    throw new Error(`${who}: ${error.message.replace(/\bvalid\b/g, "test")}`);
  });
}

export interface PrepareEventsOptions {
  /** Output folder: train.parquet, [valid.parquet,] test.parquet, schema.json, workflow/. Replaced only once complete. */
  outDir: string;
  onProgress?: (message: string) => void;
  database?: DatabaseOptions;
}

export interface PreparedEvents extends Omit<PreparedSessions, "cleaned"> {
  /** The checked recipe, defaults filled in. */
  recipe: EventsRecipe;
}

/**
 * Reads the mapped columns of `recipe.input` into a table: the item (integer ids stay BIGINT, anything else VARCHAR),
 * the time as a UTC TIMESTAMP, the session or user column, the features, and `FILE_ROW`. Errors name the file, the
 * row and the column (a mapped column the file lacks: the file's columns too).
 */
export async function readEventLog(db: Database, recipe: EventsRecipe): Promise<Relation> {
  const { columns } = recipe;
  // Without this, a time without an offset would be read in the machine's time zone.
  await db.run("SET TimeZone = 'UTC'");
  const ids = [columns.session, columns.user].filter((c): c is string => c !== undefined);
  const types: Record<string, string> = {
    [columns.item]: AUTO_TYPE,
    [columns.time]: recipe.timeUnit === "iso" ? "TIMESTAMPTZ" : "DOUBLE",
    ...Object.fromEntries(ids.map((c) => [c, AUTO_TYPE])),
    ...Object.fromEntries(columns.categorical.map((c) => [c, AUTO_TYPE])),
    ...Object.fromEntries(columns.continuous.map((c) => [c, "DOUBLE"])),
  };
  const notNull = [columns.item, columns.time, ...ids, ...columns.continuous];
  const raw = await readEvents(db, recipe.input, { columns: types, notNull, format: recipe.format }).catch((error: unknown) => {
    throw inTimeUnitTerms(error, recipe);
  });
  const itemType = (await raw.requireColumns([columns.item], "prepareEvents")).get(columns.item) as string;
  const item = ident(columns.item);
  const time = ident(columns.time);
  const timestamp =
    recipe.timeUnit === "iso"
      ? `CAST(${time} AS TIMESTAMP)`
      : `make_timestamp(CAST(round(${time} * ${recipe.timeUnit === "s" ? 1e6 : 1e3}) AS BIGINT))`;
  const itemId = /INT/.test(itemType) && isNumericType(itemType) ? `CAST(${item} AS BIGINT)` : itemType === "JSON" ? `${item} ->> '$'` : `CAST(${item} AS VARCHAR)`;
  // A table read from one file holds its rows in file order, so row_number() numbers them as the file does.
  const typed = raw.derive((from) => `SELECT * REPLACE (${itemId} AS ${item}, ${timestamp} AS ${time}), row_number() OVER () AS ${ident(FILE_ROW)} FROM ${from}`);
  const events = await typed.materialize(db.uniqueName("event_log"));
  await raw.drop();
  return new Relation(db, events.sql, recipe.input, events.table);
}

const TIME_EXPECTED: Record<TimeUnit, string> = {
  iso: 'an ISO timestamp like 2024-03-01T10:00:00+02:00 (timeUnit "iso")',
  s: 'epoch seconds (timeUnit "s")',
  ms: 'epoch milliseconds (timeUnit "ms")',
};

/** A time value the reader could not parse, said in the recipe's terms rather than DuckDB's type name. */
function inTimeUnitTerms(error: unknown, recipe: EventsRecipe): unknown {
  if (!(error instanceof Error)) return error;
  const type = recipe.timeUnit === "iso" ? "TIMESTAMPTZ" : "DOUBLE";
  const at = `column ${JSON.stringify(recipe.columns.time)}: cannot read `;
  if (!error.message.includes(at) || !error.message.endsWith(` as ${type}`)) return error;
  return new Error(`${error.message.slice(0, -type.length)}${TIME_EXPECTED[recipe.timeUnit]}`);
}

/** Prepares an event log into `options.outDir` as `recipe` says (see the top of this file). */
export async function prepareEvents(config: EventsRecipeInput, options: PrepareEventsOptions): Promise<PreparedEvents> {
  const recipe = checkEventsRecipe(config);
  const progress = options.onProgress ?? (() => undefined);
  checkOutputFolder(options.outDir, "prepareEvents: outDir");
  const { columns } = recipe;
  const leaveOneOut = recipe.split.by === "leaveOneOut";

  return withDatabase(async (db) => {
    progress(`reading ${recipe.input}`);
    const events = await readEventLog(db, recipe);
    progress(`read ${formatCount(await events.count())} events`);
    let session: string;
    let withSessions = events;
    if (leaveOneOut) session = columns.user as string;
    else if (columns.session !== undefined) session = columns.session;
    else {
      session = SESSION_ID;
      const gapMinutes = recipe.gapMinutes ?? 30;
      withSessions = await (await sessionize(events, { user: columns.user as string, time: columns.time, gapSeconds: gapMinutes * 60, output: SESSION_ID })).materialize(db.uniqueName("sessions"));
      progress(`cut sessions at gaps of more than ${gapMinutes} minutes`);
    }
    const prepared = await prepareSessions(withSessions, { ...toSessionRecipe(recipe, session), tieBreak: [FILE_ROW] }, options.outDir, progress);
    const { cleaned: _cleaned, ...result } = prepared;
    progress(`wrote ${Object.entries(result.counts.splits).map(([name, n]) => `${formatCount(n)} ${name}`).join(", ")} ${leaveOneOut ? "users" : "sessions"} to ${options.outDir}`);
    return { ...result, recipe };
  }, options.database);
}

function toSessionRecipe(recipe: EventsRecipe, session: string): SessionRecipe {
  const { columns, filters } = recipe;
  return {
    item: columns.item,
    time: columns.time,
    session,
    categorical: columns.categorical,
    continuous: columns.continuous,
    ...filters,
    split: recipe.split,
    validation: recipe.validation,
    recipe: "prepareEvents",
  };
}

/** Resolves a recipe's relative input path against the folder of the config file it came from. */
export function resolveRecipeInput<T extends { input: string }>(recipe: T, configFile: string): T {
  return { ...recipe, input: path.resolve(path.dirname(configFile), recipe.input) };
}
