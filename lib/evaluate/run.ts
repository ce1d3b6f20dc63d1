// The one training-and-evaluation path, shared by the CLI (`sessionrec compare`, `train`), `npm start`,
// `npm run eval:real`, the notebooks and the benches:
//   createRunModel  the untrained model and output head of a run config;
//   trainRunModel   trains it with `fit` and scores it under a protocol (protocols.ts): sequence models train causally
//                   (a target at every position); pooled ones (MLP) predict the last item of every prefix of every
//                   session (`prefixes`, default) or of each session only; with a validation split the best epoch (by
//                   the protocol's last headline metric) is kept and then scored on the evaluated split — which is
//                   then read once, after training (tests/run-validation.test.ts) — without one the last epoch is
//                   scored (and with `curve` the evaluated split after every epoch: a curve, nothing chosen on it);
//                   with `refit` (the whole train split) the model scored is trained anew on it, as many epochs of
//                   the same schedule as validation chose, with the reminder bonus chosen there (refitRunModel);
//   runModelOn      both;
//   runBaselinesOn  most-popular, successor counts and V-SKNN (VSTAN when named) fitted on train and scored like the
//                   models.
// Every setting a config leaves out takes its value from RUN_DEFAULTS (defaults.ts).
import {
  BASELINE_KINDS,
  BASELINE_REMINDER_BONUSES,
  RemindingBaseline,
  type Recommender,
  type SavableBaseline,
  type SessionKnnConfig,
  type VstanConfig,
  createBaseline,
} from "../baselines/index";
import { SessionLoader, sessionsOf, type SessionTable } from "../data/loader";
import type { RankingResult } from "../metrics/accumulator";
import type { DatasetSchema } from "../data/schema";
import {
  type ModelConfigs,
  type ModelKind,
  createHeadFor,
  createModel,
  createTargetScheme,
  disposeModel,
} from "../models/index";
import type { SessionModel } from "../models/model";
import type { ItemOutputHead, OutputHeadConfig, SampledSoftmaxConfig } from "../models/outputs";
import { REMINDER_BONUSES } from "../models/reminders";
import { fit, type FitConfig } from "../train/fit";
import type { ScheduleConfig } from "../train/schedule";
import type { EpochRecord } from "../train/types";
import { LengthBucketedBatches, prefixTable } from "./batches";
import { RUN_DEFAULTS } from "./defaults";
import {
  type Protocol,
  evaluateModelOn,
  evaluateModelUnder,
  evaluateRecommenderOn,
  evaluateRecommenderUnderOn,
  headlineMetrics,
} from "./protocols";

/** A sampled softmax against `numNegatives` items drawn uniformly (with replacement, shared by a batch). */
export interface UniformNegatives {
  negatives: "uniform";
  numNegatives: number;
  loss?: SampledSoftmaxConfig["loss"];
}

/** The output head of a run: lib/models' OutputHeadConfig, whose sampled softmax may also be "uniform" (plain data,
 *  so a config file can name it; the run turns it into weights over the data's catalogue). */
export interface RunHeadConfig extends Omit<OutputHeadConfig, "sampled" | "reminderBonus"> {
  sampled?: SampledSoftmaxConfig | UniformNegatives | null;
  /** A number (see OutputHeadConfig), or "validation": after training, the bonus of REMINDER_BONUSES with the best
   *  validation figure (the protocol's selection metric; ties go to the smaller bonus), 0 without a validation split
   *  or under protocol sampled-last. Default 0. */
  reminderBonus?: number | "validation";
}

/** How a model is trained; every field left out takes RUN_DEFAULTS' value (or fit's where it says so). */
export interface TrainingConfig {
  epochs?: number;
  /** Sessions per step. */
  batchSize?: number;
  /** Peak learning rate (Adam). */
  learningRate?: number;
  /** Shape of the rate after warm-up (ScheduleConfig). Default "constant". */
  decay?: ScheduleConfig["decay"];
  /** Steps of linear warm-up. Default 0. */
  warmupSteps?: number;
  /** Rate at the end of decay as a fraction of the peak. Default 0. */
  finalFraction?: number;
  /**
   * How sessions are grouped into steps. "by-length": sessions of similar length together, each batch padded to its
   * own longest (LengthBucketedBatches: cheap on logs of mostly short sessions). "shuffled": every batch a uniform
   * sample of all sessions (SessionLoader), computed in `lengthGroups` groups of similar length: dearer, but no step
   * sees only short or only long histories — on Amazon Games +0.06 validation HR@10 for the Transformer.
   */
  batches?: "by-length" | "shuffled";
  /** With "shuffled": each batch is computed as this many groups of similar length, each padded to its own longest
   *  (fit's `lengthGroups`; the same loss, less padding). */
  lengthGroups?: number;
  /** Pooled models (MLP): train on every prefix of every session (true) or on the last item of each session (false,
   *  the course's). */
  prefixes?: boolean;
  /** Gradient clipping (global norm). Default none. */
  clipNorm?: number;
  /** Adam's decays and epsilon. Default: fit's (0.9, 0.999). */
  adam?: FitConfig["adam"];
  /** Decoupled weight decay of every matrix (fit's `weightDecay`). Default 0. */
  weightDecay?: number;
  /** Shuffle seed. */
  seed?: number;
  /** Epochs without improvement on validation before stopping (only with a validation split). Default: no stop. */
  patience?: number;
  /** Score the evaluated split after every epoch (a learning curve; costs one evaluation per epoch). */
  curve?: boolean;
  /** "sampled-last": score only the first `validRows` rows after each epoch (cheaper; the final score is whole). */
  validRows?: number;
  /** Data-parallel replicas (fit's `workers`). Default: fit's. */
  workers?: number;
}

/** One model of a run: what to build and how to train it. */
export interface ModelRunConfig<K extends ModelKind = ModelKind> {
  kind: K;
  /** Name in tables and of its model folder. Default: the kind. */
  name?: string;
  /** Model config (defaults of lib/models otherwise). */
  model?: ModelConfigs[K];
  /** Output head (default: tied, full softmax). */
  head?: RunHeadConfig;
  training?: TrainingConfig;
}

/** What a run does besides its config: progress display (fit's). */
export interface RunOptions {
  progress?: FitConfig["progress"];
}

export interface RunResult {
  name: string;
  metrics: Record<string, number>;
  trainSeconds: number;
  history?: EpochRecord[];
  /** The reminder bonus it was scored with (lib/models/reminders.ts, lib/baselines/reminders.ts), when it has one;
   *  chosen on validation: each bonus tried and its validation figures. */
  reminderBonus?: number;
  reminderTrials?: { bonus: number; metrics: Record<string, number> }[];
  /** With `RunSplits.refit`: the seconds of the fit on the whole train split (included in `trainSeconds`). */
  refitSeconds?: number;
}

export interface RunSplits {
  train: SessionTable;
  /** Chooses the best epoch when given. */
  valid?: SessionTable;
  /** The evaluated split. */
  test: SessionTable;
  /** The whole train split (`train` + `valid`), when every method is to be fitted again on it with what `valid`
   *  chose (the epoch, the reminder bonus) before `test` is scored: models by `refitRunModel`, baselines refitted. */
  refit?: SessionTable;
}

export interface ProtocolRunResult extends RunResult {
  /** Epochs trained, and the one whose weights were scored. */
  epochs: number;
  bestEpoch: number;
  /** The reminder bonus the split was scored with (0: none). */
  reminderBonus: number;
}

/** A model and its output head as a run trains them. */
export interface ModelAndHead {
  model: SessionModel;
  head: ItemOutputHead;
}

/** The number of item ids (padding and OOV included) of a table's schema. */
export function itemCount(schema: DatasetSchema): number {
  const nItems = schema.columns.find((c) => c.name === schema.item)?.cardinality;
  if (nItems === undefined) throw new Error(`the schema has no item column '${schema.item}' with a cardinality`);
  return nItems;
}

/** Uniform sampling weights over the real items (never padding or OOV). With a uniform proposal the logQ correction
 *  is one constant per row: it changes nothing, so it is off. */
function uniformSampled(config: UniformNegatives, nItems: number): SampledSoftmaxConfig {
  const weights = Float32Array.from({ length: nItems }, (_, id) => (id >= 2 ? 1 : 0));
  return {
    negatives: "popularity",
    numNegatives: config.numNegatives,
    itemProbabilities: weights,
    logQCorrection: false,
    loss: config.loss,
  };
}

/** The head config of lib/models for a run's head over a catalogue of `nItems` ids. Uniform negatives as many as the
 *  catalogue's real items (ids 2..nItems-1) or more would cost as much as the whole catalogue and only repeat it: the
 *  full softmax is used instead (so one config serves small and large catalogues alike). */
export function resolveHead(config: RunHeadConfig | undefined, nItems: number): OutputHeadConfig | undefined {
  if (config === undefined) return undefined;
  // "validation" starts at 0; trainRunModel sets the chosen bonus after training.
  const head = { ...config, reminderBonus: config.reminderBonus === "validation" ? 0 : config.reminderBonus };
  if (head.sampled === undefined || head.sampled === null || head.sampled.negatives !== "uniform")
    return head as OutputHeadConfig;
  if (head.sampled.numNegatives >= nItems - 2) return { ...head, sampled: null };
  return { ...head, sampled: uniformSampled(head.sampled, nItems) };
}

/** The untrained model of `config` for `schema`, with the output head the run trains it with. */
export function createRunModel(
  config: Pick<ModelRunConfig, "kind" | "model" | "head">,
  schema: DatasetSchema,
): ModelAndHead {
  const model = createModel(config.kind, (config.model ?? {}) as never, schema);
  return { model, head: createHeadFor(model, resolveHead(config.head, itemCount(schema))) };
}

/** The target scheme a run trains `model` with (saved in its model folder): "last" for pooled models, else "next". */
export function runScheme(model: SessionModel): "last" | "next" {
  return model.output === "pooled" ? "last" : "next";
}

/** How `fit` trains `model` on `table` under a run's training config: its loader and everything but validation. */
function fitSettings(
  model: SessionModel,
  table: SessionTable,
  training: TrainingConfig,
  options: RunOptions,
): { loader: LengthBucketedBatches | SessionLoader; config: FitConfig } {
  const pooled = model.output === "pooled";
  const trainTable = pooled && (training.prefixes ?? RUN_DEFAULTS.prefixes) ? prefixTable(table) : table;
  const batches = training.batches ?? RUN_DEFAULTS.batches;
  if (batches !== "by-length" && batches !== "shuffled")
    throw new Error(`trainRunModel: batches must be "by-length" or "shuffled", got '${batches}'`);
  return {
    loader: batches === "shuffled" ? new SessionLoader(trainTable) : new LengthBucketedBatches(trainTable),
    config: {
      scheme: createTargetScheme(runScheme(model)),
      epochs: training.epochs ?? RUN_DEFAULTS.epochs,
      batchSize: training.batchSize ?? RUN_DEFAULTS.batchSize,
      lengthGroups: batches === "shuffled" ? (training.lengthGroups ?? RUN_DEFAULTS.lengthGroups) : 1,
      seed: training.seed ?? RUN_DEFAULTS.seed,
      schedule: {
        learningRate: training.learningRate ?? RUN_DEFAULTS.learningRate,
        decay: training.decay,
        warmupSteps: training.warmupSteps,
        finalFraction: training.finalFraction,
      },
      clipNorm: training.clipNorm,
      adam: training.adam,
      weightDecay: training.weightDecay,
      progress: options.progress,
      workers: training.workers,
      // The sessions themselves, not their prefixes (a globalNeighbours block counts each pair of clicks once); read
      // only for a model that needs them.
      sessions: model.fitSessions === undefined ? undefined : sessionsOf(table),
    },
  };
}

/** Trains `model` with `head` on `splits.train` under `config` and scores it on `splits.test` (see the top); with
 *  `splits.refit`, the model scored is `refitRunModel`'s, trained anew on it with what validation chose. */
export async function trainRunModel(
  model: SessionModel,
  head: ItemOutputHead,
  config: Pick<ModelRunConfig, "kind" | "name" | "head" | "training">,
  splits: RunSplits,
  protocol: Protocol,
  options: RunOptions = {},
): Promise<ProtocolRunResult & ModelAndHead> {
  const training = config.training ?? {};
  if (splits.refit !== undefined && splits.valid === undefined)
    throw new Error("trainRunModel: splits.refit needs splits.valid (what to choose the refit's epoch on)");
  const watched = splits.valid ?? splits.test;
  const [, selectBy] = headlineMetrics(protocol);
  const curve = training.curve ?? RUN_DEFAULTS.curve;
  const watchProtocol: Protocol =
    protocol.name === "sampled-last" && training.validRows !== undefined
      ? { ...protocol, rows: training.validRows }
      : protocol;
  const settings = fitSettings(model, splits.train, training, options);
  const result = await fit(model, head, settings.loader, {
    ...settings.config,
    evaluate:
      splits.valid !== undefined || curve
        ? async () => (await evaluateModelOn(model, head, watched, watchProtocol)).values
        : undefined,
    // Without a validation split nothing is selected: the last epoch is the result.
    earlyStopping:
      splits.valid === undefined
        ? undefined
        : { metric: selectBy, patience: training.patience ?? Number.MAX_SAFE_INTEGER },
  });
  // Training time without the per-epoch evaluation, which the baselines do not pay either.
  const trainSeconds = trainingSeconds(result.history);
  const reminderTrials =
    config.head?.reminderBonus === "validation" && splits.valid !== undefined && protocol.name !== "sampled-last"
      ? await chooseReminderBonus(model, head, splits.valid, protocol, selectBy)
      : undefined;
  let scored: ModelAndHead = { model, head };
  let refitSeconds: number | undefined;
  if (splits.refit !== undefined) {
    const refit = await refitRunModel(scored, training, splits.refit, result.bestEpoch, options);
    disposeModel(scored);
    scored = { model: refit.model, head: refit.head };
    refitSeconds = refit.trainSeconds;
  }
  const lastEpochScored = splits.valid === undefined && curve;
  const metrics = lastEpochScored
    ? result.history[result.history.length - 1].metrics
    : (await evaluateModelOn(scored.model, scored.head, splits.test, protocol)).values;
  return {
    name: config.name ?? config.kind,
    metrics,
    trainSeconds: trainSeconds + (refitSeconds ?? 0),
    ...(refitSeconds === undefined ? {} : { refitSeconds }),
    history: result.history,
    epochs: result.history.length,
    bestEpoch: result.bestEpoch,
    reminderBonus: scored.head.config.reminderBonus,
    ...(reminderTrials === undefined ? {} : { reminderTrials }),
    ...scored,
  };
}

/**
 * A model like `chosen.model` (its kind and config: the same initial weights and dropout seeds) with a head like
 * `chosen.head` (its reminder bonus included), trained anew on `table` — the whole train split, the validation part
 * included — for the first `epochs` epochs of the same schedule (its length in epochs from `training`, in steps from
 * `table`), where validation chose the best epoch of the run on the rest. Nothing is scored.
 */
export async function refitRunModel(
  chosen: ModelAndHead,
  training: TrainingConfig,
  table: SessionTable,
  epochs: number,
  options: RunOptions = {},
): Promise<ModelAndHead & { trainSeconds: number }> {
  const source = chosen.model;
  const model = createModel(source.kind, source.config as never, table.schema);
  const head = createHeadFor(model, { ...chosen.head.config });
  try {
    const settings = fitSettings(model, table, training, options);
    const result = await fit(model, head, settings.loader, { ...settings.config, stopAfter: epochs });
    return { model, head, trainSeconds: trainingSeconds(result.history) };
  } catch (error) {
    disposeModel({ model, head });
    throw error;
  }
}

/** Seconds of training over `history`'s epochs, without their evaluation. */
function trainingSeconds(history: readonly EpochRecord[]): number {
  return history.reduce((sum, epoch) => sum + epoch.seconds, 0);
}

/** Fits `recommender` on `sessions`; the seconds it took. */
function fitSeconds(recommender: Recommender, sessions: readonly Int32Array[]): number {
  const started = performance.now();
  recommender.fit(sessions);
  return (performance.now() - started) / 1000;
}

type ReminderTrials = NonNullable<RunResult["reminderTrials"]>;

/** Each bonus with its validation figures, and the best by `metric` (ties: the smaller, the earlier of `bonuses`). */
function bestReminder(
  bonuses: readonly number[],
  results: readonly RankingResult[],
  metric: string,
): { trials: ReminderTrials; best: number } {
  const trials = bonuses.map((bonus, i) => ({ bonus, metrics: results[i].values }));
  return { trials, best: trials.reduce((a, b) => (b.metrics[metric] > a.metrics[metric] ? b : a)).bonus };
}

/** Scores `valid` once per bonus of REMINDER_BONUSES and sets the head's bonus to the best by `metric` (ties: the
 *  smaller bonus); returns every bonus's figures. */
async function chooseReminderBonus(
  model: SessionModel,
  head: ItemOutputHead,
  valid: SessionTable,
  protocol: Protocol,
  metric: string,
): Promise<ReminderTrials> {
  const results = await evaluateModelUnder(model, head, valid, protocol, REMINDER_BONUSES);
  const { trials, best } = bestReminder(REMINDER_BONUSES, results, metric);
  head.setReminderBonus(best);
  return trials;
}

/** Creates the model of `config` (`createRunModel`) and trains and scores it (`trainRunModel`). */
export function runModelOn(
  config: ModelRunConfig,
  splits: RunSplits,
  protocol: Protocol,
  options: RunOptions = {},
): Promise<ProtocolRunResult & ModelAndHead> {
  const { model, head } = createRunModel(config, splits.train.schema);
  return trainRunModel(model, head, config, splits, protocol, options);
}

/** A baseline of a run: its name (RUN_DEFAULTS.baselines are fitted when a config names none; "vstan" only when
 *  named), and V-SKNN's or VSTAN's settings. */
export type BaselineName = (typeof BASELINE_KINDS)[number];
export type BaselineConfig =
  | BaselineName
  | { name: "v-sknn"; config?: SessionKnnConfig; reminderBonus?: number | "validation" }
  | { name: "vstan"; config?: VstanConfig; reminderBonus?: number | "validation" };

/** The baseline of `config` (a name, or a name with settings) for a catalogue of `nItems` ids. A reminder bonus
 *  (lib/baselines/reminders.ts: a number, or "validation" — chosen by `runBaselinesOn` on the validation split from
 *  BASELINE_REMINDER_BONUSES) wraps it in a RemindingBaseline. */
export function createRunBaseline(config: BaselineConfig, nItems: number): SavableBaseline {
  if (typeof config === "string") return createBaseline(config, nItems, {});
  const baseline = createBaseline(config.name, nItems, { ...config.config });
  if (config.reminderBonus === undefined) return baseline;
  const chosen = config.reminderBonus === "validation";
  return new RemindingBaseline(baseline, chosen ? 0 : (config.reminderBonus as number), chosen);
}

/** The three baselines of lib/baselines for a catalogue of `nItems` ids. */
export function defaultBaselines(nItems: number): Recommender[] {
  return RUN_DEFAULTS.baselines.map((name) => createRunBaseline(name, nItems));
}

/** Fits each baseline on the train sessions (in table order = time order) and scores it on test under `protocol`;
 *  a baseline whose reminder bonus is "validation" gets the bonus with the best validation figure first (ties: the
 *  smaller; 0 without a validation split or under sampled-last); with `splits.refit` it is then fitted again on that
 *  (the whole train split) before test is scored. */
export function runBaselinesOn(
  splits: Pick<RunSplits, "train" | "valid" | "test" | "refit">,
  protocol: Protocol,
  baselines?: Recommender[],
): RunResult[] {
  const train = sessionsOf(splits.train);
  const whole = splits.refit === undefined ? undefined : sessionsOf(splits.refit);
  const [, selectBy] = headlineMetrics(protocol);
  return (baselines ?? defaultBaselines(itemCount(splits.train.schema))).map((recommender) => {
    const trainSeconds = fitSeconds(recommender, train);
    let trials: ReminderTrials | undefined;
    if (
      recommender instanceof RemindingBaseline &&
      recommender.chooseOnValidation &&
      splits.valid !== undefined &&
      protocol.name !== "sampled-last"
    ) {
      const results = evaluateRecommenderUnderOn(recommender.inner, splits.valid, protocol, BASELINE_REMINDER_BONUSES);
      const chosen = bestReminder(BASELINE_REMINDER_BONUSES, results, selectBy);
      [trials, recommender.bonus] = [chosen.trials, chosen.best];
    }
    const refitSeconds = whole === undefined ? undefined : fitSeconds(recommender, whole);
    return {
      name: recommender.name,
      metrics: evaluateRecommenderOn(recommender, splits.test, protocol).values,
      trainSeconds: trainSeconds + (refitSeconds ?? 0),
      ...(refitSeconds === undefined ? {} : { refitSeconds }),
      ...(recommender instanceof RemindingBaseline ? { reminderBonus: recommender.bonus } : {}),
      ...(trials === undefined ? {} : { reminderTrials: trials }),
    };
  });
}
