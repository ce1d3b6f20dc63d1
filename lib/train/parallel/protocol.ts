// The messages between the main thread and a training worker (structured-cloned; typed arrays are copied).
import type { ModelSchema } from "../../models/inputs";
import type { ModelConfigs, ModelKind, OutputHeadConfig } from "../../models/index";
import type { UpdateConfig } from "../step";
import type { ShareWork } from "./replica";

/** Everything a worker needs to build its replica: the model and head configs and the main thread's weights. */
export interface WorkerInit {
  backend: "wasm" | "cpu";
  kind: ModelKind;
  modelConfig: ModelConfigs[ModelKind];
  schema: ModelSchema;
  headConfig: OutputHeadConfig;
  /** Shapes and values of the trainable variables, in `trainableVariables` order. */
  shapes: number[][];
  values: Float32Array[];
  /** The model's buffers (non-trainable variables, e.g. a globalNeighbours block's item graph) by name. */
  buffers: Record<string, Float32Array>;
  update: UpdateConfig;
  rate: number;
  exchange: { buffer: SharedArrayBuffer; size: number; length: number };
  rank: number;
}

export type ToWorker = { type: "step"; work: ShareWork } | { type: "weights" };

export type FromWorker =
  | { type: "ready" }
  | { type: "stepped" }
  | { type: "weights"; values: Float32Array[] }
  | { type: "error"; message: string };
