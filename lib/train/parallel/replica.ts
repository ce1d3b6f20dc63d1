// One replica's part of a data-parallel step, the same code on the main thread and in every worker: the gradient of
// its share's loss, weighted by the share's fraction of the batch's targets (so that the weighted gradients add up to
// the gradient of the batch's mean loss), exchanged for the sum, then the update every replica applies alike.
import * as tf from "@tensorflow/tfjs";
import type { WasmBackend } from "../../compute/kernels/wasm-backend";
import type { BatchDraws, ItemOutputHead } from "../../models/outputs";
import type { NextItemModel } from "../../models/types";
import { examplesLoss, lossGradients, type ParameterUpdate } from "../step";
import type { GradientExchange } from "./exchange";
import { exampleFromRows, type ExampleRows } from "./shares";

export interface Replica {
  model: NextItemModel;
  head: ItemOutputHead;
  /** The trainable variables in `trainableVariables` order: the layout of the exchanged vector (then the loss). */
  variables: tf.Variable[];
  update: ParameterUpdate;
  exchange: GradientExchange;
  rank: number;
}

/** What a replica computes in one step. */
export interface ShareWork {
  pieces: ExampleRows[];
  /** The share's targets / the batch's targets. */
  weight: number;
  /** The batch's sampled candidates (drawn once, on the main thread) and where the share starts among the batch's
   *  targets; null for the full softmax. */
  draws: BatchDraws | null;
  rate: number;
}

/** Floats exchanged for `variables`: every gradient, then the weighted loss. */
export function exchangeLength(variables: tf.Variable[]): number {
  return variables.reduce((sum, v) => sum + v.size, 0) + 1;
}

/** A gradient's values: on wasm a view of the backend's heap, read at once (one copy of the gradient into the slot
 *  instead of two: dataSync copies out of the heap first); elsewhere `dataSync`. */
function gradientValues(gradient: tf.Tensor): tf.backend_util.TypedArray {
  if (tf.getBackend() !== "wasm" || gradient.dtype !== "float32") return gradient.dataSync();
  return (tf.backend() as unknown as WasmBackend).typedArrayFromHeap(gradient as unknown as tf.TensorInfo);
}

/** Runs the replica's part of one step; resolves with the batch's mean loss (the sum of the weighted losses). */
export async function replicaStep(replica: Replica, work: ShareWork): Promise<number> {
  const { model, head, variables, update, exchange, rank } = replica;
  const contribution = exchange.slot(rank);
  // An empty share, a share without targets in a batch that has some (weight 0: its rows reach no loss), or a variable
  // the loss does not reach, contributes zeros.
  contribution.fill(0);
  if (work.pieces.length > 0 && work.weight > 0) {
    tf.tidy(() => {
      const examples = work.pieces.map(exampleFromRows);
      const draws = work.draws ?? undefined;
      const headLoss = (states: tf.Tensor2D, targets: tf.Tensor1D) => head.loss(states, targets, true, draws);
      const weighted = () => tf.mul(examplesLoss(model, head, examples, headLoss), work.weight) as tf.Scalar;
      const { value, grads } = lossGradients(weighted, variables);
      let offset = 0;
      for (const v of variables) {
        const gradient = grads[v.name];
        if (gradient !== undefined) contribution.set(gradientValues(gradient), offset);
        offset += v.size;
      }
      contribution[offset] = value.dataSync()[0];
    });
  }
  const sum = await exchange.allReduce(rank);
  tf.tidy(() => {
    const grads: tf.NamedTensorMap = {};
    let offset = 0;
    for (const v of variables) {
      // A view, no copy: the cpu backend keeps the array it is given, but these tensors die with this tidy, before
      // any replica can enter the next allReduce and overwrite `sum`.
      grads[v.name] = tf.tensor(sum.subarray(offset, offset + v.size), v.shape, "float32");
      offset += v.size;
    }
    update.apply(grads, work.rate);
  });
  return sum[sum.length - 1];
}
