// What the train and evaluate commands check of a prepared data set folder given on the command line, and whether a
// model folder was trained on data prepared by the same fitted workflow (the same vocabularies: item ids mean the
// same items).
import * as fs from "fs";
import * as path from "path";
import { WORKFLOW_FOLDER } from "../data/dataset";
import { Workflow } from "../data/workflow";
import { splitsIn } from "../config/prepare";
import { UsageError } from "./errors";

/** Throws a UsageError unless `dir` holds a prepared data set with the split `split` and its workflow/. */
export function checkDatasetFolder(dir: string, split: string, flag: string): void {
  if (!fs.existsSync(dir))
    throw new UsageError(`${flag} ${dir}: no such folder (a prepared data set: train.parquet, schema.json, workflow/)`);
  if (!fs.existsSync(path.join(dir, "schema.json")))
    throw new UsageError(`${flag} ${dir}: not a prepared data set (no schema.json)`);
  if (!fs.existsSync(path.join(dir, `${split}.parquet`))) {
    throw new UsageError(`${flag} ${dir}: no split "${split}" (it has: ${splitsIn(dir).join(", ") || "none"})`);
  }
  if (!fs.existsSync(path.join(dir, WORKFLOW_FOLDER)))
    throw new UsageError(
      `${flag} ${dir}: no ${WORKFLOW_FOLDER}/ (the fitted workflow a model folder keeps); prepare it with a recipe`,
    );
}

/** Null when `model` (a model folder's workflow) encodes items as `data` does, else what differs. */
export function workflowDifference(model: Workflow, data: Workflow): string | null {
  const byName = new Map(data.vocabularies.map((v) => [v.name, v]));
  for (const vocabulary of model.vocabularies) {
    const other = byName.get(vocabulary.name);
    if (other === undefined) return `the data set has no vocabulary "${vocabulary.name}"`;
    if (JSON.stringify(other.values) !== JSON.stringify(vocabulary.values)) {
      return `the vocabulary "${vocabulary.name}" differs (${vocabulary.values.length} values in the model folder, ${other.values.length} in the data set)`;
    }
  }
  if (JSON.stringify(model.steps) !== JSON.stringify(data.steps)) return "the workflow's steps differ";
  return null;
}

/** The fitted workflow of the data set `dir`. */
export function loadDatasetWorkflow(dir: string): Promise<Workflow> {
  return Workflow.load(path.join(dir, WORKFLOW_FOLDER));
}
