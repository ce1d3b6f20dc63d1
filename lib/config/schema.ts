// The run config file (configs/*.json) as a zod schema: the data (a prepared folder, and optionally the recipe that
// prepares it), the baselines, the models (kind, model config, head, training) and the evaluation protocol. Every
// object is strict (an unknown key is an error: a misspelt key would otherwise be silently ignored). The reference of
// every key, with its default, is docs/configuration.md; the defaults themselves are RUN_DEFAULTS
// (lib/evaluate/defaults.ts) and those of lib/models.
import { z } from "zod";
import { BASELINE_KINDS } from "../baselines/saved";
import { eventsRecipeSchema } from "../data/recipes/events";
import { PROTOCOL_NAMES } from "../evaluate/protocols";

const positiveInteger = () =>
  z
    .number({ error: "expected a positive integer" })
    .int({ error: "expected a positive integer" })
    .positive({ error: "expected a positive integer" });
const nonNegativeInteger = () =>
  z
    .number({ error: "expected an integer >= 0" })
    .int({ error: "expected an integer >= 0" })
    .min(0, { error: "expected an integer >= 0" });
const positiveNumber = () =>
  z.number({ error: "expected a positive number" }).positive({ error: "expected a positive number" });
const fraction = () =>
  z
    .number({ error: "expected a number in [0, 1]" })
    .min(0, { error: "expected a number in [0, 1]" })
    .max(1, { error: "expected a number in [0, 1]" });
const text = () => z.string({ error: "expected a non-empty string" }).min(1, { error: "expected a non-empty string" });
const bool = () => z.boolean({ error: "expected true or false" });
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `expected one of ${values.map((v) => JSON.stringify(v)).join(", ")}` });
const positiveIntegers = () => z.array(positiveInteger(), { error: "expected an array of positive integers" });
const dateText = () =>
  z
    .string({ error: "expected a date YYYY-MM-DD" })
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: "expected a date YYYY-MM-DD" });

// ---------------------------------------------------------------------------------------------------------------
// Data: where the prepared data set is, and the recipe that prepares it there. One entry per recipe, told apart by
// `recipe`: a new recipe is one more schema in RECIPES.

const bookingRecipe = z.strictObject({
  recipe: z.literal("booking"),
  /** train_set.csv (or Parquet). Default: SESSIONREC_DATA, else the bundled synthetic log. */
  input: text().optional(),
  splitDate: dateText().optional(),
  maxLength: positiveInteger().optional(),
  minLength: positiveInteger().optional(),
  minFrequency: positiveInteger().optional(),
});

const yoochooseRecipe = z.strictObject({
  recipe: z.literal("yoochoose"),
  /** Folder holding train.tsv and test.tsv. Default ../shared/data/yoochoose-100k. */
  inputDir: text().optional(),
  removeRepeats: bool().optional(),
  minLength: positiveInteger().optional(),
  maxLength: positiveInteger().optional(),
});

const sequencesRecipe = z.strictObject({
  recipe: z.literal("sequences"),
  /** A `user item` file. Default ../shared/data/amazon-games/interactions.txt. */
  input: text().optional(),
  maxHistory: positiveInteger().optional(),
  minInteractions: positiveInteger().optional(),
  catalogue: oneOf(["train", "file"]).optional(),
});

// Any event log through a column mapping (lib/data/recipes/events.ts owns the schema; here it is named "events").
const eventsRecipe = eventsRecipeSchema.safeExtend({ recipe: z.literal("events") });

export const RECIPES = [bookingRecipe, yoochooseRecipe, sequencesRecipe, eventsRecipe] as const;
export const RECIPE_NAMES = RECIPES.map((r) => r.shape.recipe.value);

export const recipeSchema = z.discriminatedUnion("recipe", RECIPES);

/** A validation split carved from train by time when the prepared folder has none (lib/config/prepare.ts). */
export const validationSchema = z.strictObject({
  /** The share of train sessions, the latest by start time (table order), that become validation. */
  fraction: z
    .number({ error: "expected a number between 0 and 1 (exclusive)" })
    .gt(0, { error: "expected a number between 0 and 1 (exclusive)" })
    .lt(1, { error: "expected a number between 0 and 1 (exclusive)" }),
  /** After every choice is made on validation (each model's epoch, each reminder bonus), fit every method again on the
   *  whole train split with those choices before test is scored: the scored (and saved) models have seen the latest
   *  sessions and every item of train. Default false (scored as fitted on the rest). */
  refit: bool().optional(),
});

export const dataSchema = z.strictObject({
  /** The prepared data set: train.parquet (+ valid / test), schema.json, workflow/. */
  folder: text(),
  /** How to prepare it (by `sessionrec compare`, reused while its inputs and settings are unchanged). Default: the
   *  folder is prepared already. */
  prepare: recipeSchema.optional(),
  /** Carve a validation split from train (the folder must have none). Default: the folder's valid split, if any. */
  validation: validationSchema.optional(),
});

// ---------------------------------------------------------------------------------------------------------------
// Models

const activation = () => oneOf(["relu", "gelu", "tanh", "linear"]);

const inputsFields = {
  itemDim: positiveInteger().optional(),
  embeddingDims: z
    .record(z.string(), positiveInteger(), { error: "expected an object of column name → positive integer" })
    .optional(),
  exclude: z.array(text(), { error: "expected an array of column names" }).optional(),
  maskToken: bool().optional(),
};
const inputsSchema = z.strictObject({ ...inputsFields, projection: positiveInteger().optional() });

const mlpModel = z.strictObject({
  inputs: inputsSchema.optional(),
  layers: positiveIntegers().optional(),
  activation: activation().optional(),
  dropout: fraction().optional(),
  seed: z.number({ error: "expected a number" }).int({ error: "expected an integer" }).optional(),
});

const rnnModel = z.strictObject({
  inputs: inputsSchema.optional(),
  units: positiveInteger().optional(),
  l2: z.number({ error: "expected a number >= 0" }).min(0, { error: "expected a number >= 0" }).optional(),
  dropout: fraction().optional(),
  readout: oneOf(["none", "attention"]).optional(),
  mlp: positiveIntegers().optional(),
  mlpActivation: activation().optional(),
  seed: z.number({ error: "expected a number" }).int({ error: "expected an integer" }).optional(),
});

const transformerModel = z.strictObject({
  inputs: z.strictObject(inputsFields).optional(),
  dModel: positiveInteger().optional(),
  heads: positiveInteger().optional(),
  layers: positiveInteger().optional(),
  ffnDim: positiveInteger().optional(),
  dropout: fraction().optional(),
  causal: bool().optional(),
  readout: oneOf(["none", "attention"]).optional(),
  mlp: positiveIntegers().optional(),
  mlpActivation: activation().optional(),
  inputInitScale: positiveNumber().optional(),
  seed: z.number({ error: "expected a number" }).int({ error: "expected an integer" }).optional(),
});

const { maskToken: _maskToken, ...coreInputsFields } = inputsFields;
const coreModel = z.strictObject({
  inputs: z.strictObject(coreInputsFields).optional(),
  weights: oneOf(["uniform", "transformer"]).optional(),
  heads: positiveInteger().optional(),
  layers: positiveInteger().optional(),
  ffnDim: positiveInteger().optional(),
  dropout: fraction().optional(),
  inputDropout: fraction().optional(),
  temperature: positiveNumber().optional(),
  output: oneOf(["sequence", "pooled"]).optional(),
  globalNeighbours: z
    .union([
      z.literal(false),
      z.strictObject({
        neighbours: positiveInteger().optional(),
        window: positiveInteger().optional(),
        dropout: fraction().optional(),
      }),
    ])
    .optional(),
  seed: z.number({ error: "expected a number" }).int({ error: "expected an integer" }).optional(),
});

const srgnnModel = z.strictObject({
  inputs: z.strictObject(coreInputsFields).optional(),
  steps: positiveInteger().optional(),
  seed: z.number({ error: "expected a number" }).int({ error: "expected an integer" }).optional(),
});

const sampledSchema = z.discriminatedUnion("negatives", [
  z.strictObject({
    negatives: z.literal("uniform"),
    numNegatives: positiveInteger(),
    loss: oneOf(["softmax", "bce"]).optional(),
  }),
  z.strictObject({ negatives: z.literal("in-batch") }),
]);

/** A reminder bonus (lib/models/reminders.ts, lib/baselines/reminders.ts): a number, or "validation". */
const reminderBonus = () =>
  z
    .union([z.number().min(0, { error: 'expected a number >= 0 or "validation"' }), z.literal("validation")], {
      error: 'expected a number >= 0 or "validation"',
    })
    .optional();

const headSchema = z.strictObject({
  tied: bool().optional(),
  cosine: bool().optional(),
  temperature: positiveNumber().optional(),
  labelSmoothing: fraction().optional(),
  itemDropout: z
    .number({ error: "expected a number in [0, 1)" })
    .min(0, { error: "expected a number in [0, 1)" })
    .lt(1, { error: "expected a number in [0, 1)" })
    .optional(),
  reminderBonus: reminderBonus(),
  sampled: sampledSchema.nullable().optional(),
  seed: z.number({ error: "expected a number" }).int({ error: "expected an integer" }).optional(),
});

const trainingSchema = z.strictObject({
  epochs: positiveInteger().optional(),
  batchSize: positiveInteger().optional(),
  learningRate: positiveNumber().optional(),
  decay: oneOf(["constant", "cosine", "linear"]).optional(),
  warmupSteps: nonNegativeInteger().optional(),
  finalFraction: fraction().optional(),
  batches: oneOf(["by-length", "shuffled"]).optional(),
  lengthGroups: positiveInteger().optional(),
  prefixes: bool().optional(),
  clipNorm: positiveNumber().optional(),
  adam: z
    .strictObject({ beta1: fraction().optional(), beta2: fraction().optional(), epsilon: positiveNumber().optional() })
    .optional(),
  weightDecay: z.number({ error: "expected a number >= 0" }).min(0, { error: "expected a number >= 0" }).optional(),
  seed: z.number({ error: "expected a number" }).int({ error: "expected an integer" }).optional(),
  patience: positiveInteger().optional(),
  curve: bool().optional(),
  validRows: positiveInteger().optional(),
  workers: positiveInteger().optional(),
});

const modelEntry = <K extends string, M extends z.ZodType>(kind: K, model: M) =>
  z.strictObject({
    kind: z.literal(kind),
    /** Name in tables and of the model folder. Default: the kind. */
    name: z
      .string({ error: "expected a name of letters, digits, '-' or '_'" })
      .regex(/^[A-Za-z0-9_-]+$/, { error: "expected a name of letters, digits, '-' or '_'" })
      .optional(),
    model: model.optional(),
    head: headSchema.optional(),
    training: trainingSchema.optional(),
  });

export const MODEL_KIND_NAMES = ["mlp", "gru", "lstm", "transformer", "core", "srgnn"] as const;

export const modelSchema = z.discriminatedUnion("kind", [
  modelEntry("mlp", mlpModel),
  modelEntry("gru", rnnModel),
  modelEntry("lstm", rnnModel),
  modelEntry("transformer", transformerModel),
  modelEntry("core", coreModel),
  modelEntry("srgnn", srgnnModel),
]);

// ---------------------------------------------------------------------------------------------------------------
// Baselines and evaluation

const lambda = () => positiveNumber().nullable().optional();

const baselineSchema = z.union(
  [
    oneOf(BASELINE_KINDS),
    z.strictObject({
      name: z.literal("v-sknn"),
      config: z
        .strictObject({
          k: positiveInteger().optional(),
          sampleSize: positiveInteger().optional(),
          similarity: oneOf(["cosine", "vec"]).optional(),
        })
        .optional(),
      reminderBonus: reminderBonus(),
    }),
    z.strictObject({
      name: z.literal("vstan"),
      reminderBonus: reminderBonus(),
      config: z
        .strictObject({
          k: positiveInteger().optional(),
          sampleSize: positiveInteger().optional(),
          similarity: oneOf(["cosine", "vec"]).optional(),
          /** VSTAN's weights (lib/baselines/vstan.ts); null switches one off. */
          lambdaSpw: lambda(),
          lambdaSnh: lambda(),
          lambdaInh: lambda(),
          lambdaIpw: lambda(),
          lambdaIdf: lambda(),
        })
        .optional(),
    }),
  ],
  {
    error: `expected one of ${BASELINE_KINDS.map((b) => JSON.stringify(b)).join(", ")}, or { "name": "v-sknn" | "vstan", "config"?: {...}, "reminderBonus"?: number | "validation" }`,
  },
);

export const evaluationSchema = z.strictObject({
  protocol: oneOf(PROTOCOL_NAMES),
  ks: positiveIntegers().min(1, { error: "expected at least one cut-off" }).optional(),
  /** The split scored. Default "test". */
  split: text().optional(),
  /** "sampled-last": negatives per row and their seed. */
  negatives: positiveInteger().optional(),
  seed: z.number({ error: "expected a number" }).int({ error: "expected an integer" }).optional(),
});

export const outputSchema = z.strictObject({
  /** Where `compare` saves each model's folder (<models>/<name>). Default build/models. */
  models: text().optional(),
  /** The HTML report of `compare`. Default build/report.html. */
  report: text().optional(),
});

export const runConfigSchema = z.strictObject({
  /** Title of the report. */
  title: text().optional(),
  /** What the run is, for people reading the file. */
  description: z.string({ error: "expected a string" }).optional(),
  data: dataSchema,
  /** Default: all three; [] for none. */
  baselines: z.array(baselineSchema, { error: "expected an array of baselines" }).optional(),
  models: z.array(modelSchema, { error: "expected an array of models" }).default([]),
  evaluation: evaluationSchema,
  output: outputSchema.optional(),
});

/** A run config as read from a file (defaults not yet applied, except `models`: []). */
export type RunConfig = z.infer<typeof runConfigSchema>;
export type DataConfig = z.infer<typeof dataSchema>;
export type ValidationConfig = z.infer<typeof validationSchema>;
export type RecipeConfig = z.infer<typeof recipeSchema>;
export type ModelEntry = z.infer<typeof modelSchema>;
export type EvaluationConfig = z.infer<typeof evaluationSchema>;
