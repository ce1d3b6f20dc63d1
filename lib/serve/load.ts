// Serving a saved model folder: load it, read its workflow's event columns, and build the server — with one
// clear error (naming the folder) when the folder is missing or corrupt, so the CLI can fail at start-up.
import type { FastifyInstance } from "fastify";
import { promises as fs } from "fs";
import * as path from "path";
import { loadModelFolder, modelFolderFiles } from "../model-folder/index";
import { WORKFLOW_FOLDER } from "../model-folder/types";
import type { RecommenderModel } from "../model-folder/types";
import { readEventColumns } from "./events";
import { createServer, type ServerOptions } from "./server";

export interface ServedModelFolder {
  app: FastifyInstance;
  model: RecommenderModel;
}

/** Loads the model folder `dir` and a server for it (not yet listening). The caller disposes `model` after closing `app`. */
export async function serveModelFolder(dir: string, options: ServerOptions = {}): Promise<ServedModelFolder> {
  const where = path.resolve(dir);
  const stat = await fs.stat(where).catch(() => null);
  if (stat === null) throw new Error(`model folder ${where} not found (save one first, e.g. with npm start)`);
  if (!stat.isDirectory())
    throw new Error(`${where} is not a folder: --model takes a model folder (model.json, weights, workflow/)`);
  let model: RecommenderModel;
  try {
    model = await loadModelFolder(where);
  } catch (error) {
    throw new Error(`cannot load the model folder ${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const eventColumns = options.eventColumns ?? (await readEventColumns(path.join(where, WORKFLOW_FOLDER)));
    const modelFolder = options.modelFolder ?? { dir: where, files: await modelFolderFiles(where) };
    return { app: createServer(model, { ...options, modelFolder, eventColumns }), model };
  } catch (error) {
    model.dispose();
    throw error;
  }
}
