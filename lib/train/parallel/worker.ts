// A training worker thread: builds its replica of the model (same config, the main thread's weights) on its own
// tfjs backend, then runs `replicaStep` on every share it is sent. Loaded through bootstrap.mjs.
import * as tf from "@tensorflow/tfjs";
import { parentPort, workerData } from "node:worker_threads";
import { startBackend } from "../../compute/backend";
import { createHeadFor, createModel } from "../../models/index";
import { createParameterUpdate, trainableVariables } from "../step";
import { SharedMemoryExchange } from "./exchange";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol";
import { replicaStep, type Replica } from "./replica";

const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);

async function start(init: WorkerInit): Promise<Replica> {
  await startBackend(init.backend);
  const model = createModel(init.kind, init.modelConfig as never, init.schema);
  const head = createHeadFor(model, init.headConfig);
  const variables = trainableVariables(model, head);
  const shapes = variables.map((v) => v.shape.join("×")).join(", ");
  if (shapes !== init.shapes.map((s) => s.join("×")).join(", ")) {
    throw new Error(
      `training worker ${init.rank}: the rebuilt ${init.kind} model's variables [${shapes}] differ from the main thread's`,
    );
  }
  variables.forEach((v, i) => v.assign(tf.tensor(init.values[i], v.shape, "float32")));
  for (const [name, values] of Object.entries(init.buffers)) {
    const buffer = model.variables[name];
    if (buffer === undefined || buffer.trainable || buffer.size !== values.length)
      throw new Error(
        `training worker ${init.rank}: the rebuilt ${init.kind} model has no buffer '${name}' of ${values.length} values`,
      );
    buffer.assign(tf.tensor(values, buffer.shape, "float32"));
  }
  const exchange = new SharedMemoryExchange(init.exchange.buffer, init.exchange.size, init.exchange.length);
  const update = createParameterUpdate(variables, init.update, init.rate);
  return { model, head, variables, update, exchange, rank: init.rank };
}

const init = workerData.init as WorkerInit;
const exchangeOnFailure = new SharedMemoryExchange(init.exchange.buffer, init.exchange.size, init.exchange.length);
const fail = (error: unknown) => {
  exchangeOnFailure.abort(); // the other replicas would otherwise wait for this one forever
  post({ type: "error", message: error instanceof Error ? error.message : String(error) });
};

start(init).then((replica) => {
  port.on("message", (message: ToWorker) => {
    if (message.type === "weights") {
      post({ type: "weights", values: replica.variables.map((v) => v.dataSync() as Float32Array) });
      return;
    }
    replicaStep(replica, message.work).then(() => post({ type: "stepped" }), fail);
  });
  post({ type: "ready" });
}, fail);
