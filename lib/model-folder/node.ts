// Model folders on disk: `saveModelFolder` writes a trained model, its head, the fitted workflow and the schema as
// one folder (all or nothing: a temporary folder renamed into place); `loadModelFolder` reads one back as a
// RecommenderModel through the browser-safe core (core.ts), adding only the file system.
import { promises as fs } from "fs";
import * as path from "path";
import { encodeWeights } from "./checkpoint";
import { writeDirectoryAtomically } from "../data/files";
import type { Workflow } from "../data/workflow";
import type { ItemOutputHead, SessionModel } from "../models";
import type { SchemeKind } from "../models/targets";
import { type DatasetSchema, validateSchema } from "../data/schema";
import { FOLDER_FILES, type FolderReader, checkManifest, checkWorkflowSchema, folderFiles, readModelFolder } from "./core";
import { MODEL_FORMAT, WORKFLOW_FOLDER, type ModelFolderManifest, type RecommenderModel } from "./types";

export interface SaveModelFolderOptions {
  /** Display name, e.g. "gru". */
  name: string;
  model: SessionModel;
  head: ItemOutputHead;
  /** The fitted workflow that prepared the training data (it encodes live sessions the same way). */
  workflow: Workflow;
  /** The schema the model was built for (schema.json of the prepared data). */
  schema: DatasetSchema;
  /** Validation metrics to keep with the model. Default {}. */
  metrics?: Record<string, number>;
  /** The target scheme the model was trained with (see ModelFolderManifest.scheme). Default "next". */
  scheme?: SchemeKind;
}

/**
 * Writes `dir`: model.json, weights.json + weights.bin (model and head variables) and workflow/. An existing folder
 * is replaced only once the new one is complete. Returns the manifest written.
 */
export async function saveModelFolder(dir: string, options: SaveModelFolderOptions): Promise<ModelFolderManifest> {
  const where = `saveModelFolder(${dir})`;
  const { model, head, workflow } = options;
  const schema = validateSchema(options.schema, `${where}: schema`);
  if (typeof options.name !== "string" || options.name === "") throw new Error(`${where}: name must be a non-empty string`);
  const itemCardinality = schema.columns.find((column) => column.name === schema.item)?.cardinality;
  if (model.inputs.itemCardinality !== itemCardinality || head.nItems !== itemCardinality) {
    throw new Error(
      `${where}: the schema has ${itemCardinality} item ids but the model has ${model.inputs.itemCardinality} and the head ${head.nItems}: ` +
        "was the model built for this schema?",
    );
  }
  checkWorkflowSchema(workflow, schema, `${where}: the workflow does not fit the schema`);
  const shared = Object.keys(head.variables).filter((name) => name in model.variables);
  if (shared.length > 0) throw new Error(`${where}: the model and the head both have variables named ${shared.join(", ")}`);

  const manifest: ModelFolderManifest = {
    format: MODEL_FORMAT,
    version: 1,
    name: options.name,
    kind: model.kind,
    config: model.config,
    head: { ...head.config, sampled: null },
    schema,
    trainedAt: new Date().toISOString(),
    metrics: options.metrics ?? {},
    ...(options.scheme === undefined ? {} : { scheme: options.scheme }),
  };
  checkManifest(JSON.parse(JSON.stringify(manifest)), `${where}: model.json`); // what load will check, before writing
  const { manifest: weightManifest, data } = await encodeWeights({ ...model.variables, ...head.variables });
  await writeDirectoryAtomically(dir, async (temporary) => {
    await fs.writeFile(path.join(temporary, FOLDER_FILES.manifest), JSON.stringify(manifest, null, 2) + "\n");
    await fs.writeFile(path.join(temporary, FOLDER_FILES.weightManifest), JSON.stringify(weightManifest, null, 1) + "\n");
    await fs.writeFile(path.join(temporary, FOLDER_FILES.weights), data);
    await workflow.save(path.join(temporary, WORKFLOW_FOLDER));
  });
  return manifest;
}

/** Reads a model folder written by `saveModelFolder`. Errors name the folder or the file at fault. */
export async function loadModelFolder(dir: string): Promise<RecommenderModel> {
  const stat = await fs.stat(dir).catch(() => null);
  if (stat === null) throw new Error(`${dir}: no such folder (a model folder holds model.json, weights.json, weights.bin and workflow/)`);
  if (!stat.isDirectory()) throw new Error(`${dir}: not a folder (a model folder holds model.json, weights.json, weights.bin and workflow/)`);
  return readModelFolder(fileReader(dir));
}

/** The paths (relative to `dir`) of the files of the model folder `dir`, as `folderFiles` lists them. */
export async function modelFolderFiles(dir: string): Promise<string[]> {
  const reader = fileReader(dir);
  const source = reader.where(FOLDER_FILES.workflow);
  let workflow: unknown;
  try {
    workflow = JSON.parse(await reader.text(FOLDER_FILES.workflow));
  } catch (error) {
    throw new Error(error instanceof SyntaxError ? `${source}: not valid JSON: ${error.message}` : (error as Error).message);
  }
  return folderFiles(workflow, source);
}

function fileReader(dir: string): FolderReader {
  const where = (file: string): string => path.join(dir, ...file.split("/"));
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await fs.readFile(where(file));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(code === "ENOENT" ? `${where(file)}: not found` : `${where(file)}: cannot read: ${(error as Error).message}`);
    }
  };
  return {
    where,
    text: async (file) => (await read(file)).toString("utf8"),
    bytes: async (file) => {
      const buffer = await read(file);
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    },
  };
}
