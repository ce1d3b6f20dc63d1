// Data-parallel training on the main thread plus worker threads (`fit`'s `workers`). Every step: the target scheme
// runs once here; the batch's examples are split into one share per replica by rows; each replica computes the
// gradient of its share, weighted by its share of the batch's targets; the gradients are summed through shared
// memory (`SharedMemoryExchange`) and every replica applies the same update, so the weights stay bit-identical.
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { BatchSource } from "../../data/loader";
import type { ItemOutputHead, SessionModel } from "../../models/index";
import type { NextItemModel, OutputHead, SessionBatch, TargetScheme } from "../../models/types";
import { createParameterUpdate, trainingExamples, type ParameterUpdate, type UpdateConfig } from "../step";
import { ExchangeAborted, SharedMemoryExchange } from "./exchange";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol";
import { exchangeLength, replicaStep, type Replica } from "./replica";
import { batchTargets, exampleRows, splitShares, type ExampleRows } from "./shares";

export interface DataParallelOptions {
  model: NextItemModel;
  head: OutputHead;
  /** Where the sessions come from: a `SessionLoader`, whose schema the workers rebuild the model with. */
  loader: BatchSource;
  /** `trainableVariables(model, head)`. */
  variables: tf.Variable[];
  /** Replicas, the main thread's included (>= 2). */
  workers: number;
  scheme: TargetScheme;
  lengthGroups: number;
  update: UpdateConfig;
  /** Learning rate of the first step. */
  rate: number;
}

export interface DataParallelTrainer {
  /** One step on `batch` at learning rate `rate` on every replica; resolves with the batch's mean loss. */
  step(batch: SessionBatch, rate: number): Promise<number>;
  /** The trainable variables' values held by each worker (rank 1, 2, …): a check that the replicas agree. */
  workerWeights(): Promise<Float32Array[][]>;
  /** Stops the workers and frees the main thread's optimizer state. */
  close(): Promise<void>;
}

/** `fit`'s `workers` when its config gives none: the environment variable SESSIONREC_WORKERS, else 1. */
export function defaultWorkers(env: Record<string, string | undefined>): number {
  const value = env.SESSIONREC_WORKERS;
  if (value === undefined || value === "") return 1;
  const workers = Number(value);
  if (!(Number.isInteger(workers) && workers >= 1))
    throw new Error(`SESSIONREC_WORKERS="${value}" is not a number of workers (an integer >= 1)`);
  return workers;
}

// This module's folder. `__dirname` exists under tslab (CommonJS), vitest and in the built package (tsup's shim, see
// tsup.config.ts); under tsx nothing locates a module but import.meta, which tslab cannot compile, so there the
// repository's layout under the working directory is assumed.
const MODULE_DIR = typeof __dirname === "string" ? __dirname : path.join(process.cwd(), "lib", "train", "parallel");
/** The worker built into the package (dist/), beside this module's chunk. */
const BUILT_WORKER = "train-worker.js";

/** The worker thread's file and its module: the built one where it exists, else worker.ts run through tsx by
 *  bootstrap.mjs (Node cannot load TypeScript itself). */
function workerFiles(): { file: string; entry: string } {
  const built = path.join(MODULE_DIR, BUILT_WORKER);
  if (existsSync(built)) return { file: built, entry: pathToFileURL(built).href };
  const bootstrap = path.join(MODULE_DIR, "bootstrap.mjs");
  if (!existsSync(bootstrap))
    throw new Error(
      `fit: workers > 1 needs ${bootstrap} (or a built ${BUILT_WORKER} beside this module); run from the repository root`,
    );
  return { file: bootstrap, entry: pathToFileURL(path.join(MODULE_DIR, "worker.ts")).href };
}

/** Starts `workers − 1` worker threads holding replicas of the model with the main thread's current weights. */
export async function startDataParallel(options: DataParallelOptions): Promise<DataParallelTrainer> {
  const { model, head, loader, variables, workers } = options;
  const { backend, kind, modelConfig, schema, headConfig } = replicaSpec(model, head, loader);
  const itemHead = head as ItemOutputHead;
  const { file, entry } = workerFiles();
  const length = exchangeLength(variables);
  const buffer = SharedMemoryExchange.buffer(workers, length);
  const exchange = new SharedMemoryExchange(buffer, workers, length);
  const update: ParameterUpdate = createParameterUpdate(variables, options.update, options.rate);
  const main: Replica = { model, head: itemHead, variables, update, exchange, rank: 0 };
  const values = variables.map((v) => v.dataSync() as Float32Array);
  const shapes = variables.map((v) => v.shape);
  const buffers = Object.fromEntries(
    Object.entries(model.variables)
      .filter(([, v]) => !v.trainable)
      .map(([name, v]) => [name, v.dataSync() as Float32Array]),
  );

  const threads = Array.from({ length: workers - 1 }, (_, i) => {
    const init: WorkerInit = {
      backend,
      kind,
      modelConfig,
      schema,
      headConfig,
      shapes,
      values,
      buffers,
      update: options.update,
      rate: options.rate,
      exchange: { buffer, size: workers, length },
      rank: i + 1,
    };
    return new WorkerThread(new Worker(file, { workerData: { entry, init } }), i + 1, () => exchange.abort());
  });
  const close = async () => {
    update.dispose();
    await Promise.all(threads.map((t) => t.terminate()));
  };
  try {
    await Promise.all(threads.map((t) => t.next("ready")));
  } catch (error) {
    await close();
    throw error;
  }
  let failed: Error | null = null;

  return {
    async step(batch, rate) {
      if (failed) throw failed;
      // Host copies only: the scheme's (and length groups') tensors are released by the scope.
      tf.engine().startScope();
      let rows: ExampleRows[];
      try {
        rows = trainingExamples(options.scheme, batch, options.lengthGroups).map(exampleRows);
      } finally {
        tf.engine().endScope();
      }
      const shares = splitShares(rows, workers);
      const targets = shares.reduce((sum, s) => sum + s.targets, 0);
      // As the 1-replica loss does: the batch's candidates are drawn once, and not at all for a batch without targets.
      const ids = targets > 0 ? itemHead.drawBatch(batchTargets(shares)) : null;
      const offsets = shares.map((_, i) => shares.slice(0, i).reduce((sum, s) => sum + s.targets, 0));
      const draws = (i: number) => (ids === null ? null : { ids, offset: offsets[i] });
      // Without targets, the loss is the model's penalty alone: replica 0 (which always has rows) carries it.
      const weight = (i: number) => (targets > 0 ? shares[i].targets / targets : i === 0 ? 1 : 0);
      const done = threads.map((t, i) => {
        t.send({
          type: "step",
          work: { pieces: shares[i + 1].pieces, weight: weight(i + 1), draws: draws(i + 1), rate },
        });
        return t.next("stepped");
      });
      const own = replicaStep(main, { pieces: shares[0].pieces, weight: weight(0), draws: draws(0), rate }).catch(
        (error: unknown) => {
          exchange.abort(); // the workers would otherwise wait for this replica's gradient forever
          throw error;
        },
      );
      const outcomes = await Promise.allSettled([own, ...done]);
      const errors = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as Error] : []));
      if (errors.length > 0) {
        exchange.abort();
        // A worker's own error says more than the main thread's "exchange aborted".
        failed = errors.find((e) => !(e instanceof ExchangeAborted)) ?? errors[0];
        throw failed;
      }
      return (outcomes[0] as PromiseFulfilledResult<number>).value;
    },
    async workerWeights() {
      return Promise.all(
        threads.map(async (t) => {
          t.send({ type: "weights" });
          return (await t.next("weights")).values;
        }),
      );
    },
    close,
  };
}

/** What a worker needs to rebuild the replica, or an error naming what data-parallel training does not support. */
function replicaSpec(model: NextItemModel, head: OutputHead, loader: BatchSource) {
  const sessionModel = model as Partial<SessionModel>;
  if (sessionModel.kind === undefined || sessionModel.config === undefined) {
    throw new Error(
      `fit: workers > 1 rebuilds the model in each worker from its kind and config: model "${model.name}" was not made by createModel`,
    );
  }
  const itemHead = head as Partial<ItemOutputHead>;
  if (itemHead.config === undefined || itemHead.drawBatch === undefined)
    throw new Error("fit: workers > 1 needs an output head made by createHeadFor");
  const schema = loader.table?.schema;
  if (schema === undefined) {
    throw new Error(
      "fit: workers > 1 needs a loader that holds its table (SessionLoader, LengthBucketedBatches): the table's schema rebuilds the model in each worker",
    );
  }
  const backend = tf.getBackend();
  if (backend !== "wasm" && backend !== "cpu") {
    throw new Error(
      `fit: workers > 1 runs replicas on the wasm or cpu backend (one per thread), not on ${backend}; use workers: 1`,
    );
  }
  return {
    backend: backend as "wasm" | "cpu",
    kind: sessionModel.kind,
    modelConfig: sessionModel.config as never,
    schema,
    headConfig: itemHead.config,
  };
}

/** A worker and its replies, awaited one at a time; an error, crash or exit rejects the awaited reply. */
class WorkerThread {
  private waiting: { type: FromWorker["type"]; resolve: (m: FromWorker) => void; reject: (e: Error) => void } | null =
    null;
  private failure: Error | null = null;
  private exited = false;

  constructor(
    private readonly worker: Worker,
    rank: number,
    onFailure: () => void,
  ) {
    const fail = (error: Error) => {
      if (this.failure === null) this.failure = error;
      onFailure();
      this.waiting?.reject(this.failure);
      this.waiting = null;
    };
    worker.on("message", (message: FromWorker) => {
      if (message.type === "error") return fail(new Error(`training worker ${rank}: ${message.message}`));
      const waiting = this.waiting;
      if (waiting === null || waiting.type !== message.type)
        return fail(new Error(`training worker ${rank}: unexpected '${message.type}' reply`));
      this.waiting = null;
      waiting.resolve(message);
    });
    worker.on("error", (error) => fail(new Error(`training worker ${rank} crashed: ${error.message}`)));
    worker.on("exit", (code) => {
      this.exited = true;
      fail(new Error(`training worker ${rank} exited (code ${code})`));
    });
  }

  send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  next<T extends FromWorker["type"]>(type: T): Promise<Extract<FromWorker, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { type, resolve: resolve as (m: FromWorker) => void, reject };
    });
  }

  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}
