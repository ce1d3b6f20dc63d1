// The contract of a saved model folder (model + its config + the fitted data workflow), shared by `npm start`,
// the notebooks, the HTTP service and the in-browser demo.
//
// Folder layout (every file fetchable by a web page):
//   model.json            ModelFolderManifest below
//   weights.json/.bin     the model's and the head's variables (lib/model-folder/checkpoint format)
//   workflow/             the fitted data workflow (workflow.json + vocabularies/*.json)
// Implemented by core.ts (browser-safe: builds a RecommenderModel from fetched parts) and node.ts (save / load with
// the file system); callers import ./index (node) or ./core (a web page).
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
  kind: ModelKind;
  /** The model's config with every default filled in (enough to rebuild it before loading the weights). */
  config: unknown;
  /** The output head's config (tied, temperature, …; `sampled` is dropped: it only changes the training loss). */
  head: OutputHeadConfig;
  /** The dataset schema the model was trained on (vocabulary sizes, maxLength, columns). */
  schema: DatasetSchema;
  /** ISO 8601 time the folder was written. */
  trainedAt: string;
  /** Validation metrics at save time, e.g. { "recall@10": 0.41 }. */
  metrics: Record<string, number>;
  /** The target scheme the model was trained with. "masked" (BERT4Rec) makes `recommend` read the state of a MASK
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
