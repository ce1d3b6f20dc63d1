// The training loop: Adam with a per-step learning-rate schedule over shuffled batches, optional decoupled weight
// decay and gradient-norm clipping, validation after each epoch, early stopping with restore of the best weights,
// and a history to plot.
import * as tf from "@tensorflow/tfjs";
import { batchCount, disposeBatch, sessionsOf, type BatchSource } from "../data/loader";
import type { NextItemModel, OutputHead, SessionBatch, TargetScheme } from "../models/types";
import { Random } from "../util/random";
import { defaultWorkers, startDataParallel, type DataParallelTrainer } from "./parallel/trainer";
import { createProgress, type ProgressMode, type ProgressReporter } from "./progress";
import { learningRateAt, type ScheduleConfig } from "./schedule";
import {
  createParameterUpdate,
  fillMissing,
  trainableVariables,
  lossGradients,
  trainingLoss,
  type ParameterUpdate,
  type UpdateConfig,
} from "./step";
import type { EpochRecord, FitResult } from "./types";

export interface EarlyStoppingConfig {
  /** Name of the value to watch: a key returned by `evaluate`, or "loss" for the training loss. */
  metric: string;
  /** Whether larger ("max", default: recall, MRR, NDCG) or smaller ("min": losses) is better. */
  mode?: "max" | "min";
  /** Epochs without improvement before stopping. Default 2. */
  patience?: number;
  /** Smallest change that counts as an improvement. Default 0. */
  minDelta?: number;
}

export interface FitConfig extends UpdateConfig {
  /** Maps each batch to inputs and targets (predict-last, causal next-item, masked-item). */
  scheme: TargetScheme;
  /** Passes over the training data. Default 1. */
  epochs?: number;
  /** Train only the first this many epochs of the `epochs`-long schedule (a refit that stops where validation chose
   *  the best epoch of a longer run). Default: `epochs`. */
  stopAfter?: number;
  /** Sessions per step. Default 256. */
  batchSize?: number;
  /** Seed of the per-epoch shuffles. Default 42. (Model initialisation and dropout are seeded by the model.) */
  seed?: number;
  /** Learning-rate schedule. Default: constant 1e-3. */
  schedule?: ScheduleConfig;
  /** Compute each step's batch as this many groups of sessions of similar length, each padded to its own longest
   *  (`groupByLength`): the same loss — a mean over all the batch's targets, sampled negatives shared — with less
   *  padding, for models that ignore padded positions. Default 1 (the batch as it comes). */
  lengthGroups?: number;
  /** Skip the last, smaller batch of each epoch. Default false. */
  dropLast?: boolean;
  /** Validation after each epoch; returns named metrics (e.g. { "recall@10": 0.31 }). */
  evaluate?: () => Promise<Record<string, number>>;
  /** Stop when the watched value has not improved for `patience` epochs. */
  earlyStopping?: EarlyStoppingConfig;
  /** Put back the weights of the best epoch at the end. Default true when `earlyStopping` is set. */
  restoreBest?: boolean;
  /** Default "auto": a bar in a terminal, one line per epoch elsewhere. */
  progress?: ProgressMode | ProgressReporter;
  /** Called with each epoch's record (e.g. to save a checkpoint or plot live). */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  /** Data-parallel training over this many replicas: the main thread and workers − 1 worker threads, each computing
   *  the gradients of its share of every batch (lib/train/parallel). Needs a model from `createModel`, a head from
   *  `createHeadFor` and a loader holding its table, on the wasm or cpu backend. Default: SESSIONREC_WORKERS when
   *  set, else 1 (this thread only; see docs/training-speed.md for when more pays). */
  workers?: number;
  /** The training sessions (item id sequences, oldest first) a model with `fitSessions` reads before the first epoch
   *  (the item graph of a globalNeighbours block). Default: the sessions of the loader's table (SessionLoader,
   *  LengthBucketedBatches); give the sessions themselves when the loader trains on something else, e.g. prefixes. */
  sessions?: readonly Int32Array[];
}

const DEFAULTS = { epochs: 1, batchSize: 256, seed: 42, patience: 2, minDelta: 0 };
/** How often (ms) the running loss is read back from the device: often enough for the bar and to catch NaN early,
 *  rarely enough not to stall a GPU pipeline on every step. */
const LOSS_READ_INTERVAL_MS = 250;

/** The item sequences of the table `loader` holds, for `fitSessions`. */
function loaderSessions(loader: BatchSource, model: string): Int32Array[] {
  const table = loader.table;
  if (table === undefined)
    throw new Error(
      `fit: model "${model}" reads its training sessions (fitSessions) but the loader holds no table: pass config.sessions`,
    );
  return sessionsOf(table);
}

/** Trains `model` and `head` in place on `loader`'s sessions; returns the per-epoch history. */
export async function fit(
  model: NextItemModel,
  head: OutputHead,
  loader: BatchSource,
  config: FitConfig,
): Promise<FitResult> {
  const epochs = config.epochs ?? DEFAULTS.epochs;
  const batchSize = config.batchSize ?? DEFAULTS.batchSize;
  const dropLast = config.dropLast ?? false;
  const lengthGroups = config.lengthGroups ?? 1;
  if (!(Number.isInteger(lengthGroups) && lengthGroups >= 1))
    throw new Error(`fit: lengthGroups must be an integer >= 1, got ${lengthGroups}`);
  const stepsPerEpoch = batchCount(loader.numSessions, { batchSize, dropLast });
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fit: epochs must be an integer >= 1, got ${epochs}`);
  const lastEpoch = config.stopAfter ?? epochs;
  if (!(Number.isInteger(lastEpoch) && lastEpoch >= 1 && lastEpoch <= epochs))
    throw new Error(`fit: stopAfter must be an integer in [1, epochs = ${epochs}], got ${config.stopAfter}`);
  if (stepsPerEpoch === 0) {
    throw new Error(`fit: no batches: ${loader.numSessions} sessions, batchSize ${batchSize}, dropLast ${dropLast}`);
  }
  const weightDecay = config.weightDecay ?? 0;
  if (!(weightDecay >= 0)) throw new Error(`fit: weightDecay must be >= 0, got ${weightDecay}`);
  if (config.clipNorm !== undefined && !(config.clipNorm > 0))
    throw new Error(`fit: clipNorm must be > 0, got ${config.clipNorm}`);
  if (config.earlyStopping && !config.evaluate && config.earlyStopping.metric !== "loss") {
    throw new Error(`fit: earlyStopping watches "${config.earlyStopping.metric}" but no evaluate callback was given`);
  }
  const totalSteps = epochs * stepsPerEpoch;
  const learningRate = (step: number): number => learningRateAt(step, totalSteps, config.schedule);
  const progress = createProgress(config.progress);
  const shuffles = new Random(config.seed ?? DEFAULTS.seed);
  const monitor = config.earlyStopping ? new BestTracker(config.earlyStopping) : null;
  const restoreBest = monitor !== null && (config.restoreBest ?? true);

  if (model.fitSessions !== undefined) model.fitSessions(config.sessions ?? loaderSessions(loader, model.name));
  const variables = trainableVariables(model, head);
  const workers = config.workers ?? defaultWorkers(process.env);
  if (!(Number.isInteger(workers) && workers >= 1))
    throw new Error(`fit: workers must be an integer >= 1, got ${workers}`);
  // One replica (this thread), or data-parallel replicas (lib/train/parallel) started before anything else is held.
  const updateSettings: UpdateConfig = {
    adam: config.adam,
    weightDecay: config.weightDecay,
    clipNorm: config.clipNorm,
  };
  const parallel: DataParallelTrainer | null =
    workers === 1
      ? null
      : await startDataParallel({
          model,
          head,
          loader,
          variables,
          workers,
          scheme: config.scheme,
          lengthGroups,
          update: updateSettings,
          rate: learningRate(0),
        });
  const update: ParameterUpdate | null =
    parallel === null ? createParameterUpdate(variables, updateSettings, learningRate(0)) : null;
  // Σ batch mean loss × batch size over the current epoch; built in tidy so that the initial scalar is released.
  const lossSum = tf.tidy(() => tf.variable(tf.scalar(0), false));
  const step = async (batch: SessionBatch, rate: number): Promise<void> => {
    if (parallel !== null) {
      const loss = await parallel.step(batch, rate);
      tf.tidy(() => lossSum.assign(lossSum.add(loss * batch.size)));
      return;
    }
    tf.tidy(() => {
      const { value, grads } = lossGradients(
        () => trainingLoss(model, head, config.scheme, batch, lengthGroups),
        variables,
      );
      update!.apply(fillMissing(grads, variables), rate);
      lossSum.assign(lossSum.add(value.mul(batch.size)));
    });
  };

  const history: EpochRecord[] = [];
  let best: tf.Tensor[] | null = null;
  let stepsDone = 0;
  let stoppedEarly = false;
  try {
    for (let epoch = 1; epoch <= lastEpoch && !stoppedEarly; epoch++) {
      tf.tidy(() => lossSum.assign(tf.scalar(0)));
      const started = performance.now();
      let lastRead = started;
      let runningLoss = NaN;
      let sequences = 0;
      let stepInEpoch = 0;
      for (const batch of loader.batches({ batchSize, dropLast, shuffleSeed: shuffles.fork(epoch).seed })) {
        try {
          await step(batch, learningRate(stepsDone));
        } finally {
          disposeBatch(batch);
        }
        stepsDone++;
        stepInEpoch++;
        sequences += batch.size;
        const now = performance.now();
        if (stepInEpoch === 1 || stepInEpoch === stepsPerEpoch || now - lastRead >= LOSS_READ_INTERVAL_MS) {
          lastRead = now;
          runningLoss = (await lossSum.data())[0] / sequences;
          if (!Number.isFinite(runningLoss)) {
            throw new Error(
              `fit: training loss became ${runningLoss} in epoch ${epoch} by step ${stepInEpoch} ` +
                `(learning rate ${learningRate(stepsDone - 1)}); try a lower learning rate or clipNorm`,
            );
          }
        }
        progress.step({
          epoch,
          epochs,
          step: stepInEpoch,
          stepsInEpoch: stepsPerEpoch,
          loss: runningLoss,
          sequences,
          seconds: (now - started) / 1000,
        });
      }
      const seconds = (performance.now() - started) / 1000;
      const evalStarted = performance.now();
      const metrics = config.evaluate ? checkMetrics(await config.evaluate()) : {};
      const record: EpochRecord = {
        epoch,
        loss: runningLoss,
        metrics,
        seconds,
        evalSeconds: (performance.now() - evalStarted) / 1000,
        sequencesPerSecond: sequences / seconds,
        learningRate: learningRate(stepsDone - 1),
      };
      history.push(record);
      if (monitor?.update(record)) {
        if (restoreBest) {
          tf.dispose(best ?? []);
          best = variables.map((v) => tf.keep(v.clone()));
        }
      }
      stoppedEarly = monitor !== null && monitor.epochsWithoutImprovement >= monitor.patience && epoch < lastEpoch;
      progress.epochEnd(record, epochs);
      await config.onEpochEnd?.(record);
    }
    const bestWeights = best;
    if (bestWeights) variables.forEach((v, i) => v.assign(bestWeights[i]));
  } finally {
    tf.dispose(best ?? []);
    lossSum.dispose();
    update?.dispose();
    await parallel?.close();
  }
  return { history, bestEpoch: monitor?.bestEpoch ?? history.length, stoppedEarly, steps: stepsDone };
}

function checkMetrics(metrics: Record<string, number>): Record<string, number> {
  for (const [name, value] of Object.entries(metrics)) {
    if (typeof value !== "number")
      throw new Error(`fit: evaluate() returned ${typeof value} for "${name}"; expected a number`);
  }
  return metrics;
}

/** Tracks the best value of the watched metric and how many epochs have passed without beating it. */
class BestTracker {
  readonly patience: number;
  bestEpoch = 0;
  epochsWithoutImprovement = 0;
  private best = NaN;

  constructor(private readonly config: EarlyStoppingConfig) {
    this.patience = config.patience ?? DEFAULTS.patience;
    if (!Number.isInteger(this.patience) || this.patience < 1)
      throw new Error(`fit: earlyStopping.patience must be an integer >= 1, got ${this.patience}`);
  }

  /** True when this epoch is the new best. */
  update(record: EpochRecord): boolean {
    const { metric, mode = "max", minDelta = DEFAULTS.minDelta } = this.config;
    const values: Record<string, number> = { loss: record.loss, ...record.metrics };
    const value = values[metric];
    if (value === undefined) {
      throw new Error(
        `fit: earlyStopping watches "${metric}" but epoch ${record.epoch} reported only: ${Object.keys(values).join(", ")}`,
      );
    }
    const improved =
      Number.isNaN(this.best) || (mode === "max" ? value > this.best + minDelta : value < this.best - minDelta);
    if (improved) {
      this.best = value;
      this.bestEpoch = record.epoch;
      this.epochsWithoutImprovement = 0;
    } else {
      this.epochsWithoutImprovement++;
    }
    return improved;
  }
}
