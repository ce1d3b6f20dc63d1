// A fitted workflow as plain data: the shape of workflow.json, its checks, its vocabularies and the columns it
// outputs. Nothing here touches DuckDB or the file system, so a web page can fetch a saved workflow (workflow.json
// plus one JSON file per vocabulary) and encode live sessions with lib/data/live.ts; `Workflow` builds on it.
import { type Vocabulary, checkVocabulary } from "./categorify";
import type { NormalizeStats } from "./features";
import { type ColumnInfos, type StepStats, type WorkflowStep, checkStep, stepColumns } from "./steps";

export const WORKFLOW_FILE = "workflow.json";
export const VOCABULARY_FOLDER = "vocabularies";

/** workflow.json: the steps, the fitted statistics and the input columns the steps need. */
export interface SavedWorkflow {
  version: 1;
  item: string;
  steps: WorkflowStep[];
  /** DuckDB types of the input columns the steps read, recorded when fitting. */
  inputs: Record<string, string>;
  /** Per step: mean/std for normalize, the vocabulary name for categorify (its values are in a separate file). */
  stats: (NormalizeStats | { vocabulary: string } | null)[];
}

/** What encoding needs of a fitted workflow (a fitted `Workflow` is one; so is `parseSavedWorkflow`'s result). */
export interface FittedWorkflow {
  readonly steps: readonly WorkflowStep[];
  /** The output list column of items to predict. */
  readonly item: string;
  /** DuckDB types of the input columns, recorded when fitting, e.g. { checkin: "DATE", city_id: "INTEGER" }. */
  readonly inputTypes: Readonly<Record<string, string>>;
  /** Per step, what fitting recorded: a vocabulary (categorify), mean/std (normalize), or null. */
  readonly stepStats: readonly StepStats[];
}

/** Where the parts of a saved workflow come from, for error messages (file paths or URLs). */
export interface SavedWorkflowSources {
  workflow: string;
  vocabulary(name: string): string;
}

/** Checks the steps of a workflow; `where` starts errors ("Workflow", or the file they were read from). */
export function checkSteps(steps: unknown, where: string): WorkflowStep[] {
  if (!Array.isArray(steps) || steps.length === 0) throw new Error(`${where}: needs at least one step`);
  const checked = steps.map((step, i) => checkStep(step, `${where} step ${i + 1}`));
  const names = checked.flatMap((step) => (step.op === "categorify" ? [step.name] : []));
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new Error(`${where}: two categorify steps use the vocabulary name "${duplicate}"`);
  if (!checked.some((step) => step.op === "groupbySession")) throw new Error(`${where}: needs a groupbySession step (the output has one row per session)`);
  return checked;
}

/** Checks the outer shape of workflow.json and returns it with its steps checked. */
function checkSavedShape(json: unknown, file: string): SavedWorkflow {
  const saved = json as SavedWorkflow;
  if (typeof saved !== "object" || saved === null || saved.version !== 1) throw new Error(`${file}: not a sessionrec workflow (expected "version": 1)`);
  if (!Array.isArray(saved.stats) || !Array.isArray(saved.steps) || saved.stats.length !== saved.steps.length) {
    throw new Error(`${file}: "steps" and "stats" must be arrays of the same length`);
  }
  if (typeof saved.inputs !== "object" || saved.inputs === null || Object.values(saved.inputs).some((type) => typeof type !== "string")) {
    throw new Error(`${file}: "inputs" must map input columns to types`);
  }
  if (typeof saved.item !== "string" || saved.item === "") throw new Error(`${file}: "item" must name the output item column`);
  return { ...saved, steps: checkSteps(saved.steps, file) };
}

/** Names of the vocabularies a saved workflow needs (one file each, `vocabularies/<name>.json`). */
export function savedVocabularyNames(json: unknown, file = WORKFLOW_FILE): string[] {
  return checkSavedShape(json, file).steps.flatMap((step) => (step.op === "categorify" ? [step.name] : []));
}

/**
 * A fitted workflow from the parsed workflow.json and its parsed vocabulary files (by vocabulary name); errors name
 * the file at fault.
 */
export function parseSavedWorkflow(
  json: unknown,
  vocabularies: Readonly<Record<string, unknown>>,
  sources: SavedWorkflowSources = { workflow: WORKFLOW_FILE, vocabulary: (name) => `${VOCABULARY_FOLDER}/${name}.json` },
): FittedWorkflow {
  const file = sources.workflow;
  const saved = checkSavedShape(json, file);
  const stepStats: StepStats[] = saved.steps.map((step, i) => {
    if (step.op === "categorify") {
      const source = sources.vocabulary(step.name);
      if (!(step.name in vocabularies)) throw new Error(`${source}: missing (the workflow's vocabulary "${step.name}")`);
      const vocabulary = checkVocabulary(vocabularies[step.name], source);
      if (vocabulary.name !== step.name) throw new Error(`${source}: holds vocabulary "${vocabulary.name}", expected "${step.name}"`);
      return vocabulary;
    }
    if (step.op === "normalize") {
      const s = saved.stats[i] as NormalizeStats | null;
      if (!(typeof s?.mean === "number" && typeof s.std === "number" && s.std > 0)) throw new Error(`${file}: step ${i + 1} (normalize) needs "mean" and a positive "std"`);
      return s;
    }
    return null;
  });
  return { steps: saved.steps, item: saved.item, inputTypes: saved.inputs, stepStats };
}

/** The vocabulary fitted under `name`. */
export function fittedVocabulary(fitted: FittedWorkflow, name: string): Vocabulary {
  const vocabularies = fittedVocabularies(fitted);
  const vocabulary = vocabularies.find((v) => v.name === name);
  if (vocabulary === undefined) throw new Error(`Workflow: no vocabulary "${name}" (have: ${vocabularies.map((v) => v.name).join(", ")})`);
  return vocabulary;
}

export function fittedVocabularies(fitted: FittedWorkflow): Vocabulary[] {
  const stats = fitted.stepStats;
  return fitted.steps.flatMap((step, i) => (step.op === "categorify" ? [stats[i] as Vocabulary] : []));
}

/** Kinds of the output columns (in output order) and the name of the session id column. */
export function outputColumnsOf(fitted: FittedWorkflow): { session: string; columns: ColumnInfos } {
  const stats = fitted.stepStats;
  let columns: ColumnInfos = new Map();
  fitted.steps.forEach((step, i) => (columns = stepColumns(step, columns, stats[i])));
  const session = [...columns].find(([, info]) => info.kind === "session")?.[0] as string;
  const item = columns.get(fitted.item);
  if (item === undefined || item.kind !== "categorical" || !item.list) {
    const lists = [...columns].filter(([, info]) => info.kind === "categorical" && info.list).map(([name]) => name);
    throw new Error(`Workflow: item column "${fitted.item}" must be an encoded list column of the output (candidates: ${lists.join(", ") || "none"})`);
  }
  return { session, columns };
}
