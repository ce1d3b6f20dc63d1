// The contract of a saved model folder (model + its config + the fitted data workflow), shared by `npm start`,
// the notebooks, the HTTP service and the in-browser demo.
//
// Folder layout (every file fetchable by a web page), the same for a neural model and a fitted baseline:
//   model.json            ModelFolderManifest below; its `kind` says which (a model kind, or a baseline's name)
//   weights.json/.bin     a model: its and its head's variables; a baseline: its fitted state arrays (counts, session
//                         items, …; lib/baselines/saved.ts); both in the lib/model-folder/checkpoint format
//   workflow/             the fitted data workflow (workflow.json + vocabularies/*.json)
// Implemented by core.ts (browser-safe: builds a RecommenderModel from fetched parts; baseline.ts for a baseline) and
// node.ts (save / load with the file system); callers import ./index (node) or ./core (a web page).
// docs/model-folders.md describes each file.
import type { BaselineKind } from "../baselines/saved";
import type { DatasetSchema } from "../data/schema";
import type { ModelKind } from "../models/model";
import type { OutputHeadConfig } from "../models/outputs";
import type { SchemeKind } from "../models/targets";

export const MODEL_FILE = "model.json";
export const WORKFLOW_FOLDER = "workflow";
export const MODEL_FORMAT = "sessionrec-model";

export interface ModelFolderManifest {
  format: "sessionrec-model";
  version: 1;
  /** Display name, e.g. "gru". */
  name: string;
  /** A neural model's kind, or a baseline's name ("most-popular", "successor-counts", "v-sknn"). */
  kind: ModelKind | BaselineKind;
  /** The model's (or baseline's) config with every default filled in (enough to rebuild it before loading the
   *  weights or the state). */
  config: unknown;
  /** A neural model's output head config (tied, temperature, …; `sampled` is dropped: it only changes the training
   *  loss). Absent for a baseline. */
  head?: OutputHeadConfig;
  /** The dataset schema the model was trained on (vocabulary sizes, maxLength, columns). */
  schema: DatasetSchema;
  /** ISO 8601 time the folder was written. */
  trainedAt: string;
  /** Validation metrics at save time, e.g. { "recall@10": 0.41 }. */
  metrics: Record<string, number>;
  /** A neural model's target scheme (absent for a baseline). "masked" (BERT4Rec) makes `recommend` read the state of a MASK
   *  appended after the last event; "last" and "next" read the state at the last event. Default "next". */
  scheme?: SchemeKind;
}

/** One recommendation list: decoded item values (e.g. city ids as in the raw log), best first, and their scores. */
export interface Recommendation {
  items: (string | number)[];
  scores: number[];
}

/** A loaded model folder, ready to answer "what next?" for raw (un-encoded) sessions. */
export interface RecommenderModel {
  readonly manifest: ModelFolderManifest;
  /** Top-`k` next items for one session of raw events (as in the input log; the workflow orders them by time), k in
   *  1..the number of known items. OOV/padding are never recommended. Sessions longer than the schema's maxLength
   *  keep their last maxLength events. Errors name the session, the event and the field at fault. */
  recommend(session: readonly Record<string, unknown>[], k: number): Promise<Recommendation>;
  /** The same for many sessions, scored in one forward pass. */
  recommendBatch(sessions: readonly (readonly Record<string, unknown>[])[], k: number): Promise<Recommendation[]>;
  /** Frees the tensors. */
  dispose(): void;
}
