// A model folder over HTTP (a web page, or anything with `fetch`): every file fetched in parallel relative to a base
// URL, then built into a recommender by the browser-safe core (core.ts). The parsed workflow comes back too: its
// item vocabulary is a page's catalogue, and its input columns are the fields of the events it sends.
import { type FittedWorkflow, parseSavedWorkflow, savedVocabularyNames } from "../data/fitted";
import { FOLDER_FILES, type ModelFolderParts, recommenderFromParts } from "./core";
import type { RecommenderModel } from "./types";

export interface FetchedModel {
  recommender: RecommenderModel;
  workflow: FittedWorkflow;
}

/** GET `file` relative to `base`; errors name the URL and the HTTP status. */
async function fetchFile(base: URL, file: string): Promise<Response> {
  const url = new URL(file, base).href;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`${url}: cannot fetch: ${(error as Error).message}`);
  }
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

async function fetchJson(base: URL, file: string): Promise<unknown> {
  const text = await (await fetchFile(base, file)).text();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${new URL(file, base).href}: not valid JSON: ${(error as Error).message}`);
  }
}

/** The parsed files of the model folder at `base` (a URL ending in "/"). */
export async function fetchModelParts(base: URL): Promise<ModelFolderParts> {
  const where = (file: string): string => new URL(file, base).href;
  const [manifest, weightManifest, weights, workflow] = await Promise.all([
    fetchJson(base, FOLDER_FILES.manifest),
    fetchJson(base, FOLDER_FILES.weightManifest),
    fetchFile(base, FOLDER_FILES.weights).then(async (response) => new Uint8Array(await response.arrayBuffer())),
    fetchJson(base, FOLDER_FILES.workflow),
  ]);
  const names = savedVocabularyNames(workflow, where(FOLDER_FILES.workflow));
  const vocabularies = Object.fromEntries(
    await Promise.all(names.map(async (name) => [name, await fetchJson(base, FOLDER_FILES.vocabulary(name))])),
  );
  return { manifest, weightManifest, weights, workflow, vocabularies, where };
}

/** The recommender and the fitted workflow of the model folder at `base` (a URL ending in "/"). */
export async function fetchModel(base: URL): Promise<FetchedModel> {
  const parts = await fetchModelParts(base);
  const where = parts.where as (file: string) => string;
  const workflow = parseSavedWorkflow(parts.workflow, parts.vocabularies, {
    workflow: where(FOLDER_FILES.workflow),
    vocabulary: (name) => where(FOLDER_FILES.vocabulary(name)),
  });
  return { recommender: recommenderFromParts(parts), workflow };
}
