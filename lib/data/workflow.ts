// A fitted, saveable preprocessing pipeline (the counterpart of an NVTabular Workflow): a declarative list of
// steps (lib/data/steps.ts). `fit` runs them on the train split and records what they learn (vocabularies,
// means and deviations); `transform` applies exactly the same encoding to any other relation — the valid split,
// new data, or the raw events of one live session given as JS objects (`transformRecords`, for serving).
// `save(dir)` writes workflow.json plus one JSON vocabulary (values and counts) per categorify step; `load(dir)`
// reads them back without needing DuckDB, and `fromSaved` builds the same from already-parsed JSON (lib/data/fitted.ts
// holds the parts of this that a web page can use; lib/data/live.ts encodes live sessions without DuckDB).
import { promises as fs } from "fs";
import * as path from "path";
import type { ColumnSchema, DatasetSchema } from "./schema";
import type { Vocabulary } from "./categorify";
import type { Database } from "./database";
import type { NormalizeStats } from "./features";
import { writeDirectoryAtomically } from "./files";
import {
  type FittedWorkflow,
  type SavedWorkflow,
  type SavedWorkflowSources,
  VOCABULARY_FOLDER,
  WORKFLOW_FILE,
  checkSteps,
  fittedVocabularies,
  fittedVocabulary,
  outputColumnsOf,
  parseSavedWorkflow,
  savedVocabularyNames,
} from "./fitted";
import { fromRecords } from "./io";
import type { Relation } from "./relation";
import { longest } from "./sessions";
import { ident } from "./sql";
import {
  type ColumnInfos,
  type StepStats,
  type WorkflowStep,
  applyStep,
  describeStep,
  fitStep,
  stepColumns,
  stepFilters,
  stepReads,
} from "./steps";

export { VOCABULARY_FOLDER, WORKFLOW_FILE };

export interface WorkflowConfig {
  steps: WorkflowStep[];
  /** The output list column of items to predict (e.g. "city_id_list"); it must be an encoded list. */
  item: string;
}

export interface TransformOptions {
  /** Apply the steps that drop rows (dropOutOfVocabulary, filterMinLength). Default true, as in training. */
  filters?: boolean;
}

interface Fitted {
  inputs: Record<string, string>;
  stats: StepStats[];
}

export class Workflow implements FittedWorkflow {
  readonly steps: readonly WorkflowStep[];
  readonly item: string;
  private fitted: Fitted | null = null;

  constructor(config: WorkflowConfig) {
    this.steps = checkSteps(config.steps, "Workflow");
    this.item = config.item;
  }

  get isFitted(): boolean {
    return this.fitted !== null;
  }

  /** DuckDB types of the input columns, recorded when fitting. */
  get inputTypes(): Readonly<Record<string, string>> {
    return this.requireFitted("inputTypes").inputs;
  }

  /** Per step, what fitting recorded: a vocabulary (categorify), mean/std (normalize), or null. */
  get stepStats(): readonly StepStats[] {
    return this.requireFitted("stepStats").stats;
  }

  /** Input columns the steps read before producing them, in first-use order. */
  get inputColumns(): string[] {
    const produced = new Set<string>();
    const inputs: string[] = [];
    for (const step of this.steps) {
      for (const column of stepReads(step)) if (!produced.has(column) && !inputs.includes(column)) inputs.push(column);
      if (step.op === "groupbySession") break; // after grouping, every column is one the workflow made
      for (const column of stepColumns(step, new Map(), placeholderStats(step)).keys()) produced.add(column);
    }
    return inputs;
  }

  /**
   * Fits every step on `train` in order (each on the data as it reaches that step) and returns the transformed
   * train relation. Grouped sessions are materialized once, since later steps fit on them and the caller writes them.
   */
  async fit(train: Relation, onProgress?: (message: string) => void): Promise<Relation> {
    const types = await train.requireColumns(this.inputColumns, "Workflow.fit");
    const inputs = Object.fromEntries(this.inputColumns.map((c) => [c, types.get(c) as string]));
    const stats: StepStats[] = [];
    let relation = train;
    // A run of categorify steps over different columns is fitted on the run's input: the same result (each step
    // only rewrites its own columns), without each fit redoing the lookups of the steps before it.
    let runInput: Relation | null = null;
    const runColumns = new Set<string>();
    for (const [i, step] of this.steps.entries()) {
      onProgress?.(`fit ${i + 1}/${this.steps.length}: ${describeStep(step)}`);
      if (step.op !== "categorify" || runInput === null || step.columns.some((c) => runColumns.has(c))) {
        runInput = step.op === "categorify" ? relation : null;
        runColumns.clear();
      }
      if (step.op === "categorify") step.columns.forEach((c) => runColumns.add(c));
      const fitOn = runInput ?? relation;
      const fitted = await this.atStep(i, () => fitStep(fitOn, step));
      stats.push(fitted);
      const before = relation;
      relation = await this.atStep(i, () => applyStep(relation, step, fitted));
      if (step.op === "filterMinLength") await this.checkNotEmptied(i, step, before, relation);
      if (step.op === "groupbySession") relation = await relation.materialize(train.db.uniqueName("sessions"));
    }
    this.fitted = { inputs, stats };
    return relation;
  }

  /** Applies the fitted steps to `relation` (lazily: nothing runs until the result is read or written). */
  async transform(relation: Relation, options: TransformOptions = {}): Promise<Relation> {
    const { stats } = this.requireFitted("transform");
    const filters = options.filters ?? true;
    let result = relation;
    for (const [i, step] of this.steps.entries()) {
      if (!filters && stepFilters(step)) continue;
      result = await this.atStep(i, () => applyStep(result, step, stats[i]));
    }
    return result;
  }

  /**
   * Transforms the raw events of live sessions (JS objects with the input columns, e.g. `{ utrip_id, checkin,
   * checkout, city_id, … }`) into output rows as the model reads them: session id, then the schema's columns
   * (int / float arrays and scalars). With `filters: false`, short sessions and unknown items are kept.
   */
  async transformRecords(db: Database, records: readonly Record<string, unknown>[], options: TransformOptions = {}): Promise<Record<string, unknown>[]> {
    const { inputs } = this.requireFitted("transformRecords");
    const events = await fromRecords(db, records, inputs, "live session");
    try {
      return await this.output(await this.transform(events, options)).rows();
    } finally {
      await events.drop();
    }
  }

  /** The vocabulary fitted under `name`. */
  vocabulary(name: string): Vocabulary {
    return fittedVocabulary(this, name);
  }

  get vocabularies(): Vocabulary[] {
    return fittedVocabularies(this);
  }

  /** Mean and deviation fitted by the normalize step writing column `output`. */
  normalization(output: string): NormalizeStats {
    const { stats } = this.requireFitted("normalization");
    const i = this.steps.findIndex((step) => step.op === "normalize" && (step.output ?? step.column) === output);
    if (i < 0) throw new Error(`Workflow: no normalize step writes "${output}"`);
    return stats[i] as NormalizeStats;
  }

  /** Kinds of the output columns and the session id column. */
  private outputColumns(): { session: string; columns: ColumnInfos } {
    return outputColumnsOf(this);
  }

  /** Longest list the steps allow (the n of a sliceLast cutting every list), or undefined when unbounded. */
  get maxLength(): number | undefined {
    const slices = this.steps.flatMap((step) => (step.op === "sliceLast" && step.columns === undefined ? [step.n] : []));
    return slices.length === 0 ? undefined : Math.min(...slices);
  }

  /** schema.json of the output; `maxLength`: the longest list, needed only when no sliceLast step bounds it. */
  schema(maxLength = this.maxLength): DatasetSchema {
    if (maxLength === undefined) throw new Error("Workflow.schema: no sliceLast step bounds the lists: give the longest list length");
    const { session, columns } = this.outputColumns();
    const schemaColumns: ColumnSchema[] = [];
    for (const [name, info] of columns) {
      if (info.kind === "raw" || info.kind === "session") continue;
      const kind = name === this.item ? "item" : info.kind;
      const column: ColumnSchema = { name, kind, list: info.list, dtype: kind === "continuous" ? "float32" : "int32" };
      if (info.cardinality !== undefined) column.cardinality = info.cardinality;
      if (info.list) column.maxLength = maxLength;
      if (info.vocabulary !== undefined) column.vocabulary = info.vocabulary;
      schemaColumns.push(column);
    }
    return { version: 1, sessionId: session, item: this.item, maxLength, columns: schemaColumns };
  }

  /** The session id and schema columns of a transformed relation, cast to the types schema.json promises. */
  output(relation: Relation): Relation {
    const { session, columns } = this.outputColumns();
    const selected = [ident(session)];
    for (const [name, info] of columns) {
      if (info.kind === "raw" || info.kind === "session") continue;
      const type = (info.kind === "continuous" ? "FLOAT" : "INTEGER") + (info.list ? "[]" : "");
      selected.push(`CAST(${ident(name)} AS ${type}) AS ${ident(name)}`);
    }
    return relation.derive((from) => `SELECT ${selected.join(", ")} FROM ${from}`);
  }

  /** Writes `<dir>/workflow.json` and `<dir>/vocabularies/<name>.json` (atomically: all or nothing). */
  async save(dir: string): Promise<void> {
    const { inputs, stats } = this.requireFitted("save");
    const file: SavedWorkflow = {
      version: 1,
      item: this.item,
      steps: [...this.steps],
      inputs,
      stats: this.steps.map((step, i) => (step.op === "categorify" ? { vocabulary: step.name } : (stats[i] as NormalizeStats | null))),
    };
    await writeDirectoryAtomically(dir, async (temporary) => {
      await fs.writeFile(path.join(temporary, WORKFLOW_FILE), JSON.stringify(file, null, 2) + "\n");
      await fs.mkdir(path.join(temporary, VOCABULARY_FOLDER));
      for (const vocabulary of this.vocabularies) {
        await fs.writeFile(path.join(temporary, VOCABULARY_FOLDER, `${vocabulary.name}.json`), JSON.stringify(vocabulary) + "\n");
      }
    });
  }

  /** Reads a workflow saved by `save`; errors name the file at fault. */
  static async load(dir: string): Promise<Workflow> {
    const file = path.join(dir, WORKFLOW_FILE);
    const vocabularyFile = (name: string): string => path.join(dir, VOCABULARY_FOLDER, `${name}.json`);
    const saved = await readJson(file);
    const vocabularies: Record<string, unknown> = {};
    for (const name of savedVocabularyNames(saved, file)) vocabularies[name] = await readJson(vocabularyFile(name));
    return Workflow.fromSaved(saved, vocabularies, { workflow: file, vocabulary: vocabularyFile });
  }

  /**
   * A fitted workflow from the parsed workflow.json and its parsed vocabularies by name (e.g. fetched by a web page);
   * `sources` names the files in errors.
   */
  static fromSaved(saved: unknown, vocabularies: Readonly<Record<string, unknown>>, sources?: SavedWorkflowSources): Workflow {
    const fitted = parseSavedWorkflow(saved, vocabularies, sources);
    const workflow = new Workflow({ steps: [...fitted.steps], item: fitted.item });
    workflow.fitted = { inputs: { ...fitted.inputTypes }, stats: [...fitted.stepStats] };
    return workflow;
  }

  private requireFitted(what: string): Fitted {
    if (this.fitted === null) throw new Error(`Workflow.${what}: the workflow is not fitted (call fit on the train split, or Workflow.load)`);
    return this.fitted;
  }

  /**
   * Throws an `EmptiedByStepError` when filterMinLength step `i` left no rows of the train split (the steps after it
   * would fail on it with a less useful message). LIMIT 1: cheap whenever a row is left.
   */
  private async checkNotEmptied(i: number, step: Extract<WorkflowStep, { op: "filterMinLength" }>, before: Relation, after: Relation): Promise<void> {
    if ((await after.db.row(`SELECT 1 AS found FROM (${after.sql}) AS t LIMIT 1`)) !== undefined) return;
    const n = await longest(before, step.column);
    const largest = n === null ? "no rows reached this step" : `the largest has ${n}`;
    throw new EmptiedByStepError(`Workflow step ${i + 1} (${describeStep(step)}): no row of ${before.label} has ${step.column} >= ${step.min}; ${largest}`, i, step, n);
  }

  /** Runs one step, prefixing its errors with the step's number and description. */
  private async atStep<T>(i: number, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`Workflow step ${i + 1} (${describeStep(this.steps[i])}): ${message}`);
    }
  }
}

/** `Workflow.fit`: a filterMinLength step dropped every row of the train split. */
export class EmptiedByStepError extends Error {
  constructor(
    message: string,
    /** Index of the step in the workflow's steps. */
    readonly index: number,
    readonly step: Extract<WorkflowStep, { op: "filterMinLength" }>,
    /** The largest length (or count) before the step; null when no rows reached it. */
    readonly largest: number | null,
  ) {
    super(message);
  }
}

/** Stand-in statistics so that column bookkeeping can run before fitting (only names matter there). */
function placeholderStats(step: WorkflowStep): StepStats {
  if (step.op !== "categorify") return null;
  return { name: step.name, columns: step.columns, minFrequency: 1, valueType: "VARCHAR", values: [], counts: [], rareCount: 0, nullCount: 0 };
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch {
    throw new Error(`${file}: not found or not readable`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON: ${(error as Error).message}`);
  }
}
