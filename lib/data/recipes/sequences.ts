// Preparation of per-user interaction sequences with the leave-one-out split of SASRec (Kang & McAuley 2018) and
// the papers that follow it: the events recipe (./events, `prepareSessions`) configured for a `user item` file —
// rows are users, leave-one-out for test and again for validation, no item support filter, repeats kept:
//   1. input: one `user item` pair per line (SASRec's data files), each user's lines in time order, no header;
//      the line number orders a user's interactions;
//   2. users with fewer than `minInteractions` (3) interactions are dropped: they have no validation and test item;
//   3. per user: the last item is the test target, the second-to-last the validation target, the rest is train
//      (train rows: all but the last two items; valid rows: all but the last; test rows: the whole sequence);
//   4. item ids are encoded with a vocabulary fitted on the train rows only; a valid/test item that never occurs
//      there becomes out-of-vocabulary (id 1) and, as a target, counts as a miss. With `catalogue: "file"` the
//      vocabulary holds every item of the file instead, as SASRec's ids 1..itemnum do: no target is then out of
//      vocabulary, and items never trained on are in the catalogue (and among the sampled negatives of protocol (b));
//   5. each row keeps its last `maxHistory + 1` items (up to `maxHistory` items of history before the one to
//      predict; SASRec's maxlen is 50); rows with fewer than 2 items are dropped (nothing to predict).
import * as fs from "fs";
import * as path from "path";
import type { DatasetSchema } from "../schema";
import { type Database, type DatabaseOptions, withDatabase } from "../database";
import { Relation } from "../relation";
import { formatCount, ident, literal } from "../sql";
import type { Workflow } from "../workflow";
import { prepareSessions, sessionWorkflow } from "./events";
import { positiveInteger } from "./options";

/** Where the Amazon Games sequences live, relative to the repository root (not shipped with the repository). */
export const DEFAULT_GAMES_FILE = path.join("..", "shared", "data", "amazon-games", "interactions.txt");

/** The encoded item sequence column of the output (the schema's item column). */
export const SEQUENCES_ITEM_COLUMN = "item_list";

/** Column added on reading: the line number (from 1), which orders each user's interactions. */
export const LINE = "line";

export interface SequencesWorkflowOptions {
  /** Most items of history before the item to predict; rows keep maxHistory + 1 items. Default 50 (SASRec). */
  maxHistory?: number;
}

/** Encoding, grouping and slicing (steps 4–5 above), fitted on the train rows. */
export function sequencesWorkflow(options: SequencesWorkflowOptions = {}): Workflow {
  const maxHistory = positiveInteger("prepareSequences", options.maxHistory ?? 50, "maxHistory");
  return sessionWorkflow({ ...SESSIONS, unseenItems: "keep", maxLength: maxHistory + 1, minLength: 2, recipe: "prepareSequences" });
}

/** The events recipe's columns here: each user's history is one row, ordered by line. */
const SESSIONS = { item: "item", session: "user", time: LINE };

export interface PrepareSequencesOptions extends SequencesWorkflowOptions {
  /** The `user item` file. Default `DEFAULT_GAMES_FILE`. */
  input?: string;
  /** Output folder: train.parquet, valid.parquet, test.parquet, schema.json, workflow/. Replaced only once complete. */
  outDir: string;
  /** Fewest interactions a user needs. Default 3 (one to train on, one to validate, one to test). */
  minInteractions?: number;
  /** The item ids: "train" (default), the items of the train rows; "file", every item of the input (SASRec's). */
  catalogue?: "train" | "file";
  onProgress?: (message: string) => void;
  database?: DatabaseOptions;
}

export interface PreparedSequences {
  schema: DatasetSchema;
  counts: {
    /** Lines read, and the users and distinct items they hold. */
    interactions: number;
    users: number;
    items: number;
    /** Users kept (at least `minInteractions`). */
    keptUsers: number;
    /** Rows written per split. */
    train: number;
    valid: number;
    test: number;
    /** Valid / test targets unseen in the train rows (out-of-vocabulary: misses under any protocol). */
    validUnseen: number;
    testUnseen: number;
  };
  workflow: Workflow;
}

/**
 * Reads a `user item` file (one pair of integer ids per line, separated by one space, no header) into a table of
 * (user, item, line). Errors name the file and the line.
 */
export async function readUserItemPairs(db: Database, file: string): Promise<Relation> {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new Error(`${file}: no such file (expected one "user item" pair per line)`);
  if (fs.statSync(file).size === 0) throw new Error(`${file}: the file is empty (expected one "user item" pair per line)`);
  const raw = db.uniqueName("pairs_text");
  try {
    // Text first, single-threaded so that row_number() follows the file's lines.
    await db.run(
      `CREATE TEMP TABLE ${ident(raw)} AS SELECT row_number() OVER () AS ${ident(LINE)}, "user", item
       FROM read_csv(${literal(file)}, header = false, delim = ' ', parallel = false, columns = {'user': 'VARCHAR', 'item': 'VARCHAR'})`,
    );
  } catch (error) {
    throw new Error(`${file}: cannot read it as "user item" lines: ${String((error as Error).message ?? error).split("\n")[0]}`);
  }
  const bad = await db.row(
    `SELECT ${ident(LINE)} AS line, "user", item FROM ${ident(raw)}
     WHERE TRY_CAST("user" AS BIGINT) IS NULL OR TRY_CAST(item AS BIGINT) IS NULL ORDER BY ${ident(LINE)} LIMIT 1`,
  );
  if (bad !== undefined) {
    await db.run(`DROP TABLE ${ident(raw)}`);
    throw new Error(`${file}: line ${bad.line}: expected two integer ids "user item", got user ${JSON.stringify(bad.user)} and item ${JSON.stringify(bad.item)}`);
  }
  const pairs = await new Relation(
    db,
    `SELECT CAST("user" AS BIGINT) AS "user", CAST(item AS BIGINT) AS item, ${ident(LINE)} FROM ${ident(raw)}`,
    file,
  ).materialize(db.uniqueName("pairs"));
  await db.run(`DROP TABLE ${ident(raw)}`);
  return pairs;
}

/** Prepares a `user item` file into train / valid / test rows in `outDir` (see the top of this file). */
export async function prepareSequences(options: PrepareSequencesOptions): Promise<PreparedSequences> {
  const progress = options.onProgress ?? (() => undefined);
  const workflow = sequencesWorkflow(options);
  const minInteractions = positiveInteger("prepareSequences", options.minInteractions ?? 3, "minInteractions");
  const input = options.input ?? DEFAULT_GAMES_FILE;
  const catalogue = options.catalogue ?? "train";
  if (catalogue !== "train" && catalogue !== "file") throw new Error(`prepareSequences: catalogue must be "train" or "file", got '${catalogue}'`);
  return withDatabase(async (db) => {
    progress(`reading ${input}`);
    const pairs = await readUserItemPairs(db, input);
    const read = await db.row(`SELECT count(*) AS n, count(DISTINCT "user") AS users, count(DISTINCT item) AS items FROM (${pairs.sql}) AS t`);
    progress(`read ${formatCount(Number(read?.n))} interactions; split into train / valid / test rows`);
    const prepared = await prepareSessions(
      pairs,
      {
        ...SESSIONS,
        categorical: [],
        continuous: [],
        minItemSupport: 1,
        minLength: 2,
        minEvents: minInteractions,
        maxLength: workflow.maxLength,
        removeRepeats: false,
        split: { by: "leaveOneOut" },
        validation: { by: "leaveOneOut" },
        // Only the categorify step has fitted state; fitted on every line, it knows every item and nothing else.
        catalogue: catalogue === "file" ? "all" : "train",
        recipe: "prepareSequences",
      },
      options.outDir,
      progress,
    );
    const unseen = async (split: string): Promise<number> => {
      const file = literal(path.join(options.outDir, `${split}.parquet`));
      const row = await db.row(`SELECT count(*) FILTER (WHERE ${ident(SEQUENCES_ITEM_COLUMN)}[-1] = 1) AS n FROM read_parquet(${file})`);
      return Number(row?.n);
    };
    const written = prepared.counts.splits;
    progress(`wrote ${formatCount(written.train)} train, ${formatCount(written.valid)} valid, ${formatCount(written.test)} test rows to ${options.outDir}`);
    return {
      schema: prepared.schema,
      counts: {
        interactions: Number(read?.n),
        users: Number(read?.users),
        items: Number(read?.items),
        keptUsers: prepared.counts.kept.sessions,
        train: written.train,
        valid: written.valid,
        test: written.test,
        validUnseen: await unseen("valid"),
        testUnseen: await unseen("test"),
      },
      workflow: prepared.workflow,
    };
  }, options.database);
}
