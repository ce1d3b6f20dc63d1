// Model folders on disk: `saveModelFolder` writes a trained model and its head, or a fitted baseline, with the
// fitted workflow and the schema as one folder (all or nothing: a temporary folder renamed into place);
// `loadModelFolder` reads either back as a RecommenderModel through the browser-safe core (core.ts), adding only the
// file system.
import { promises as fs } from "fs";
import * as path from "path";
import type { SavableBaseline } from "../baselines/saved";
import type { BaselineState } from "../baselines/state";
import { encodeArrays, encodeWeights } from "./checkpoint";
import { writeDirectoryAtomically } from "../data/files";
import type { Workflow } from "../data/workflow";
import type { ItemOutputHead, SessionModel } from "../models";
import type { SchemeKind } from "../models/targets";
import { type DatasetSchema, validateSchema } from "../data/schema";
import {
  FOLDER_FILES,
  type FolderReader,
  checkManifest,
  checkWorkflowSchema,
  folderFiles,
  readModelFolder,
} from "./core";
import { MODEL_FORMAT, WORKFLOW_FOLDER, type ModelFolderManifest, type RecommenderModel } from "./types";

/** What every folder holds besides the recommender itself. */
interface SaveFolderCommon {
  /** Display name, e.g. "gru". */
  name: string;
  /** The fitted workflow that prepared the training data (it encodes live sessions the same way). */
  workflow: Workflow;
  /** The schema the model was built for (schema.json of the prepared data). */
  schema: DatasetSchema;
  /** Validation metrics to keep with the model. Default {}. */
  metrics?: Record<string, number>;
}

/** A trained neural model and its head. */
export interface SaveModelOptions extends SaveFolderCommon {
  model: SessionModel;
  head: ItemOutputHead;
  /** The target scheme the model was trained with (see ModelFolderManifest.scheme). Default "next". */
  scheme?: SchemeKind;
}

/** A fitted baseline (MostPopular, SuccessorCounts, SessionKnn of lib/baselines), fitted on the schema's item ids. */
export interface SaveBaselineOptions extends SaveFolderCommon {
  baseline: SavableBaseline;
}

export type SaveModelFolderOptions = SaveModelOptions | SaveBaselineOptions;

/**
 * Writes `dir`: model.json, weights.json + weights.bin (a model's and its head's variables, or a baseline's fitted
 * state arrays) and workflow/. An existing folder is replaced only once the new one is complete. Returns the
 * manifest written. The same fit gives the same weights.json and weights.bin, byte for byte.
 */
export async function saveModelFolder(dir: string, options: SaveModelFolderOptions): Promise<ModelFolderManifest> {
  const where = `saveModelFolder(${dir})`;
  const schema = validateSchema(options.schema, `${where}: schema`);
  if (typeof options.name !== "string" || options.name === "")
    throw new Error(`${where}: name must be a non-empty string`);
  const { manifest, weights } =
    "baseline" in options ? baselineContents(options, schema, where) : await modelContents(options, schema, where);
  checkWorkflowSchema(options.workflow, schema, `${where}: the workflow does not fit the schema`);
  checkManifest(JSON.parse(JSON.stringify(manifest)), `${where}: model.json`); // what load will check, before writing
  await writeDirectoryAtomically(dir, async (temporary) => {
    await fs.writeFile(path.join(temporary, FOLDER_FILES.manifest), JSON.stringify(manifest, null, 2) + "\n");
    await fs.writeFile(
      path.join(temporary, FOLDER_FILES.weightManifest),
      JSON.stringify(weights.manifest, null, 1) + "\n",
    );
    await fs.writeFile(path.join(temporary, FOLDER_FILES.weights), weights.data);
    await options.workflow.save(path.join(temporary, WORKFLOW_FOLDER));
  });
  return manifest;
}

interface FolderContents {
  manifest: ModelFolderManifest;
  weights: Awaited<ReturnType<typeof encodeWeights>>;
}

/** model.json's fields in file order; `neural` holds a model's head and scheme. */
function manifestOf(
  options: SaveFolderCommon,
  schema: DatasetSchema,
  kind: ModelFolderManifest["kind"],
  config: unknown,
  neural: Pick<ModelFolderManifest, "head" | "scheme"> = {},
): ModelFolderManifest {
  const { head, scheme } = neural;
  return {
    format: MODEL_FORMAT,
    version: 1,
    name: options.name,
    kind,
    config,
    ...(head === undefined ? {} : { head }),
    schema,
    trainedAt: new Date().toISOString(),
    metrics: options.metrics ?? {},
    ...(scheme === undefined ? {} : { scheme }),
  };
}

function baselineContents(options: SaveBaselineOptions, schema: DatasetSchema, where: string): FolderContents {
  const { baseline } = options;
  const itemCardinality = schema.columns.find((column) => column.name === schema.item)?.cardinality;
  if (baseline.nItems !== itemCardinality) {
    throw new Error(
      `${where}: the schema has ${itemCardinality} item ids but the ${baseline.name} baseline has ${baseline.nItems}: was it fitted on this schema's data?`,
    );
  }
  let state: BaselineState;
  try {
    state = baseline.state();
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
  const arrays = Object.fromEntries(
    Object.entries(state).map(([name, values]) => [name, { values, shape: [values.length] }]),
  );
  return { manifest: manifestOf(options, schema, baseline.name, baseline.config), weights: encodeArrays(arrays) };
}

async function modelContents(options: SaveModelOptions, schema: DatasetSchema, where: string): Promise<FolderContents> {
  const { model, head } = options;
  const itemCardinality = schema.columns.find((column) => column.name === schema.item)?.cardinality;
  if (model.inputs.itemCardinality !== itemCardinality || head.nItems !== itemCardinality) {
    throw new Error(
      `${where}: the schema has ${itemCardinality} item ids but the model has ${model.inputs.itemCardinality} and the head ${head.nItems}: ` +
        "was the model built for this schema?",
    );
  }
  const shared = Object.keys(head.variables).filter((name) => name in model.variables);
  if (shared.length > 0)
    throw new Error(`${where}: the model and the head both have variables named ${shared.join(", ")}`);
  const manifest = manifestOf(options, schema, model.kind, model.config, {
    head: { ...head.config, sampled: null },
    scheme: options.scheme,
  });
  return { manifest, weights: await encodeWeights({ ...model.variables, ...head.variables }) };
}

/** Reads a model folder written by `saveModelFolder`. Errors name the folder or the file at fault. */
export async function loadModelFolder(dir: string): Promise<RecommenderModel> {
  const stat = await fs.stat(dir).catch(() => null);
  if (stat === null)
    throw new Error(
      `${dir}: no such folder (a model folder holds model.json, weights.json, weights.bin and workflow/)`,
    );
  if (!stat.isDirectory())
    throw new Error(`${dir}: not a folder (a model folder holds model.json, weights.json, weights.bin and workflow/)`);
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
    throw new Error(
      error instanceof SyntaxError ? `${source}: not valid JSON: ${error.message}` : (error as Error).message,
    );
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
      throw new Error(
        code === "ENOENT" ? `${where(file)}: not found` : `${where(file)}: cannot read: ${(error as Error).message}`,
      );
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
