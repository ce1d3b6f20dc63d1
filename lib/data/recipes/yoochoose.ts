// Preparation of YOOCHOOSE click logs in GRU4Rec's format (RecSys Challenge 2015: tab-separated
// `SessionId ItemId Time`, Time in unix seconds). Steps 2–5 are the events recipe's session workflow
// (`sessionWorkflow` in ./events) configured for these columns; reading and splitting are its own, since the split
// comes as two files and Time stays the file's seconds (as the saved workflow records it):
//   1. train and test come as two files (GRU4Rec's split: the test file is the day after the train file);
//   2. events of a session are ordered by Time, ties kept in file order;
//   3. item ids are encoded with a vocabulary fitted on train; test clicks on items unseen in train are dropped
//      (a model cannot recommend an item it never saw);
//   4. optionally, a click on the same item as the previous click of the session is dropped (off by default: the
//      reference GRU4Rec figures keep consecutive repeats);
//   5. one row per session, clicks in time order, whole sessions unless `maxLength` cuts them; sessions with fewer
//      than `minLength` (2) clicks are dropped, since they hold nothing to predict.
import * as path from "path";
import type { DatasetSchema } from "../schema";
import { type Database, type DatabaseOptions, withDatabase } from "../database";
import { writeDataset } from "../dataset";
import { readEvents } from "../io";
import type { Relation } from "../relation";
import { formatCount, ident, literal } from "../sql";
import type { Workflow } from "../workflow";
import { FILE_ROW, sessionWorkflow } from "./events";

export { FILE_ROW };

/** Where the YOOCHOOSE 100k sample lives, relative to the repository root (not shipped with the repository). */
export const DEFAULT_YOOCHOOSE_DIR = path.join("..", "shared", "data", "yoochoose-100k");

/** Input columns and their types. */
export const YOOCHOOSE_COLUMNS: Record<string, string> = { SessionId: "BIGINT", ItemId: "BIGINT", Time: "DOUBLE" };

/** The encoded item sequence column of the output (the schema's item column). */
export const YOOCHOOSE_ITEM_COLUMN = "ItemId_list";

export interface YoochooseWorkflowOptions {
  /** Drop a click on the same item as the session's previous click. Default false (as the reference figures). */
  removeRepeats?: boolean;
  /** Fewest clicks a session needs (after the drops). Default 2. */
  minLength?: number;
  /** Keep only the last `maxLength` clicks of each session. Default: whole sessions (the longest sets the padding). */
  maxLength?: number;
}

/** The steps of the preparation (see the top of this file), as a workflow ready to fit on train. */
export function yoochooseWorkflow(options: YoochooseWorkflowOptions = {}): Workflow {
  return sessionWorkflow({
    item: "ItemId",
    session: "SessionId",
    time: "Time",
    tieBreak: [FILE_ROW],
    unseenItems: "drop",
    removeRepeats: options.removeRepeats,
    maxLength: options.maxLength,
    minLength: options.minLength ?? 2,
    recipe: "prepareYoochoose",
  });
}

export interface PrepareYoochooseOptions extends YoochooseWorkflowOptions {
  /** Folder holding train.tsv and test.tsv. Default `DEFAULT_YOOCHOOSE_DIR`. */
  inputDir?: string;
  /** Output folder: train.parquet, test.parquet, schema.json, workflow/. Replaced only once complete. */
  outDir: string;
  onProgress?: (message: string) => void;
  database?: DatabaseOptions;
}

export interface PreparedYoochoose {
  schema: DatasetSchema;
  counts: {
    /** Clicks read from each file. */
    trainEvents: number;
    testEvents: number;
    /** Sessions written. */
    train: number;
    test: number;
    /** Clicks left in the written test sessions, and the next-item predictions they hold (clicks − sessions). */
    testClicks: number;
    testPredictions: number;
  };
  workflow: Workflow;
}

/** Reads one click file, numbering its rows in file order. */
async function readClicks(db: Database, file: string): Promise<Relation> {
  const events = await readEvents(db, file, { columns: YOOCHOOSE_COLUMNS, notNull: Object.keys(YOOCHOOSE_COLUMNS) });
  // A table read from one file scans in insertion order (= file order), so this numbers the file's rows.
  return events.withColumns({ [FILE_ROW]: "row_number() OVER ()" });
}

/** Prepares `<inputDir>/train.tsv` and `<inputDir>/test.tsv` into `outDir` (see the top of this file). */
export async function prepareYoochoose(options: PrepareYoochooseOptions): Promise<PreparedYoochoose> {
  const progress = options.onProgress ?? (() => undefined);
  const workflow = yoochooseWorkflow(options);
  const inputDir = options.inputDir ?? DEFAULT_YOOCHOOSE_DIR;
  return withDatabase(async (db) => {
    const files = { train: path.join(inputDir, "train.tsv"), test: path.join(inputDir, "test.tsv") };
    progress(`reading ${files.train} and ${files.test}`);
    const trainEvents = await readClicks(db, files.train);
    const testEvents = await readClicks(db, files.test);
    const eventCounts = { train: await trainEvents.count(), test: await testEvents.count() };
    progress(`read ${formatCount(eventCounts.train)} train clicks and ${formatCount(eventCounts.test)} test clicks`);

    const train = await workflow.fit(trainEvents, progress);
    const test = await workflow.transform(testEvents);
    const written = await writeDataset(options.outDir, { train, test }, workflow, progress);
    const testFile = literal(path.join(options.outDir, "test.parquet"));
    const clicks = await db.row(`SELECT sum(len(${ident(YOOCHOOSE_ITEM_COLUMN)})) AS n FROM read_parquet(${testFile})`);
    const testClicks = Number(clicks?.n);
    progress(`wrote ${formatCount(written.sessions.train)} train and ${formatCount(written.sessions.test)} test sessions to ${options.outDir}`);
    return {
      schema: written.schema,
      counts: {
        trainEvents: eventCounts.train,
        testEvents: eventCounts.test,
        train: written.sessions.train,
        test: written.sessions.test,
        testClicks,
        testPredictions: testClicks - written.sessions.test,
      },
      workflow,
    };
  }, options.database);
}
