// `sessionrec prepare`: an event log → a prepared data set folder, through the events recipe (lib/data/recipes/events).
// The recipe comes from flags, from a JSON file (--config), or both (flags override the file's keys).
import { Command, InvalidArgumentError, Option } from "commander";
import * as fs from "fs";
import * as path from "path";
import { FILE_FORMATS } from "../../data/io";
import {
  type EventsRecipeInput,
  type PreparedEvents,
  TIME_UNITS,
  checkEventsRecipe,
  prepareEvents,
  resolveRecipeInput,
} from "../../data/recipes/events";
import { formatCount } from "../../data/sql";
import { UsageError } from "../errors";

const EXAMPLE = `
Examples:
  $ sessionrec prepare clicks.csv --out data/clicks --item item_id --time timestamp --user user_id \\
      --categorical device --split-date 2024-03-04
  $ sessionrec prepare --config events.json --out data/clicks

The folder gets train.parquet, test.parquet (and valid.parquet with a --valid-… split), schema.json and workflow/.
Sessions are cut where a user was inactive for more than --gap (default 30m); --session uses a column instead.
Cleaning, in this order: consecutive repeats (unless --keep-repeats), sessions shorter than --min-length, items with
fewer than --min-item-support events, sessions shorter than --min-length again. Times without a zone are UTC.
See docs/data-formats.md.`;

interface PrepareFlags {
  out: string;
  config?: string;
  format?: string;
  item?: string;
  time?: string;
  session?: string;
  user?: string;
  gap?: number;
  timeUnit?: string;
  categorical?: string[];
  continuous?: string[];
  minItemSupport?: number;
  minLength?: number;
  maxLength?: number;
  keepRepeats?: boolean;
  splitDate?: string;
  splitLastDays?: number;
  splitFraction?: number;
  leaveOneOut?: boolean;
  validDate?: string;
  validLastDays?: number;
  validFraction?: number;
  validLeaveOneOut?: boolean;
}

function integerAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min)
      throw new InvalidArgumentError(`expected an integer >= ${min}, got "${value}"`);
    return n;
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a number > 0, got "${value}"`);
  return n;
}

function columnList(value: string): string[] {
  const columns = value.split(",").map((c) => c.trim());
  if (columns.some((c) => c === ""))
    throw new InvalidArgumentError(`expected column names separated by commas, got "${value}"`);
  return columns;
}

const GAP_UNITS: Record<string, number> = { s: 1 / 60, m: 1, h: 60, d: 1440 };

/** "30m", "90s", "1.5h", "1d" or a plain number of minutes → minutes. */
export function parseGapMinutes(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(value);
  const minutes = match === null ? NaN : Number(match[1]) * GAP_UNITS[match[2] || "m"];
  if (!(minutes > 0)) throw new InvalidArgumentError(`expected a duration like 30m, 90s or 1h, got "${value}"`);
  return minutes;
}

/** The recipe the flags and the config file say, not yet checked. */
function recipeFrom(file: string | undefined, flags: PrepareFlags): Record<string, unknown> {
  let base: Record<string, unknown> = {};
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(flags.config, "utf8");
    } catch {
      throw new UsageError(`--config: ${flags.config}: no such file`);
    }
    try {
      base = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${flags.config}: not valid JSON: ${(error as Error).message}`);
    }
    if (typeof base !== "object" || base === null || Array.isArray(base))
      throw new UsageError(`${flags.config}: expected a JSON object (the events recipe)`);
    if (typeof base.input === "string") base = resolveRecipeInput(base as { input: string }, flags.config);
  }
  const defined = (entries: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
  const object = (value: unknown): Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const split = (
    date?: string,
    days?: number,
    fraction?: number,
    leaveOneOut?: boolean,
    flag = "--split",
  ): Record<string, unknown> | undefined => {
    const given = [
      date === undefined ? undefined : { by: "date", date },
      days === undefined ? undefined : { by: "lastDays", days },
      fraction === undefined ? undefined : { by: "fraction", fraction },
      leaveOneOut ? { by: "leaveOneOut" } : undefined,
    ].filter((s) => s !== undefined);
    if (given.length > 1)
      throw new UsageError(
        `give one of ${flag}-date, ${flag}-last-days, ${flag}-fraction, ${flag === "--split" ? "--leave-one-out" : "--valid-leave-one-out"}`,
      );
    return given[0];
  };
  const recipe: Record<string, unknown> = {
    ...base,
    ...defined({ input: file, format: flags.format, timeUnit: flags.timeUnit, gapMinutes: flags.gap }),
    columns: {
      ...object(base.columns),
      ...defined({
        item: flags.item,
        time: flags.time,
        session: flags.session,
        user: flags.user,
        categorical: flags.categorical,
        continuous: flags.continuous,
      }),
    },
    filters: {
      ...object(base.filters),
      ...defined({
        minItemSupport: flags.minItemSupport,
        minLength: flags.minLength,
        maxLength: flags.maxLength,
        removeRepeats: flags.keepRepeats ? false : undefined,
      }),
    },
  };
  const outer = split(flags.splitDate, flags.splitLastDays, flags.splitFraction, flags.leaveOneOut);
  const inner = split(flags.validDate, flags.validLastDays, flags.validFraction, flags.validLeaveOneOut, "--valid");
  if (outer !== undefined) recipe.split = outer;
  if (inner !== undefined) recipe.validation = inner;
  if (recipe.input === undefined)
    throw new UsageError(
      'give the events file (sessionrec prepare <events-file> --out <folder> …) or a --config with "input"',
    );
  if (recipe.split === undefined)
    throw new UsageError(
      'give a split: --split-date D, --split-last-days N, --split-fraction F or --leave-one-out (or "split" in --config)',
    );
  return recipe;
}

/** The summary printed when the data set is written. */
export function formatPrepared(prepared: PreparedEvents, outDir: string): string {
  const { counts, recipe } = prepared;
  const rows = recipe.split.by === "leaveOneOut" ? "users" : "sessions";
  const items = prepared.workflow.vocabulary("item").values.length;
  return [
    `prepared ${outDir}`,
    `  read:    ${formatCount(counts.events)} events, ${formatCount(counts.sessions)} ${rows}`,
    `  dropped: ${formatCount(counts.dropped.repeats)} repeated events, ${formatCount(counts.dropped.shortSessions)} events of ${rows} under ${recipe.filters.minLength} events, ` +
      `${formatCount(counts.dropped.rareItems)} events on items under ${recipe.filters.minItemSupport} events`,
    `  kept:    ${formatCount(counts.kept.events)} events, ${formatCount(counts.kept.sessions)} ${rows}, ${formatCount(counts.kept.items)} items`,
    `  written: ${Object.entries(counts.splits)
      .map(([name, n]) => `${name} ${formatCount(n)}`)
      .join(", ")} ${rows}; ${formatCount(items)} items in the train vocabulary`,
  ].join("\n");
}

/** Progress of the stages: one line redrawn in place on a terminal's stderr, plain lines on stderr elsewhere. */
function stageProgress(): { report: (message: string) => void; done: () => void } {
  const start = performance.now();
  const tty = process.stderr.isTTY === true;
  const seconds = (): string => `${((performance.now() - start) / 1000).toFixed(1)} s`;
  return {
    report: (message) =>
      process.stderr.write(tty ? `\r\x1b[2Kprepare ${seconds()}: ${message}` : `prepare: ${message}\n`),
    done: () => {
      if (tty) process.stderr.write("\r\x1b[2K");
    },
  };
}

export function prepareCommand(): Command {
  return new Command("prepare")
    .description(
      "prepare an event log (CSV, TSV, Parquet or JSON lines) into a data set folder: sessions, cleaning, split, fitted workflow",
    )
    .argument("[events-file]", 'the event log (or "input" in --config)')
    .requiredOption("--out <folder>", "the data set folder to write (replaced whole once complete)")
    .option("--config <file>", "the events recipe as JSON (docs/data-formats.md); flags override its keys")
    .addOption(
      new Option("--format <format>", "how to read the file (default: by extension)").choices([...FILE_FORMATS]),
    )
    .option("--item <column>", "the item id column")
    .option("--time <column>", "the time column")
    .option("--session <column>", "a session id column (else sessions are cut per --user at --gap)")
    .option("--user <column>", "the user column")
    .option(
      "--gap <duration>",
      "inactivity that starts a new session, e.g. 30m, 90s, 1h (default 30m)",
      parseGapMinutes,
    )
    .addOption(
      new Option("--time-unit <unit>", "ISO timestamps, or epoch seconds / milliseconds (default iso)").choices([
        ...TIME_UNITS,
      ]),
    )
    .option("--categorical <columns>", "categorical per-event features, comma-separated", columnList)
    .option("--continuous <columns>", "numeric per-event features, comma-separated", columnList)
    .option("--min-item-support <n>", "drop items with fewer events (default 5)", integerAtLeast(1))
    .option("--min-length <n>", "drop sessions with fewer events (default 2)", integerAtLeast(1))
    .option("--max-length <n>", "keep the last n events of each session (default: all)", integerAtLeast(1))
    .option("--keep-repeats", "keep consecutive repeats of an item")
    .option("--split-date <date>", "sessions starting on or after this date (UTC) → test")
    .option("--split-last-days <n>", "sessions starting in the last n days → test", positiveNumber)
    .option("--split-fraction <f>", "the last fraction f of sessions, by start time → test", positiveNumber)
    .option("--leave-one-out", "each user's last event → test (rows are users; needs --user)")
    .option("--valid-date <date>", "carve valid from train: sessions from this date")
    .option("--valid-last-days <n>", "carve valid from train: the last n days", positiveNumber)
    .option("--valid-fraction <f>", "carve valid from train: the last fraction f of sessions", positiveNumber)
    .option("--valid-leave-one-out", "carve valid from train: each user's last train event")
    .addHelpText("after", EXAMPLE)
    .action(async (file: string | undefined, flags: PrepareFlags) => {
      const recipe = checkEventsRecipe(recipeFrom(file, flags), flags.config ?? "prepare");
      if (!fs.existsSync(recipe.input)) throw new UsageError(`${recipe.input}: no such file`);
      const progress = stageProgress();
      let prepared: PreparedEvents;
      try {
        prepared = await prepareEvents(recipe as EventsRecipeInput, { outDir: flags.out, onProgress: progress.report });
      } finally {
        progress.done();
      }
      process.stdout.write(`${formatPrepared(prepared, path.resolve(flags.out))}\n`);
    });
}
