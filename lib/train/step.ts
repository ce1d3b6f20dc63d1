// One training step's parts, shared by `fit` and every data-parallel replica (lib/train/parallel): the batch's
// loss through the target scheme, the trainable variables, and the parameter update (Adam, clipping, decoupled
// weight decay). A module of its own so that fit.ts and the replicas import it without importing each other.
import * as tf from "@tensorflow/tfjs";
import { groupByLength } from "../data/loader";
import { sparseTableGradients } from "../models/table-rows";
import { selectTargets } from "../models/targets";
import type { NextItemModel, OutputHead, SessionBatch, TargetScheme, TrainingExample } from "../models/types";
import { adam } from "./adam";

/** scheme → encode → one state per target → head loss (+ the model's own penalty); with `lengthGroups` > 1 the
 *  batch is encoded in groups of similar length whose states and targets are pooled before the loss. */
export function trainingLoss(
  model: NextItemModel,
  head: OutputHead,
  scheme: TargetScheme,
  batch: SessionBatch,
  lengthGroups = 1,
): tf.Scalar {
  return examplesLoss(model, head, trainingExamples(scheme, batch, lengthGroups));
}

/** The scheme applied to the batch, or to each of its `lengthGroups` groups of similar length. */
export function trainingExamples(scheme: TargetScheme, batch: SessionBatch, lengthGroups = 1): TrainingExample[] {
  return (lengthGroups > 1 ? groupByLength(batch, lengthGroups) : [batch]).map((part) => scheme(part));
}

/** encode → one state per target of every example, pooled → head loss (+ the model's own penalty). `headLoss`
 *  replaces the head's training loss (a data-parallel share passes the batch's draws). */
export function examplesLoss(
  model: NextItemModel,
  head: OutputHead,
  examples: TrainingExample[],
  headLoss: (states: tf.Tensor2D, targets: tf.Tensor1D) => tf.Scalar = (states, targets) =>
    head.loss(states, targets, true),
): tf.Scalar {
  const selected = examples.map((example) => selectTargets(model, model.encode(example.inputs, true), example));
  const states = selected.length === 1 ? selected[0].states : tf.concat(selected.map((s) => s.states));
  const targets = selected.length === 1 ? selected[0].targets : tf.concat(selected.map((s) => s.targets));
  const loss = headLoss(states, targets);
  return model.regularization ? loss.add(model.regularization()) : loss;
}

/** The loss and its gradients with respect to `variables` (tf.variableGrads), a large table's gathers differentiated
 *  into one gradient (lib/models/table-rows.ts): the same in `fit` and in every data-parallel replica. */
export function lossGradients(
  loss: () => tf.Scalar,
  variables: tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  return sparseTableGradients(() => tf.variableGrads(loss, variables));
}

/** One optimizer step on complete gradients (see `fillMissing`): the same in `fit` and in every data-parallel replica. */
export interface ParameterUpdate {
  apply(grads: tf.NamedTensorMap, rate: number): void;
  dispose(): void;
}

/** The settings of `FitConfig` that make up an update; plain data, so that worker threads can be sent them. */
export interface UpdateConfig {
  /** Adam's moment decays and epsilon. Defaults 0.9, 0.999 and the backend's epsilon. */
  adam?: { beta1?: number; beta2?: number; epsilon?: number };
  /** Decoupled weight decay (AdamW, Loshchilov & Hutter 2019): after each step every matrix (rank >= 2: kernels,
   *  embedding and position tables; not biases or norms) is multiplied by 1 − learning rate × weightDecay.
   *  Default 0. */
  weightDecay?: number;
  /** Rescale the gradients so that their global L2 norm is at most this. Default: no clipping. */
  clipNorm?: number;
}

/** Adam at the step's learning rate on (clipped) gradients, then decoupled weight decay of the matrices. */
export function createParameterUpdate(
  variables: tf.Variable[],
  config: UpdateConfig,
  initialRate: number,
): ParameterUpdate {
  const weightDecay = config.weightDecay ?? 0;
  // Typed as the base class: AdamOptimizer's own signature narrows applyGradients to variables.
  const optimizer: tf.Optimizer = adam(initialRate, config.adam?.beta1, config.adam?.beta2, config.adam?.epsilon);
  const decayed = weightDecay > 0 ? variables.filter((v) => v.rank >= 2) : [];
  return {
    apply: (grads, rate) => {
      setLearningRate(optimizer, rate);
      optimizer.applyGradients(config.clipNorm === undefined ? grads : clipByGlobalNorm(grads, config.clipNorm));
      for (const v of decayed) v.assign(tf.mul(v, 1 - rate * weightDecay));
    },
    dispose: () => optimizer.dispose(),
  };
}

/** The model's and the head's trainable variables, each once (a tied head shares the item embedding). */
export function trainableVariables(model: NextItemModel, head: OutputHead): tf.Variable[] {
  const byName = new Map<string, tf.Variable>();
  for (const v of [...Object.values(model.variables), ...Object.values(head.variables)]) {
    if (v.trainable) byName.set(v.name, v);
  }
  if (byName.size === 0) throw new Error(`fit: model "${model.name}" and its head have no trainable variables`);
  return [...byName.values()];
}

/**
 * A gradient for every variable, in `variables` order. tfjs leaves out variables the loss did not touch this step,
 * but its Adam keys moment estimates by position in the gradient map, so a changing set would mix them up.
 */
export function fillMissing(grads: tf.NamedTensorMap, variables: tf.Variable[]): tf.NamedTensorMap {
  const filled: tf.NamedTensorMap = {};
  for (const v of variables) filled[v.name] = grads[v.name] ?? tf.zerosLike(v);
  return filled;
}

/** Scales all gradients by min(1, maxNorm / globalNorm), globalNorm = sqrt(Σ over every gradient of Σ g²). */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
  const globalNorm = tf.sqrt(tf.addN(squares));
  const scale = tf.div(maxNorm, tf.maximum(globalNorm, maxNorm));
  const clipped: tf.NamedTensorMap = {};
  for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, scale);
  return clipped;
}

/** tfjs's AdamOptimizer reads its (TypeScript-protected) `learningRate` field on every `applyGradients`. */
function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = rate;
}
