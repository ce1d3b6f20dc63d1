// A saved model folder rebuilt as what trained it (not the raw-event RecommenderModel of loadModelFolder): the model
// and head of a neural folder, the fitted baseline of a baseline folder — what evaluation on prepared data needs
// (`sessionrec evaluate`, notebook 06).
import * as fs from "fs";
import * as path from "path";
import { disposeModel } from "../models/index";
import type { ItemOutputHead, SessionModel } from "../models/index";
import { type SavableBaseline, isBaselineKind } from "../baselines/saved";
import { loadWeights, readWeightFiles } from "./checkpoint-files";
import { restoreFolderBaseline } from "./baseline";
import { FOLDER_FILES, buildModel, checkManifest } from "./core";
import type { DatasetSchema } from "../data/schema";
import type { ModelFolderManifest } from "./types";

/** A saved model rebuilt with its weights; `dispose` frees its tensors. */
export interface TrainedModel {
  manifest: ModelFolderManifest;
  model: SessionModel;
  head: ItemOutputHead;
  dispose(): void;
}

/** A saved baseline, restored with its fitted state. */
export interface TrainedBaseline {
  manifest: ModelFolderManifest;
  baseline: SavableBaseline;
}

/** The model or baseline saved in `dir`; errors name the folder and the file at fault. */
export function loadTrained(dir: string): TrainedModel | TrainedBaseline {
  const manifest = readManifest(dir);
  if (!isBaselineKind(manifest.kind)) return rebuildModel(dir, manifest);
  const { manifest: weightManifest, data } = readWeightFiles(dir);
  const file = (name: string) => path.join(dir, name);
  const files = {
    manifest: file(FOLDER_FILES.manifest),
    weightManifest: file(FOLDER_FILES.weightManifest),
    weights: file(FOLDER_FILES.weights),
  };
  return { manifest, baseline: restoreFolderBaseline(manifest, weightManifest, data, files) };
}

function readManifest(dir: string): ModelFolderManifest {
  const manifestFile = path.join(dir, FOLDER_FILES.manifest);
  if (!fs.existsSync(dir))
    throw new Error(
      `${dir}: no such folder (a model folder holds model.json, weights.json, weights.bin and workflow/)`,
    );
  if (!fs.existsSync(manifestFile)) throw new Error(`${dir}: not a model folder (no ${FOLDER_FILES.manifest})`);
  let text: string;
  try {
    text = fs.readFileSync(manifestFile, "utf8");
  } catch (error) {
    throw new Error(`${manifestFile}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${manifestFile}: not valid JSON: ${(error as Error).message}`);
  }
  return checkManifest(json, manifestFile);
}

/** The neural model saved in `dir` (model.json, weights), rebuilt; errors name the folder and the file at fault. */
export function loadTrainedModel(dir: string): TrainedModel {
  return rebuildModel(dir, readManifest(dir));
}

/** The model of `manifest` (read from `dir`) with the weights of `dir`. */
function rebuildModel(dir: string, manifest: ModelFolderManifest): TrainedModel {
  const weights = loadWeights(dir);
  let built: { model: SessionModel; head: ItemOutputHead };
  try {
    built = buildModel(manifest, weights, (file) => path.join(dir, file));
  } finally {
    Object.values(weights).forEach((w) => w.dispose());
  }
  const { model, head } = built;
  return { manifest, model, head, dispose: () => disposeModel({ model, head }) };
}

/** Null when a model built for `model` can read data of `data` (same item column, maxLength, columns with the same
 *  kinds and cardinalities), else what differs. */
export function schemaMismatch(model: DatasetSchema, data: DatasetSchema): string | null {
  const describe = (schema: DatasetSchema) =>
    JSON.stringify([
      schema.item,
      schema.maxLength,
      schema.columns.map((c) => [c.name, c.kind, c.list, c.cardinality ?? null]),
    ]);
  return describe(model) === describe(data)
    ? null
    : "its schema (columns, cardinalities or maxLength) differs from the data set's";
}
