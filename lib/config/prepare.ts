// The data a run config names: its prepared folder, prepared now by the config's recipe unless the folder was
// prepared from the same input files (path, size, modification time) with the same settings and steps — a stamp
// file in the folder records those, and the folder is replaced whole on every preparation, so a matching stamp
// proves it current. Then the splits a run needs, loaded.
import * as fs from "fs";
import * as path from "path";
import { WORKFLOW_FOLDER } from "../data/dataset";
import { readSplit, sessionRange, type SessionTable } from "../data/loader";
import { bookingWorkflow, prepareBooking } from "../data/recipes/booking";
import { DEFAULT_GAMES_FILE, prepareSequences, sequencesWorkflow } from "../data/recipes/sequences";
import { DEFAULT_YOOCHOOSE_DIR, prepareYoochoose, yoochooseWorkflow } from "../data/recipes/yoochoose";
import { prepareEvents } from "../data/recipes/events";
import { resolveBookingData } from "../data/synthetic";
import { Workflow } from "../data/workflow";
import type { Protocol } from "../evaluate/protocols";
import { RUN_DEFAULTS } from "../evaluate/defaults";
import type { RunSplits } from "../evaluate/run";
import { ConfigError } from "./read";
import type { DataConfig, EvaluationConfig, RecipeConfig, ValidationConfig } from "./schema";

/** Written into a prepared folder: what it was built from, and what the preparation said. */
export const SOURCE_FILE = "source.json";

interface Stamp {
  source: unknown;
  summary: string;
}

/** A recipe's preparation: its input files, the steps of its workflow, and the run itself. */
interface Preparation {
  /** The recipe's settings other than its input files. */
  settings: unknown;
  inputs: string[];
  steps: unknown;
  run(outDir: string, onProgress: (message: string) => void): Promise<string>;
}

async function preparationOf(recipe: RecipeConfig): Promise<Preparation> {
  switch (recipe.recipe) {
    case "booking": {
      const { recipe: _, input: given, ...options } = recipe;
      const input = path.resolve(given ?? (await resolveBookingData()));
      return {
        settings: options,
        inputs: [input],
        steps: bookingWorkflow(options).steps,
        run: async (outDir, onProgress) => {
          const { counts } = await prepareBooking({ ...options, input, outDir, onProgress });
          return `${counts.train} train and ${counts.valid} valid sessions`;
        },
      };
    }
    case "yoochoose": {
      const { recipe: _, inputDir: given, ...options } = recipe;
      const inputDir = path.resolve(given ?? DEFAULT_YOOCHOOSE_DIR);
      return {
        settings: options,
        inputs: [path.join(inputDir, "train.tsv"), path.join(inputDir, "test.tsv")],
        steps: yoochooseWorkflow(options).steps,
        run: async (outDir, onProgress) => {
          const { counts } = await prepareYoochoose({ ...options, inputDir, outDir, onProgress });
          return `${counts.train} train sessions (${counts.trainEvents} clicks), ${counts.test} test sessions, ${counts.testPredictions} next-click predictions`;
        },
      };
    }
    case "events": {
      const { recipe: _, input: given, ...options } = recipe;
      const input = path.resolve(given);
      return {
        settings: options,
        inputs: [input],
        // The recipe's settings decide its steps (sessionWorkflow); nothing else to record.
        steps: null,
        run: async (outDir, onProgress) => {
          const { counts } = await prepareEvents({ ...options, input }, { outDir, onProgress });
          const splits = Object.entries(counts.splits)
            .map(([name, n]) => `${n} ${name}`)
            .join(", ");
          return `${counts.kept.events} events in ${counts.kept.sessions} sessions on ${counts.kept.items} items kept; ${splits} sessions written`;
        },
      };
    }
    case "sequences": {
      const { recipe: _, input: given, ...options } = recipe;
      const input = path.resolve(given ?? DEFAULT_GAMES_FILE);
      return {
        settings: options,
        inputs: [input],
        steps: sequencesWorkflow(options).steps,
        run: async (outDir, onProgress) => {
          const { counts } = await prepareSequences({ ...options, input, outDir, onProgress });
          const catalogue =
            options.catalogue === "file" ? " (the catalogue: every item of the file, as in SASRec)" : "";
          return (
            `${counts.interactions} interactions of ${counts.users} users and ${counts.items} items${catalogue}; ` +
            `${counts.keptUsers} users with ≥ ${options.minInteractions ?? 3}: ${counts.train} train rows, ${counts.test} test users`
          );
        },
      };
    }
  }
}

function fileStats(file: string): { file: string; bytes: number; modifiedMs: number } {
  if (!fs.existsSync(file)) throw new ConfigError(`data.prepare: input ${file} not found`);
  const stat = fs.statSync(file);
  return { file, bytes: stat.size, modifiedMs: stat.mtimeMs };
}

function readStamp(dir: string): Stamp | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, SOURCE_FILE), "utf8")) as Stamp;
  } catch {
    return null;
  }
}

export interface PreparedData {
  /** Absolute path of the prepared folder. */
  dir: string;
  /** True when the folder was reused (prepared already, current); false when prepared now. */
  reused: boolean;
  /** What the preparation said (counts), when the recipe ran now or its stamp recorded it. */
  summary?: string;
  /** The recipe's input files (none without a recipe). */
  inputs: string[];
}

/**
 * The prepared folder of `data`: prepared now by `data.prepare` unless current (see the top of this file); without
 * `prepare`, the folder must exist already.
 */
export async function prepareData(
  data: DataConfig,
  onProgress: (message: string) => void = () => undefined,
): Promise<PreparedData> {
  const dir = path.resolve(data.folder);
  if (data.prepare === undefined) {
    if (!fs.existsSync(path.join(dir, "schema.json")))
      throw new ConfigError(
        `data.folder: ${dir} holds no prepared data set (no schema.json); name a recipe in data.prepare or prepare it first`,
      );
    return { dir, reused: true, summary: readStamp(dir)?.summary, inputs: [] };
  }
  const preparation = await preparationOf(data.prepare);
  const source = {
    recipe: data.prepare.recipe,
    settings: preparation.settings,
    inputs: preparation.inputs.map(fileStats),
    steps: preparation.steps,
  };
  const stamp = readStamp(dir);
  if (stamp !== null && JSON.stringify(stamp.source) === JSON.stringify(source))
    return { dir, reused: true, summary: stamp.summary, inputs: preparation.inputs };
  const summary = await preparation.run(dir, onProgress);
  fs.writeFileSync(path.join(dir, SOURCE_FILE), JSON.stringify({ source, summary } satisfies Stamp, null, 2) + "\n");
  return { dir, reused: false, summary, inputs: preparation.inputs };
}

/** The splits of the prepared folder `dir` a run uses. */
export interface RunData extends RunSplits {
  dir: string;
  /** The name of the scored split ("test", or "valid" for the course). */
  split: string;
  workflow: Workflow;
  /** Where `valid` comes from: the folder's split, carved from train by `data.validation`, or none. */
  validSource: "folder" | "carved" | "none";
}

/** True when `dir` holds the split `name`. */
export function hasSplit(dir: string, name: string): boolean {
  return fs.existsSync(path.join(dir, `${name}.parquet`));
}

/**
 * Train split by time into what a model trains on and a validation split: the last round(n · fraction) of train's n
 * sessions (rows are in session start order — every recipe writes them so, and the SR-GNN sets' Time is the file
 * order, which is time order) become validation, as in session-rec's and GRU4Rec's "train_valid" splits. Both parts
 * must hold a session. Views of train's arrays: nothing is copied, and the test split is not involved.
 */
export function carveValidation(
  train: SessionTable,
  validation: ValidationConfig,
): { train: SessionTable; valid: SessionTable } {
  const n = train.numSessions;
  // The first round(n · (1 − fraction)) sessions train (bench/knn.ts's cut, so its validation figures are these).
  const cut = Math.round(n * (1 - validation.fraction));
  if (cut < 1 || cut >= n)
    throw new ConfigError(
      `data.validation.fraction: ${validation.fraction} of ${n} train sessions leaves ${cut < 1 ? "nothing to train on" : "no validation session"}`,
    );
  return { train: sessionRange(train, 0, cut), valid: sessionRange(train, cut, n) };
}

/**
 * Loads train, the scored split (`split`, default "test") and a validation split, which picks each model's best
 * epoch: carved from train by `validation` when given (the folder must then have no "valid" split), else the
 * folder's "valid" when it has one and it is not the scored split. Reads the scored split from disk and nothing
 * more: no setting is derived from it here.
 */
export async function loadRunData(
  dir: string,
  split: string = RUN_DEFAULTS.split,
  validation?: ValidationConfig,
): Promise<RunData> {
  for (const name of ["train", split]) {
    if (!hasSplit(dir, name))
      throw new ConfigError(
        `${dir}: no ${name}.parquet (the splits of this data set: ${splitsIn(dir).join(", ") || "none"})`,
      );
  }
  const selection = RUN_DEFAULTS.selectionSplit;
  if (validation !== undefined && (split === selection || hasSplit(dir, selection)))
    throw new ConfigError(
      `data.validation: ${dir} has a ${selection} split already${split === selection ? " (the scored one)" : ""}; carve validation from train only when the data set has none`,
    );
  const withValid = validation === undefined && split !== selection && hasSplit(dir, selection);
  const [wholeTrain, test, folderValid] = await Promise.all([
    readSplit(dir, "train"),
    readSplit(dir, split),
    withValid ? readSplit(dir, selection) : Promise.resolve(undefined as SessionTable | undefined),
  ]);
  const workflow = await Workflow.load(path.join(dir, WORKFLOW_FOLDER));
  if (validation !== undefined) {
    const { train, valid } = carveValidation(wholeTrain, validation);
    const refit = validation.refit === true ? { refit: wholeTrain } : {};
    return { dir, split, train, test, valid, ...refit, workflow, validSource: "carved" };
  }
  return {
    dir,
    split,
    train: wholeTrain,
    test,
    valid: folderValid,
    workflow,
    validSource: folderValid === undefined ? "none" : "folder",
  };
}

/** The splits (`<name>.parquet`) in `dir`. */
export function splitsIn(dir: string): string[] {
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".parquet"))
        .map((f) => f.slice(0, -".parquet".length))
        .sort()
    : [];
}

/** The protocol of a config's `evaluation`. */
export function protocolOf(evaluation: EvaluationConfig): Protocol {
  const { protocol: name, ks } = evaluation;
  if (name === "sampled-last")
    return {
      name,
      ks,
      negatives: evaluation.negatives ?? RUN_DEFAULTS.negatives,
      seed: evaluation.seed ?? RUN_DEFAULTS.negativesSeed,
    };
  return { name, ks }; // negatives and seed: parseRunConfig refuses them here
}
