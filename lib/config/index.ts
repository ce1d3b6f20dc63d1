// Run settings as data: the run config file (configs/*.json), its schema, reading it with errors that name the key,
// and the data and protocol it names. docs/configuration.md is the reference of every key.
export { ConfigError, keyPath, parseRunConfig, readRunConfig } from "./read";
export {
  SOURCE_FILE,
  carveValidation,
  hasSplit,
  loadRunData,
  prepareData,
  protocolOf,
  splitsIn,
  type PreparedData,
  type RunData,
} from "./prepare";
export {
  MODEL_KIND_NAMES,
  RECIPE_NAMES,
  runConfigSchema,
  type DataConfig,
  type EvaluationConfig,
  type ModelEntry,
  type RecipeConfig,
  type RunConfig,
  type ValidationConfig,
} from "./schema";
