// `sessionrec`: the everyday API in one import: prepare a data set, train a model, evaluate it, save and load a
// model folder, recommend. The parts have their own entries (sessionrec/data, /models, /train, /evaluate, /serve,
// and /browser for web pages); this list stays short on purpose.

// Compute
export { type BackendInfo, type BackendName, initBackend } from "./compute/backend";

// Prepare: event logs → a data set folder (Parquet + schema.json + the fitted workflow). prepareEvents reads any
// log through a column mapping; the others are the fixed recipes of the course and the real-data benchmarks.
export {
  type EventsRecipeInput,
  type PrepareEventsOptions,
  type PreparedEvents,
  prepareEvents,
} from "./data/recipes/events";
export { type PrepareBookingOptions, type PreparedBooking, prepareBooking } from "./data/recipes/booking";
export { type PrepareYoochooseOptions, type PreparedYoochoose, prepareYoochoose } from "./data/recipes/yoochoose";
export { type PrepareSequencesOptions, type PreparedSequences, prepareSequences } from "./data/recipes/sequences";
export { type SessionTable, SessionLoader, readSchema, readSplit } from "./data/loader";
export type { DatasetSchema } from "./data/schema";

// Train
export {
  type ModelConfigs,
  type ModelKind,
  type SessionModel,
  MODEL_KINDS,
  createHeadFor,
  createModel,
  createTargetScheme,
  disposeModel,
} from "./models/index";
export { type FitConfig, type FitResult, fit } from "./train/index";

// Train and evaluate as the CLI does: a run config's model or baseline on prepared splits, scored under a protocol
export {
  type Protocol,
  GRU4REC_PROTOCOL,
  SASREC_PROTOCOL,
  evaluateModelOn,
  evaluateRecommenderOn,
} from "./evaluate/index";
export {
  type BaselineConfig,
  type ModelRunConfig,
  type ProtocolRunResult,
  type RunSplits,
  RUN_DEFAULTS,
  createRunBaseline,
  runBaselinesOn,
  runModelOn,
} from "./evaluate/index";
export { type RunConfig, readRunConfig } from "./config/index";

// Model folders and recommendations
export { type SaveModelFolderOptions, loadModelFolder, saveModelFolder } from "./model-folder/node";
export type { Recommendation, RecommenderModel } from "./model-folder/types";
