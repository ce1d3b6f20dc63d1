// `sessionrec`: the everyday API in one import: prepare a data set, train a model, evaluate it, save and load a
// model folder, recommend. The parts have their own entries (sessionrec/data, /models, /train, /evaluate, /serve,
// and /browser for web pages); this list stays short on purpose.

// Compute
export { type BackendInfo, type BackendName, initBackend } from "./compute/backend";

// Prepare: event logs → a data set folder (Parquet + schema.json + the fitted workflow)
export { type PrepareBookingOptions, type PreparedBooking, prepareBooking } from "./data/recipes/booking";
export { type PrepareYoochooseOptions, type PreparedYoochoose, prepareYoochoose } from "./data/recipes/yoochoose";
export { type PrepareSequencesOptions, type PreparedSequences, prepareSequences } from "./data/recipes/sequences";
export { type SessionTable, SessionLoader, readSchema, readSplit } from "./data/loader";
export type { DatasetSchema } from "./data/schema";

// Train
export { type ModelConfigs, type ModelKind, type SessionModel, MODEL_KINDS, createHeadFor, createModel, createTargetScheme, disposeModel } from "./models/index";
export { type FitConfig, type FitResult, fit } from "./train/index";

// Evaluate
export { type Protocol, GRU4REC_PROTOCOL, SASREC_PROTOCOL, evaluateModelOn, evaluateRecommenderOn } from "./evaluate/index";

// Model folders and recommendations
export { type SaveModelFolderOptions, loadModelFolder, saveModelFolder } from "./model-folder/node";
export type { Recommendation, RecommenderModel } from "./model-folder/types";
