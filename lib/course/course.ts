// What the model notebooks (03–06) share: the prepared Booking data (reused while it is current), the tutorial's
// run settings per model, a smaller training sample for CI runs, and the tables and charts every notebook shows.
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../data/synthetic";
import { WORKFLOW_FOLDER } from "../data/dataset";
import { Workflow } from "../data/workflow";
import { prepareData, protocolOf } from "../config/prepare";
import { parseRunConfig } from "../config/read";
import type { RecipeConfig, RunConfig } from "../config/schema";
import type { Protocol } from "../evaluate/protocols";
import { runModelOn, runScheme, type ModelRunConfig, type RunResult } from "../evaluate/run";
import { SessionLoader, type SessionTable } from "../data/loader";
import { type ModelFolderManifest, saveModelFolder } from "../model-folder/index";
import { type TrainedModel, loadTrainedModel, schemaMismatch } from "../model-folder/trained";
import { type ItemOutputHead, type SessionModel, disposeModel } from "../models/index";
import { type Figure, barChart, lineChart } from "../report/plot";
import { Random } from "../util/random";
import { mapValues } from "../util/records";
import type { EpochRecord } from "../train/types";

/** The neural models of the course, in notebook order (03 MLP, 04 LSTM, 05 Transformer). */
export type CourseModelName = "mlp" | "lstm" | "transformer";
export const COURSE_MODEL_NAMES: readonly CourseModelName[] = ["mlp", "lstm", "transformer"];

/** The settings of the model notebooks (03 MLP, 04 LSTM, 05 Transformer, 06's retraining), relative to the
 *  repository root: the tutorial's (NVIDIA Merlin, GTC 2023 session-based tutorial). npm start runs the same kinds of
 *  models with smaller batches (configs/course.json). */
export const COURSE_CONFIG_FILE = path.join("configs", "course-notebooks.json");

/** The course notebooks' config, read once (relative paths in it are relative to the repository root). */
function readCourseConfig(): RunConfig {
  const file = path.join(projectRoot(), COURSE_CONFIG_FILE);
  const config = parseRunConfig(JSON.parse(fs.readFileSync(file, "utf8")), file);
  for (const name of COURSE_MODEL_NAMES) {
    if (!config.models.some((m) => m.name === name && m.kind === name))
      throw new Error(`${file}: models: no model named "${name}" of kind "${name}" (notebooks 03–06 need it)`);
  }
  if (config.data.prepare?.recipe !== "booking")
    throw new Error(`${file}: data.prepare: the course prepares its data with the "booking" recipe`);
  return config;
}
const COURSE_CONFIG = readCourseConfig();

/** Where the course keeps its prepared data and its trained model folders (relative to the repository root). */
export const COURSE_DATA_DIR = COURSE_CONFIG.data.folder;
export const COURSE_MODELS_DIR = COURSE_CONFIG.output?.models ?? path.join("build", "models");

/** The course's protocol: the last city of each validation trip, ranked over all cities; recall, MRR, NDCG @4, @10. */
export const COURSE_PROTOCOL: Protocol = protocolOf(COURSE_CONFIG.evaluation);

/** Each notebook's model and its training settings, from COURSE_CONFIG_FILE. Model fields left out take the library
 *  defaults (documented on each config type), training fields RUN_DEFAULTS. */
export const COURSE_MODELS = Object.fromEntries(
  COURSE_MODEL_NAMES.map((name) => [name, COURSE_CONFIG.models.find((m) => m.name === name)]),
) as {
  readonly [K in CourseModelName]: Readonly<ModelRunConfig<K>>;
};

/** True in the headless CI run (`CI=true`), where notebooks train on a sample to stay within the time budget. */
export function isCiRun(): boolean {
  return process.env.CI === "true";
}

/**
 * Trips each model trains on when `CI=true` (null: all of them). On 2 CPU cores the MLP trains on all 40k synthetic
 * trips in about a minute; the sequence models, with a loss at every position, would take 5–10 minutes.
 */
export const CI_TRAINING_TRIPS: Readonly<Record<CourseModelName, number | null>> = {
  mlp: null,
  lstm: 6_000,
  transformer: 6_000,
};

/** The trips `name` trains on: all of `train`, or under `CI=true` the sample size of `CI_TRAINING_TRIPS`. */
export function courseTrainingSet(name: CourseModelName, train: SessionLoader): SessionLoader {
  const sample = CI_TRAINING_TRIPS[name];
  return isCiRun() && sample !== null ? sampleSessions(train, sample) : train;
}

// ---------------------------------------------------------------------------------------------------------------
// Data

export interface CourseData {
  /** Absolute path of the prepared folder. */
  dir: string;
  /** The booking log it was built from. */
  input: string;
  /** True when an existing, current folder was reused; false when it was prepared now. */
  reused: boolean;
  train: SessionLoader;
  valid: SessionLoader;
  /** The fitted workflow (vocabularies and statistics), saved with each model. */
  workflow: Workflow;
}

export interface CourseDataOptions {
  /** Prepared folder. Default `build/data/booking` under the repository root (notebook 02's). */
  dir?: string;
  /** Booking log. Default `resolveBookingData()`: SESSIONREC_DATA, else the bundled synthetic log. */
  input?: string;
  onProgress?: (message: string) => void;
}

/**
 * The course's prepared data (notebook 02's preparation of the booking log) loaded for training. Reuses the folder
 * when it was prepared from the same input file (path, size, mtime) with the same recipe (lib/config's
 * `prepareData`, as `npm start` does); otherwise prepares it again (≈10–30 s), as notebook 02 does.
 */
export async function prepareCourseData(options: CourseDataOptions = {}): Promise<CourseData> {
  const folder = path.resolve(options.dir ?? path.join(projectRoot(), COURSE_DATA_DIR));
  const prepare = COURSE_CONFIG.data.prepare as Extract<RecipeConfig, { recipe: "booking" }>;
  const { dir, reused, inputs } = await prepareData(
    { folder, prepare: { ...prepare, input: options.input ?? prepare.input } },
    options.onProgress,
  );
  const input = inputs[0];
  const [train, valid, workflow] = await Promise.all([
    SessionLoader.open(dir, "train"),
    SessionLoader.open(dir, "valid"),
    Workflow.load(path.join(dir, WORKFLOW_FOLDER)),
  ]);
  return { dir, input, reused, train, valid, workflow };
}

/** Copies of `rows` (session indices) of every array of `table`, in that order. */
function selectSessions(table: SessionTable, rows: Int32Array): SessionTable {
  const width = table.maxLength;
  const gather = <A extends Int32Array | Float32Array>(source: A, stride: number): A => {
    const out = (
      source instanceof Int32Array ? new Int32Array(rows.length * stride) : new Float32Array(rows.length * stride)
    ) as A;
    rows.forEach((row, i) => out.set(source.subarray(row * stride, (row + 1) * stride), i * stride));
    return out;
  };
  const each = <A extends Int32Array | Float32Array>(record: Record<string, A>, stride: number): Record<string, A> =>
    mapValues(record, (values) => gather(values, stride));
  return {
    schema: table.schema,
    numSessions: rows.length,
    maxLength: width,
    lengths: gather(table.lengths, 1),
    items: gather(table.items, width),
    categorical: each(table.categorical, width),
    continuous: each(table.continuous, width),
    context: each(table.context, 1),
  };
}

/** A seeded random sample of `count` sessions (kept in file order); the loader itself when it has no more. */
export function sampleSessions(loader: SessionLoader, count: number, seed = 7): SessionLoader {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`sampleSessions: count must be an integer >= 1, got ${count}`);
  if (count >= loader.numSessions) return loader;
  const rows = new Random(seed).permutation(loader.numSessions).slice(0, count).sort();
  return new SessionLoader(selectSessions(loader.table, rows));
}

// ---------------------------------------------------------------------------------------------------------------
// Saved models

/** `build/models/<name>` under the repository root. */
export function courseModelDir(name: CourseModelName): string {
  return path.join(projectRoot(), COURSE_MODELS_DIR, name);
}

/** Writes the trained model of `run` with the data's workflow and schema to `courseModelDir(name)`. */
export async function saveCourseModel(
  name: CourseModelName,
  run: Pick<RunResult, "metrics"> & { model: SessionModel; head: ItemOutputHead },
  data: Pick<CourseData, "train" | "workflow">,
): Promise<ModelFolderManifest> {
  return saveModelFolder(courseModelDir(name), {
    name,
    model: run.model,
    head: run.head,
    workflow: data.workflow,
    schema: data.train.table.schema,
    metrics: run.metrics,
    scheme: runScheme(run.model),
  });
}

/** A saved course model rebuilt with its weights (`loadTrainedModel`); `dispose` frees its tensors. */
export type LoadedCourseModel = TrainedModel;

/** The model saved in `courseModelDir(name)`, or null when there is none. */
export function loadCourseModel(name: CourseModelName): LoadedCourseModel | null {
  const dir = courseModelDir(name);
  return fs.existsSync(path.join(dir, "model.json")) ? loadTrainedModel(dir) : null;
}

/**
 * The saved model `name`, or, when `courseModelDir(name)` holds none, the model trained now with the settings of its
 * notebook (on `courseTrainingSet`) and saved there. Says which on stdout.
 */
export async function loadOrTrainCourseModel(name: CourseModelName, data: CourseData): Promise<LoadedCourseModel> {
  const saved = loadCourseModel(name);
  const schema = data.train.table.schema;
  if (saved !== null && schemaMismatch(saved.manifest.schema, schema) === null) {
    console.log(`${name}: loaded ${courseModelDir(name)} (saved ${saved.manifest.trainedAt})`);
    return saved;
  }
  saved?.dispose();
  const trainSet = courseTrainingSet(name, data.train);
  const why = saved === null ? "no saved model" : "the saved model was trained on other data (its schema differs)";
  console.log(
    `${name}: ${why} in ${courseModelDir(name)}; training it now on ${trainSet.numSessions} trips with its notebook's settings`,
  );
  const run = await runModelOn(
    COURSE_MODELS[name],
    { train: trainSet.table, test: data.valid.table },
    COURSE_PROTOCOL,
    { progress: "lines" },
  );
  await saveCourseModel(name, run, data);
  disposeModel(run);
  return loadCourseModel(name) as LoadedCourseModel;
}

// ---------------------------------------------------------------------------------------------------------------
// Tables and charts

const TABLE_METRICS = ["recall", "mrr", "ndcg"] as const;

/** One row per result with recall, MRR and NDCG at each k (rounded to 4 decimals), for `console.table`. */
export function metricsTable(
  results: readonly Pick<RunResult, "name" | "metrics">[],
  ks: readonly number[] = COURSE_PROTOCOL.ks!,
): Record<string, string | number>[] {
  return results.map((r) => {
    const row: Record<string, string | number> = { model: r.name };
    for (const k of ks)
      for (const m of TABLE_METRICS) row[`${m}@${k}`] = Number((r.metrics[`${m}@${k}`] ?? NaN).toFixed(4));
    return row;
  });
}

/** Training loss (left axis) and a validation metric (right axis) after each epoch. */
export function trainingCurve(history: readonly EpochRecord[], opts: { title: string; metric?: string }): Figure {
  const metric = opts.metric ?? "recall@10";
  const epochs = history.map((e) => e.epoch);
  const values = history.map((e) => e.metrics[metric] ?? NaN);
  const fig = lineChart(
    [
      { name: "training loss", x: epochs, y: history.map((e) => e.loss) },
      { name: `validation ${metric}`, x: epochs, y: values },
    ],
    { title: opts.title, xTitle: "epoch", yTitle: "training loss", markers: true },
  );
  fig.data[1].yaxis = "y2";
  fig.layout = {
    ...fig.layout,
    xaxis: { title: { text: "epoch" }, dtick: 1 },
    // From 0, so that the height of the curve reads as the metric's size, not only its change.
    yaxis2: {
      title: { text: `validation ${metric}` },
      overlaying: "y",
      side: "right",
      tickmode: "auto",
      range: [0, 1.1 * Math.max(0, ...values.filter(Number.isFinite)) || 1],
      showgrid: false,
    },
    legend: { orientation: "h", y: -0.2 },
  };
  return fig;
}

/** Grouped bars: one group per result, one bar per metric (e.g. recall@4 and recall@10). */
export function metricsBarChart(
  results: readonly Pick<RunResult, "name" | "metrics">[],
  metrics: readonly string[],
  title: string,
): Figure {
  const names = results.map((r) => r.name);
  const figures = metrics.map((m) =>
    barChart(
      names,
      results.map((r) => r.metrics[m] ?? NaN),
      { name: m, title, yTitle: "validation score" },
    ),
  );
  return { data: figures.flatMap((f) => f.data), layout: { ...figures[0].layout, barmode: "group" } };
}

/**
 * One sentence comparing `result` with the baselines on `metric`, from the numbers themselves, e.g.
 * "lstm: recall@10 0.412, 4.4× most-popular (0.094); successor-counts 0.660 (lstm is 0.248 below it)."
 */
export function compareWithBaselines(
  result: Pick<RunResult, "name" | "metrics">,
  baselines: readonly Pick<RunResult, "name" | "metrics">[],
  metric = "recall@10",
): string {
  const value = result.metrics[metric];
  const find = (name: string) => baselines.find((b) => b.name === name)?.metrics[metric];
  const popular = find("most-popular");
  const parts = [`${result.name}: ${metric} ${value.toFixed(3)}`];
  if (popular !== undefined) parts.push(`${(value / popular).toFixed(1)}× most-popular (${popular.toFixed(3)})`);
  const strongest = baselines.reduce<Pick<RunResult, "name" | "metrics"> | undefined>(
    (best, b) => (best === undefined || b.metrics[metric] > best.metrics[metric] ? b : best),
    undefined,
  );
  let sentence = parts.join(", ");
  if (strongest !== undefined && strongest.name !== "most-popular") {
    const gap = value - strongest.metrics[metric];
    sentence += `; the strongest baseline, ${strongest.name}, scores ${strongest.metrics[metric].toFixed(3)} (${result.name} is ${Math.abs(gap).toFixed(3)} ${gap >= 0 ? "above" : "below"} it)`;
  }
  return `${sentence}.`;
}
