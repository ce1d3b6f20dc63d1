// Target schemes: what a model is trained to predict from a batch of sessions (Merlin's SequencePredictLast,
// SequencePredictNext, SequenceMaskRandom), plus the inference-side counterparts: which inputs to encode and which
// state predicts "the item after the last real event".
//   predictLast  inputs = the session without its last event (that position becomes padding, features too);
//                target = the last item, at the last remaining position (position 0 for a one-event session,
//                whose state is then computed from no events at all).
//   causalNext   inputs = the session; target at position t = item t+1 (none at the last event). Needs a model that
//                cannot look ahead: an RNN, or a causal Transformer.
//   maskedItem   (BERT4Rec) each real item is replaced by MASK with probability p, at least one per session; targets
//                only at masked positions. The other sequence features of a masked event are hidden too (set to
//                padding values; the position stays real), as they are for the MASK appended at evaluation, so
//                training and evaluation see the same thing. Needs a model whose item table has the MASK row and
//                that attends both ways (Transformer with causal: false).
// The schemes run on the host: they read the batch once and build new tensors, all owned by the returned example
// (unchanged tensors are cloned), so the caller may dispose the batch and the example independently.
import * as tf from "@tensorflow/tfjs";
import { mapValues } from "../util/records";
import { Random } from "../util/random";
import type { NextItemModel, SessionBatch, TargetScheme, TrainingExample } from "./types";

export type SchemeKind = "last" | "next" | "masked";

/** A target scheme that also says which it is (evaluation needs to know) and, for masked-item, the MASK id. */
export type NamedTargetScheme = TargetScheme & { readonly kind: SchemeKind; readonly maskId: number | null };

/** A batch's sequences as host arrays, row-major [batch, seqLen]; copies, safe to edit. */
interface HostSequences {
  batchSize: number;
  seqLen: number;
  lengths: Int32Array;
  items: Int32Array;
  mask: Float32Array;
  categorical: Record<string, Int32Array>;
  continuous: Record<string, Float32Array>;
}

function toHost(batch: SessionBatch): HostSequences {
  const [batchSize, seqLen] = batch.items.shape;
  const lengths = Int32Array.from(batch.lengths.dataSync());
  for (let r = 0; r < batchSize; r++) {
    if (!(lengths[r] >= 0 && lengths[r] <= seqLen))
      throw new Error(`target scheme: batch row ${r} has length ${lengths[r]}, outside [0, ${seqLen}]`);
  }
  return {
    batchSize,
    seqLen,
    lengths,
    items: Int32Array.from(batch.items.dataSync()),
    mask: Float32Array.from(batch.mask.dataSync()),
    categorical: mapValues(batch.categorical, (t) => Int32Array.from(t.dataSync())),
    continuous: mapValues(batch.continuous, (t) => Float32Array.from(t.dataSync())),
  };
}

/** A batch holding `host`'s sequences and clones of `template`'s context features. */
function fromHost(host: HostSequences, template: SessionBatch): SessionBatch {
  const shape: [number, number] = [host.batchSize, host.seqLen];
  return {
    items: tf.tensor2d(host.items, shape, "int32"),
    categorical: mapValues(host.categorical, (values) => tf.tensor2d(values, shape, "int32")),
    continuous: mapValues(host.continuous, (values) => tf.tensor2d(values, shape, "float32")),
    context: mapValues(template.context, (t) => tf.clone(t)),
    mask: tf.tensor2d(host.mask, shape, "float32"),
    lengths: tf.tensor1d(host.lengths, "int32"),
    size: template.size,
  };
}

/** Every array of a sequence feature, item and mask included. */
function sequenceArrays(host: HostSequences): (Int32Array | Float32Array)[] {
  return [host.items, host.mask, ...Object.values(host.categorical), ...Object.values(host.continuous)];
}

/** Makes position t of row r padding: id 0, value 0, mask 0 in every sequence feature. */
function clearPosition(host: HostSequences, r: number, t: number): void {
  for (const values of sequenceArrays(host)) values[r * host.seqLen + t] = 0;
}

/** Makes position t of row r a MASK event: item = maskId, other features hidden (padding values), mask 1. */
function putMask(host: HostSequences, r: number, t: number, maskId: number): void {
  clearPosition(host, r, t);
  host.items[r * host.seqLen + t] = maskId;
  host.mask[r * host.seqLen + t] = 1;
}

/** Drops the oldest event of row r: every feature moves one position left, the last position becomes padding. */
function shiftLeft(host: HostSequences, r: number): void {
  const start = r * host.seqLen;
  for (const values of sequenceArrays(host)) values.copyWithin(start, start + 1, start + host.seqLen);
  clearPosition(host, r, host.seqLen - 1);
  host.lengths[r] -= 1;
}

function cloneBatch(batch: SessionBatch): SessionBatch {
  return {
    items: tf.clone(batch.items),
    categorical: mapValues(batch.categorical, (t) => tf.clone(t)),
    continuous: mapValues(batch.continuous, (t) => tf.clone(t)),
    context: mapValues(batch.context, (t) => tf.clone(t)),
    mask: tf.clone(batch.mask),
    lengths: tf.clone(batch.lengths),
    size: batch.size,
  };
}

function named(kind: SchemeKind, maskId: number | null, scheme: TargetScheme): NamedTargetScheme {
  return Object.assign(scheme, { kind, maskId });
}

/** Removes each session's last event and makes it the target, at the last remaining position. */
function splitLast(batch: SessionBatch): { history: SessionBatch; targets: Int32Array; lastItems: Int32Array } {
  const host = toHost(batch);
  const { batchSize, seqLen } = host;
  const targets = new Int32Array(batchSize * seqLen);
  const lastItems = new Int32Array(batchSize);
  for (let r = 0; r < batchSize; r++) {
    const length = host.lengths[r];
    if (length === 0) continue;
    lastItems[r] = host.items[r * seqLen + length - 1];
    targets[r * seqLen + Math.max(length - 2, 0)] = lastItems[r];
    clearPosition(host, r, length - 1);
    host.lengths[r] = length - 1;
  }
  return { history: fromHost(host, batch), targets, lastItems };
}

/** Predict the last item from the events before it (Merlin's SequencePredictLast). */
export function predictLast(): NamedTargetScheme {
  return named("last", null, (batch) => {
    const { history, targets } = splitLast(batch);
    return { inputs: history, targets: tf.tensor2d(targets, batch.items.shape, "int32") };
  });
}

/** Predict every next item from the events up to it (Merlin's SequencePredictNext). */
export function causalNext(): NamedTargetScheme {
  return named("next", null, (batch) => {
    const host = toHost(batch);
    const { batchSize, seqLen } = host;
    const targets = new Int32Array(batchSize * seqLen);
    for (let r = 0; r < batchSize; r++) {
      for (let t = 0; t + 1 < host.lengths[r]; t++) targets[r * seqLen + t] = host.items[r * seqLen + t + 1];
    }
    return { inputs: cloneBatch(batch), targets: tf.tensor2d(targets, [batchSize, seqLen], "int32") };
  });
}

export interface MaskedItemConfig {
  /** Id of the MASK token: the item cardinality (`InputBlock.maskId` of a model built with `maskToken: true`). */
  maskId: number;
  /** Chance that each real item is masked. Default 0.2. */
  probability?: number;
  /** Seed of the masking draws; each call continues the same stream. Default 1. */
  seed?: number;
}

/** Mask random items and predict them (BERT4Rec; Merlin's SequenceMaskRandom). */
export function maskedItem(config: MaskedItemConfig): NamedTargetScheme {
  const probability = config.probability ?? 0.2;
  if (!(probability > 0 && probability <= 1))
    throw new Error(`maskedItem: probability must be in (0, 1], got ${probability}`);
  if (!(Number.isInteger(config.maskId) && config.maskId >= 3))
    throw new Error(`maskedItem: maskId must be the item cardinality, got ${config.maskId}`);
  const rng = new Random(config.seed ?? 1);
  return named("masked", config.maskId, (batch) => {
    const host = toHost(batch);
    const { batchSize, seqLen } = host;
    const targets = new Int32Array(batchSize * seqLen);
    for (let r = 0; r < batchSize; r++) {
      const length = host.lengths[r];
      const masked: number[] = [];
      for (let t = 0; t < length; t++) if (rng.bernoulli(probability)) masked.push(t);
      if (masked.length === 0 && length > 0) masked.push(rng.int(0, length));
      for (const t of masked) {
        targets[r * seqLen + t] = host.items[r * seqLen + t];
        putMask(host, r, t, config.maskId);
      }
    }
    return { inputs: fromHost(host, batch), targets: tf.tensor2d(targets, [batchSize, seqLen], "int32") };
  });
}

export interface TargetSchemeOptions {
  /** Required by "masked". */
  maskId?: number | null;
  probability?: number;
  seed?: number;
}

/** The scheme of a kind, e.g. from a config file. */
export function createTargetScheme(kind: SchemeKind, options: TargetSchemeOptions = {}): NamedTargetScheme {
  switch (kind) {
    case "last":
      return predictLast();
    case "next":
      return causalNext();
    case "masked":
      if (options.maskId == null)
        throw new Error('target scheme "masked" needs maskId (build the model with inputs.maskToken: true)');
      return maskedItem({ maskId: options.maskId, probability: options.probability, seed: options.seed });
  }
}

/**
 * The hidden states to score and their targets: for a "sequence" model every position whose target is > 0
 * (row-major order); for a "pooled" model each session's single target (sessions without one are skipped).
 * hidden: [batch, seqLen, dim] or [batch, dim] → states [n, dim], targets int32 [n].
 */
export function selectTargets(
  model: NextItemModel,
  hidden: tf.Tensor,
  example: TrainingExample,
): { states: tf.Tensor2D; targets: tf.Tensor1D } {
  const [batchSize, seqLen] = example.targets.shape;
  const targets = example.targets.dataSync();
  const rows: number[] = [];
  const values: number[] = [];
  if (model.output === "sequence") {
    if (hidden.rank !== 3 || hidden.shape[0] !== batchSize || hidden.shape[1] !== seqLen) {
      throw new Error(
        `selectTargets: model '${model.name}' gave states [${hidden.shape}], expected [${batchSize}, ${seqLen}, dim]`,
      );
    }
    targets.forEach((target, index) => {
      if (target > 0) {
        rows.push(index);
        values.push(target);
      }
    });
  } else {
    if (hidden.rank !== 2 || hidden.shape[0] !== batchSize) {
      throw new Error(
        `selectTargets: model '${model.name}' gave states [${hidden.shape}], expected [${batchSize}, dim]`,
      );
    }
    for (let r = 0; r < batchSize; r++) {
      const rowTargets = Array.from(targets.subarray(r * seqLen, (r + 1) * seqLen)).filter((t) => t > 0);
      if (rowTargets.length > 1) {
        throw new Error(
          `selectTargets: pooled model '${model.name}' predicts only the item after the last event, but session ${r} ` +
            `has ${rowTargets.length} targets: train it with predictLast`,
        );
      }
      if (rowTargets.length === 1) {
        rows.push(r);
        values.push(rowTargets[0]);
      }
    }
  }
  return tf.tidy(() => {
    const flat = tf.reshape(hidden, [-1, model.dim]) as tf.Tensor2D; // [batch·seqLen or batch, dim]
    return {
      states: tf.gather(flat, tf.tensor1d(rows, "int32")) as tf.Tensor2D,
      targets: tf.tensor1d(values, "int32"),
    };
  });
}

/** What to encode to predict the item after each session's last real event, and where that prediction is read. */
export interface EvaluationInputs {
  inputs: SessionBatch;
  /** Position whose state predicts the next item, int32 [batch]: the last real event, or the appended MASK. */
  positions: tf.Tensor1D;
}

/**
 * Inference inputs for histories: as-is for "last"/"next" (the state at the last event predicts the next item);
 * for "masked", a MASK appended after the last event (when a session fills the sequence, its oldest event is
 * dropped to make room) whose state predicts the item. A session with no events reads position 0.
 */
export function evaluationInputs(
  history: SessionBatch,
  scheme: { kind: SchemeKind; maskId: number | null },
): EvaluationInputs {
  if (scheme.kind !== "masked") {
    return {
      inputs: cloneBatch(history),
      positions: tf.tidy(
        () => tf.maximum(tf.sub(history.lengths, tf.scalar(1, "int32")), tf.scalar(0, "int32")) as tf.Tensor1D,
      ),
    };
  }
  if (scheme.maskId === null) throw new Error("evaluationInputs: masked scheme without maskId");
  const host = toHost(history);
  const positions = new Int32Array(host.batchSize);
  for (let r = 0; r < host.batchSize; r++) {
    if (host.lengths[r] === host.seqLen) shiftLeft(host, r);
    const position = host.lengths[r];
    putMask(host, r, position, scheme.maskId);
    host.lengths[r] = position + 1;
    positions[r] = position;
  }
  return { inputs: fromHost(host, history), positions: tf.tensor1d(positions, "int32") };
}

/** The state at `positions` [batch] of each session: hidden [batch, seqLen, dim] → [batch, dim]; pooled states as they are. */
export function statesAt(model: NextItemModel, hidden: tf.Tensor, positions: tf.Tensor1D): tf.Tensor2D {
  if (model.output === "pooled") return tf.clone(hidden) as tf.Tensor2D;
  return tf.tidy(() => {
    const [batchSize, seqLen] = hidden.shape;
    const rows = tf.add(
      tf.mul(tf.range(0, batchSize, 1, "int32"), tf.scalar(seqLen, "int32")),
      tf.cast(positions, "int32"),
    ); // [batch]: row of batch·seqLen
    return tf.gather(tf.reshape(hidden, [-1, model.dim]), rows) as tf.Tensor2D;
  });
}

/** Held-out evaluation of whole sessions: the history before the last event, and that last item as the target. */
export interface EvaluationExample extends EvaluationInputs {
  /** The last item of each session, int32 [batch]; 0 for a session without events. */
  targets: tf.Tensor1D;
}

export function evaluationExample(
  batch: SessionBatch,
  scheme: { kind: SchemeKind; maskId: number | null },
): EvaluationExample {
  const { history, lastItems } = splitLast(batch);
  const evaluation = evaluationInputs(history, scheme);
  tf.dispose(history as unknown as tf.TensorContainer);
  return { ...evaluation, targets: tf.tensor1d(lastItems, "int32") };
}

/** Encodes a batch prepared by `evaluationInputs`/`evaluationExample` and returns the next-item states [batch, dim]. */
export function nextItemStates(model: NextItemModel, evaluation: EvaluationInputs): tf.Tensor2D {
  return tf.tidy(() => statesAt(model, model.encode(evaluation.inputs, false), evaluation.positions));
}
