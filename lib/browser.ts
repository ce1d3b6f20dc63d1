// `sessionrec/browser`: a saved model folder fetched over HTTP (or read through any FolderReader) and asked for
// recommendations, in a web page. Only modules without Node built-ins or DuckDB come in here (tests/package.test.ts
// builds this entry with Vite and checks); the Node side (loadModelFolder from disk) is the root entry's.
export { type FetchedModel, fetchModel, fetchModelParts } from "./model-folder/fetch";
export {
  FOLDER_FILES,
  type FolderReader,
  type ModelFolderParts,
  folderFiles,
  readModelFolder,
  recommenderFromParts,
} from "./model-folder/core";
export type { ModelFolderManifest, Recommendation, RecommenderModel } from "./model-folder/types";
export {
  type FittedWorkflow,
  fittedVocabularies,
  fittedVocabulary,
  parseSavedWorkflow,
  savedVocabularyNames,
} from "./data/fitted";
export { type Vocabulary, decodeId, encodeValue } from "./data/categorify";
export type { ColumnSchema, DatasetSchema } from "./data/schema";
export type { RawSession } from "./data/live";
