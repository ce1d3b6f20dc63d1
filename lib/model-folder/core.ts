// A model folder's parts, already read (fetched by a web page, or read from disk by node.ts) → a RecommenderModel
// answering "what next?" for raw sessions the way lib/evaluate evaluates a model: raw events → the live
// encoder of the saved workflow (lib/data/live.ts) → a batch → evaluationInputs / nextItemStates (the state after
// the last event) → head.topK → item ids decoded to raw item values through the item vocabulary.
// A folder of a fitted baseline (model.json's kind is a baseline's name) goes to baseline.ts after the same checks
// of model.json and the workflow. No file system here: node.ts adds it on top.
import * as tf from "@tensorflow/tfjs";
import { BASELINE_KINDS, isBaselineKind } from "../baselines/saved";
import { MANIFEST_FILE, WEIGHTS_FILE, assignWeights, decodeWeights, parseManifest } from "./checkpoint";
import { baselineRecommender, restoreFolderBaseline } from "./baseline";
import { checkRecommendCall } from "./request";
import { FIRST_ID, cardinality } from "../data/categorify";
import {
  type FittedWorkflow,
  VOCABULARY_FOLDER,
  WORKFLOW_FILE,
  fittedVocabulary,
  parseSavedWorkflow,
  savedVocabularyNames,
} from "../data/fitted";
import { type EncodedSession, liveEncoder, type LiveEncoder, type RawSession } from "../data/live";
import {
  MODEL_KINDS,
  type EvaluationInputs,
  type ItemOutputHead,
  type SessionModel,
  createHeadFor,
  createModel,
  evaluationInputs,
  nextItemStates,
} from "../models/index";
import { disposeModel } from "../models/index";
import { disposeVariables } from "../models/init";
import type { OutputHeadConfig } from "../models/outputs";
import type { SchemeKind } from "../models/targets";
import { type DatasetSchema, validateSchema } from "../data/schema";
import { liveBatch } from "./batch";
import {
  MODEL_FILE,
  MODEL_FORMAT,
  WORKFLOW_FOLDER,
  type ModelFolderManifest,
  type Recommendation,
  type RecommenderModel,
} from "./types";

/** Paths of the folder's files, relative to the folder. */
export const FOLDER_FILES = {
  manifest: MODEL_FILE,
  weightManifest: MANIFEST_FILE,
  weights: WEIGHTS_FILE,
  workflow: `${WORKFLOW_FOLDER}/${WORKFLOW_FILE}`,
  vocabulary: (name: string): string => `${WORKFLOW_FOLDER}/${VOCABULARY_FOLDER}/${name}.json`,
};

/** The paths of a model folder's files (what a web page fetches), given its parsed workflow.json. */
export function folderFiles(workflow: unknown, source: string): string[] {
  const { manifest, weightManifest, weights, workflow: workflowFile, vocabulary } = FOLDER_FILES;
  return [manifest, weightManifest, weights, workflowFile, ...savedVocabularyNames(workflow, source).map(vocabulary)];
}

/** A model folder's files, parsed. */
export interface ModelFolderParts {
  /** model.json */
  manifest: unknown;
  /** weights.json */
  weightManifest: unknown;
  /** The bytes of weights.bin. */
  weights: Uint8Array;
  /** workflow/workflow.json */
  workflow: unknown;
  /** workflow/vocabularies/<name>.json by vocabulary name (`savedVocabularyNames(workflow)` lists the names). */
  vocabularies: Record<string, unknown>;
  /** How errors name a file of the folder (a path or URL), given its relative path. Default: the relative path. */
  where?: (file: string) => string;
}

/** Reads the files of a model folder: from disk (node.ts) or over HTTP (a web page with fetch). */
export interface FolderReader {
  /** How errors name `file` (a path relative to the folder): a full path or URL. */
  where(file: string): string;
  /** The file's text; rejects with an error naming the file when it is missing or unreadable. */
  text(file: string): Promise<string>;
  bytes(file: string): Promise<Uint8Array>;
}

const SCHEME_KINDS: readonly SchemeKind[] = ["last", "next", "masked"];

/** Checks a parsed model.json; `source` (the file) starts every error. */
export function checkManifest(json: unknown, source: string): ModelFolderManifest {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isObject(json)) return fail("expected a JSON object");
  if (json.format !== MODEL_FORMAT) {
    fail(
      `expected "format": "${MODEL_FORMAT}", got ${JSON.stringify(json.format)} (is this a model folder written by saveModelFolder?)`,
    );
  }
  if (json.version !== 1) fail(`unsupported "version" ${JSON.stringify(json.version)}, expected 1`);
  if (typeof json.name !== "string" || json.name === "") fail(`"name" must be a non-empty string`);
  const baseline = isBaselineKind(json.kind);
  if (!baseline && !MODEL_KINDS.includes(json.kind as never)) {
    fail(
      `"kind" must be a model kind (${MODEL_KINDS.join(", ")}) or a baseline (${BASELINE_KINDS.join(", ")}), got ${JSON.stringify(json.kind)}`,
    );
  }
  if (!isObject(json.config)) fail(`"config" must be an object (the model's config)`);
  if (!baseline && !isObject(json.head)) fail(`"head" must be an object (the output head's config)`);
  const schema = validateSchema(json.schema, `${source}: "schema"`);
  if (typeof json.trainedAt !== "string") fail(`"trainedAt" must be an ISO 8601 time`);
  if (!isObject(json.metrics) || Object.values(json.metrics).some((v) => typeof v !== "number"))
    fail(`"metrics" must map names to numbers`);
  if (json.scheme !== undefined && !SCHEME_KINDS.includes(json.scheme as never)) {
    fail(`"scheme" must be one of ${SCHEME_KINDS.join(", ")}, got ${JSON.stringify(json.scheme)}`);
  }
  return { ...(json as unknown as ModelFolderManifest), schema };
}

/**
 * Checks that the workflow encodes what the schema describes (every model input column, with the same vocabulary
 * sizes) and that the live encoder can run it. Returns the encoder. `where` starts errors.
 */
export function checkWorkflowSchema(workflow: FittedWorkflow, schema: DatasetSchema, where: string): LiveEncoder {
  const encoder = liveEncoder(workflow);
  for (const column of schema.columns) {
    if (column.kind === "count") continue;
    if (!encoder.columns.includes(column.name)) {
      throw new Error(
        `${where}: the workflow does not output the schema's column "${column.name}" (it outputs ${encoder.columns.join(", ")})`,
      );
    }
    if (column.vocabulary === undefined) continue;
    const size = cardinality(fittedVocabulary(workflow, column.vocabulary));
    if (size !== column.cardinality) {
      throw new Error(
        `${where}: column "${column.name}" has cardinality ${column.cardinality} in the schema but ${size} in the workflow's vocabulary "${column.vocabulary}"`,
      );
    }
  }
  return encoder;
}

const parseJson = (text: string, source: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not valid JSON: ${(error as Error).message}`);
  }
};

/** Reads every file of a model folder through `reader` and builds the recommender. */
export async function readModelFolder(reader: FolderReader): Promise<RecommenderModel> {
  const json = async (file: string): Promise<unknown> => parseJson(await reader.text(file), reader.where(file));
  const manifest = await json(FOLDER_FILES.manifest);
  checkManifest(manifest, reader.where(FOLDER_FILES.manifest)); // before the larger files: the likeliest mistake
  const workflow = await json(FOLDER_FILES.workflow);
  const vocabularies: Record<string, unknown> = {};
  for (const name of savedVocabularyNames(workflow, reader.where(FOLDER_FILES.workflow))) {
    vocabularies[name] = await json(FOLDER_FILES.vocabulary(name));
  }
  const weightManifest = await json(FOLDER_FILES.weightManifest);
  const weights = await reader.bytes(FOLDER_FILES.weights);
  return recommenderFromParts({
    manifest,
    weightManifest,
    weights,
    workflow,
    vocabularies,
    where: (file) => reader.where(file),
  });
}

/** The recommender of a model folder's parsed files; errors name the file at fault. */
export function recommenderFromParts(parts: ModelFolderParts): RecommenderModel {
  const where = parts.where ?? ((file: string) => file);
  const manifest = checkManifest(parts.manifest, where(FOLDER_FILES.manifest));
  const workflow = parseSavedWorkflow(parts.workflow, parts.vocabularies, {
    workflow: where(FOLDER_FILES.workflow),
    vocabulary: (name) => where(FOLDER_FILES.vocabulary(name)),
  });
  const encoder = checkWorkflowSchema(
    workflow,
    manifest.schema,
    `${where(FOLDER_FILES.workflow)} does not fit ${where(FOLDER_FILES.manifest)}`,
  );
  if (isBaselineKind(manifest.kind)) {
    const weightManifest = parseManifest(parts.weightManifest, where(FOLDER_FILES.weightManifest));
    const files = {
      manifest: where(FOLDER_FILES.manifest),
      weightManifest: where(FOLDER_FILES.weightManifest),
      weights: where(FOLDER_FILES.weights),
    };
    return baselineRecommender(
      manifest,
      restoreFolderBaseline(manifest, weightManifest, parts.weights, files),
      workflow,
      encoder,
    );
  }
  const weights = decodeFolderWeights(parts, where);
  let built: { model: SessionModel; head: ItemOutputHead };
  try {
    checkFinite(weights, where(FOLDER_FILES.weights));
    built = buildModel(manifest, weights, where);
  } finally {
    tf.dispose(Object.values(weights)); // the variables hold their own copies
  }
  try {
    const recommender = createRecommender(
      manifest,
      built.model,
      built.head,
      workflow,
      encoder,
      where(FOLDER_FILES.manifest),
    );
    checkProbeScores(manifest, built.model, built.head, where(FOLDER_FILES.weights));
    return recommender;
  } catch (error) {
    disposeModel(built);
    throw error;
  }
}

function decodeFolderWeights(parts: ModelFolderParts, where: (file: string) => string): Record<string, tf.Tensor> {
  const manifest = parseManifest(parts.weightManifest, where(FOLDER_FILES.weightManifest));
  try {
    return decodeWeights(manifest, parts.weights);
  } catch (error) {
    throw new Error(`${where(FOLDER_FILES.weights)}: ${(error as Error).message}`);
  }
}

/** Throws, naming `file`, at the first NaN or infinite weight: a file of the right size but garbage contents. */
function checkFinite(weights: Record<string, tf.Tensor>, file: string): void {
  for (const [name, tensor] of Object.entries(weights)) {
    if (tensor.dtype !== "float32") continue;
    const values = tensor.dataSync();
    const at = values.findIndex((value) => !Number.isFinite(value));
    if (at >= 0)
      throw new Error(
        `${file}: weight "${name}" holds ${values[at]} at index ${at}: the file is corrupt (every weight must be a finite number)`,
      );
  }
}

/** One session of one event, every id the first known one and every number 0 (encoded, as liveBatch reads it). */
function probeSession(schema: DatasetSchema): EncodedSession {
  const columns = schema.columns.filter((column) => column.kind !== "count");
  const value = (column: (typeof columns)[number]): number =>
    column.kind === "continuous" ? 0 : Math.min(FIRST_ID, (column.cardinality ?? FIRST_ID + 1) - 1);
  return Object.fromEntries(columns.map((column) => [column.name, column.list ? [value(column)] : value(column)]));
}

/**
 * Scores a probe session over the whole catalogue and throws, naming `file`, when a score is not finite: finite
 * weights can still overflow (garbage of huge magnitude, a diverged model), and such a model must not serve.
 */
function checkProbeScores(
  manifest: ModelFolderManifest,
  model: SessionModel,
  head: ItemOutputHead,
  file: string,
): void {
  const scheme = { kind: manifest.scheme ?? ("next" as SchemeKind), maskId: model.inputs.maskId };
  const batch = liveBatch([probeSession(manifest.schema)], manifest.schema);
  let evaluation: EvaluationInputs | undefined;
  let states: tf.Tensor2D | undefined;
  let finite: tf.Tensor | undefined;
  try {
    evaluation = evaluationInputs(batch, scheme);
    states = nextItemStates(model, evaluation);
    const hidden = states;
    finite = tf.tidy(() => tf.all(tf.isFinite(head.logits(hidden))));
    if (finite.dataSync()[0] !== 1)
      throw new Error(
        `${file}: the scores of a probe session are not all finite numbers: the weights are corrupt or the model diverged`,
      );
  } finally {
    tf.dispose([batch, evaluation, states, finite] as unknown as tf.TensorContainer);
  }
}

/**
 * The model and head model.json describes, holding `weights` (the caller keeps and frees them), with the head frozen
 * for scoring; on failure nothing is left allocated.
 */
export function buildModel(
  manifest: ModelFolderManifest,
  weights: Record<string, tf.Tensor>,
  where: (file: string) => string,
): { model: SessionModel; head: ItemOutputHead } {
  const cannotBuild = (error: unknown): Error =>
    new Error(
      `${where(FOLDER_FILES.manifest)}: cannot build the ${manifest.kind} model it describes: ${(error as Error).message}`,
    );
  const kind = manifest.kind;
  if (isBaselineKind(kind))
    throw new Error(`${where(FOLDER_FILES.manifest)}: holds the baseline ${kind}, not a neural model`);
  let model: SessionModel;
  try {
    model = createModel(kind, manifest.config as never, manifest.schema);
  } catch (error) {
    throw cannotBuild(error);
  }
  let head: ItemOutputHead;
  try {
    head = createHeadFor(model, { ...(manifest.head as OutputHeadConfig), sampled: null });
  } catch (error) {
    disposeVariables(model.variables);
    throw cannotBuild(error);
  }
  try {
    assignWeights({ ...model.variables, ...head.variables }, weights);
  } catch (error) {
    disposeModel({ model, head });
    throw new Error(
      `${where(FOLDER_FILES.weightManifest)} does not fit the model of ${where(FOLDER_FILES.manifest)}: ${(error as Error).message}`,
    );
  }
  head.freeze(); // a loaded folder only serves
  return { model, head };
}

function createRecommender(
  manifest: ModelFolderManifest,
  model: SessionModel,
  head: ItemOutputHead,
  workflow: FittedWorkflow,
  encoder: LiveEncoder,
  manifestFile: string,
): RecommenderModel {
  const scheme = { kind: manifest.scheme ?? ("next" as SchemeKind), maskId: model.inputs.maskId };
  if (scheme.kind === "masked" && scheme.maskId === null) {
    throw new Error(`${manifestFile}: "scheme" is "masked" but the model has no MASK token (inputs.maskToken)`);
  }
  const itemColumn = manifest.schema.columns.find((column) => column.name === manifest.schema.item);
  const items = fittedVocabulary(workflow, itemColumn?.vocabulary as string).values; // id i + 2 ↔ items[i]
  let disposed = false;

  const recommendBatch = async (sessions: readonly RawSession[], k: number): Promise<Recommendation[]> => {
    checkRecommendCall(manifest.name, disposed, sessions, k, items.length);
    if (sessions.length === 0) return [];
    const batch = liveBatch(encoder.encode(sessions), manifest.schema);
    let evaluation: EvaluationInputs | undefined;
    let states: tf.Tensor2D | undefined;
    let best: { values: tf.Tensor2D; indices: tf.Tensor2D };
    try {
      // The sessions' own items, for the reminder bonus (lib/models/reminders.ts) when the model has one.
      const session =
        head.config.reminderBonus === 0
          ? undefined
          : { ids: Int32Array.from(await batch.items.data()), width: batch.items.shape[1] };
      evaluation = evaluationInputs(batch, scheme);
      states = nextItemStates(model, evaluation); // [sessions, dim]
      best = head.topK(states, k, session); // [sessions, k]
    } finally {
      tf.dispose([batch, evaluation, states] as unknown as tf.TensorContainer);
    }
    const [scores, ids] = await Promise.all([best.values.data(), best.indices.data()]);
    tf.dispose([best.values, best.indices]);
    return sessions.map((_, s) => ({
      items: Array.from(ids.subarray(s * k, (s + 1) * k), (id) => items[id - 2]),
      scores: Array.from(scores.subarray(s * k, (s + 1) * k)),
    }));
  };

  return {
    manifest,
    recommend: async (session, k) => (await recommendBatch([session], k))[0],
    recommendBatch,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      disposeModel({ model, head });
    },
  };
}
