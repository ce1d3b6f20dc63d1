// The output head shared by every model: scores items for hidden states and gives the training loss.
//   full softmax   logits = (h'·Wᵀ + b) / temperature over the whole catalogue, W = the item table when tied
//                  (h' = h projected to the item-embedding size when the sizes differ) or the head's own matrix;
//   sampled        the loss over a few candidates only, for large catalogues: the other rows' targets ("in-batch")
//                  or ids drawn from item popularity ("popularity"), each logit minus log Q(item) (logQ correction);
//                  or SASRec's binary cross-entropy: each target against its own few drawn negatives ("bce").
// Id 0 (padding) is never a candidate; ids 0 and 1 (out-of-vocabulary) are never recommended by `logits`/`topK`.
// OOV stays a class in training: real sessions do contain unknown items, and their rows would otherwise need a
// separate rule. The loss is computed over row chunks so that no logits tensor exceeds `maxChunkElements` floats
// (wasm crashes and WebGPU corrupts results on a huge one).
import * as tf from "@tensorflow/tfjs";
import { Random, WeightedSampler } from "../util/random";
import { catalogueSoftmaxCrossEntropy } from "../compute/kernels/catalogue-cross-entropy";
import { gatherTableRows } from "./table-rows";
import { sparseSoftmaxCrossEntropy } from "../compute/kernels/sparse-softmax-cross-entropy";
import { ParameterFactory, SeedSequence } from "./init";
import { type Dense, dense, dropout } from "./layers";
import { checkReminderBonus } from "../metrics/reminders";
import { type SessionItems, addReminders, sessionRows } from "./reminders";
import type { OutputHead } from "./types";

/** Added to a logit that must never win a softmax; finite so that 0 · logSoftmax stays 0 (no NaN). */
export const NEVER = -1e9;
/** Largest logits tensor the head materialises at once (2^24 floats). */
export const DEFAULT_MAX_CHUNK_ELEMENTS = 2 ** 24;
/** Floor of a sampling probability in the logQ correction, so unseen items do not get log 0 = -∞. */
const MIN_PROBABILITY = 1e-10;

export interface SampledSoftmaxConfig {
  /** "in-batch": the targets of the other rows are the negatives. "popularity": `numNegatives` ids drawn (with
   *  replacement, shared by all rows) from `itemProbabilities` at every loss call. */
  negatives: "in-batch" | "popularity";
  /** Negatives per loss call for "popularity" (shared by all rows); per row with loss "bce". Default 100 (bce: 1). */
  numNegatives?: number;
  /** "softmax" (default): cross-entropy of each target against the candidates. "bce": binary cross-entropy as in
   *  SASRec (Kang & McAuley 2018) — the target's logit against 1 and each of the row's own `numNegatives` negatives
   *  (drawn per row from `itemProbabilities`; needs negatives "popularity") against 0; label smoothing does not apply. */
  loss?: "softmax" | "bce";
  /** Sampling weight of every item id, length nItems, need not sum to 1 (e.g. training target counts); id 0 is
   *  ignored. Required for "popularity"; for "in-batch" it is the chance an item is some row's target. */
  itemProbabilities?: ArrayLike<number>;
  /** Subtract log Q(item) from each candidate's logit (Jean et al. 2015; Yi et al. 2019). Default true when
   *  `itemProbabilities` is given. */
  logQCorrection?: boolean;
}

export interface OutputHeadConfig {
  /** Reuse the item embedding table as output weights (weight tying). Default true. */
  tied?: boolean;
  /** Score by cosine: the (projected) hidden state and every item vector L2-normalised, no bias, so that a logit is
   *  cos / temperature, within ±1/temperature (CORE, Hou et al. 2022, with temperature 0.07). Default false. */
  cosine?: boolean;
  /** Logits are divided by this. Default 1. */
  temperature?: number;
  /** Label smoothing ε: the target distribution is (1-ε)·one-hot + ε/K over the K candidates. Default 0. */
  labelSmoothing?: number;
  /** Dropout on the item vectors the training loss scores, before any normalisation (CORE's item_dropout, 0.2 in
   *  CORE): the whole table for the full softmax, each candidate's row for a sampled one. Default 0. */
  itemDropout?: number;
  /** Added to the score of every item the session already holds when `topK` is given the session's items (reminders,
   *  ./reminders.ts; evaluation adds it on the host, lib/evaluate/every-next.ts); not part of the training loss.
   *  Default 0. */
  reminderBonus?: number;
  /** Sampled softmax for training; null = full softmax. Evaluation losses (`training` false) always use the full
   *  softmax, so they compare across heads. Default null. */
  sampled?: SampledSoftmaxConfig | null;
  /** See DEFAULT_MAX_CHUNK_ELEMENTS. */
  maxChunkElements?: number;
  /** Seed of the negative sampler and of untied weights. Default 1. */
  seed?: number;
}

export interface OutputHeadSpec {
  /** Item ids scored: 0..nItems-1 (padding and OOV included); the schema's item cardinality. */
  nItems: number;
  /** Width of the hidden states fed to the head. */
  hiddenDim: number;
  /** The model's item embedding table [rows >= nItems, itemDim]; required when tied (extra rows, e.g. MASK, are
   *  not scored). */
  itemTable?: tf.Variable;
}

/** What the rows of one training batch share in a sampled loss, drawn once per batch. A batch split across
 *  data-parallel replicas (lib/train/parallel) gives every share the same draws, so the shares' losses add up to the
 *  batch's. */
export interface BatchDraws {
  /** From `drawBatch`: "popularity" softmax, the negatives of every row [S]; "bce", each row's own negatives for the
   *  whole batch [N × S]; "in-batch", the batch's N targets (every row's candidates). */
  ids: Int32Array;
  /** Index among the batch's N targets of this loss call's first row: where a share starts (0 for the whole batch). */
  offset: number;
}

export interface ItemOutputHead extends OutputHead {
  readonly nItems: number;
  /** `draws` (training only): the batch's draws, for a loss call over a share of it, instead of drawing afresh. */
  loss(hidden: tf.Tensor2D, targets: tf.Tensor1D, training: boolean, draws?: BatchDraws): tf.Scalar;
  /** What a training `loss` call over a whole batch with these targets (its N targets in order) draws, advancing
   *  the sampler as that call would; null for the full softmax, which draws nothing. */
  drawBatch(batchTargets: Int32Array): Int32Array | null;
  /** The config with its defaults filled in. */
  readonly config: Required<Omit<OutputHeadConfig, "sampled">> & { sampled: SampledSoftmaxConfig | null };
  /** The best `k` recommendable items (ids >= 2) per hidden state, computed over row chunks: values/indices [n, k];
   *  with `session`, after the reminder bonus. */
  topK(hidden: tf.Tensor2D, k: number, session?: SessionItems): { values: tf.Tensor2D; indices: tf.Tensor2D };
  /** Sets `config.reminderBonus` (a run chooses it on validation after training). */
  setReminderBonus(bonus: number): void;
  /** Promises the weights will not change any more (serving): `logits`/`topK` then reuse one transposed, temperature-
   *  scaled copy of the item vectors and one bias, instead of transposing the catalogue on every call. Call again
   *  after changing the weights. */
  freeze(): void;
  /** Undoes `freeze` (frees the copies): scoring reads the live weights again, e.g. when training goes on. */
  thaw(): void;
  /** Whether `freeze` is in effect. */
  readonly frozen: boolean;
  /** Frees the head's own variables and constants (not a tied item table, which belongs to the model). */
  dispose(): void;
}

/** Rows per chunk so that a [rows, columns] tensor stays within `maxElements` (at least one row). */
export function rowsPerChunk(columns: number, maxElements: number): number {
  return Math.max(1, Math.floor(maxElements / Math.max(1, columns)));
}

/**
 * Per-row cross-entropy of logits [m, C] against the column `positive` [m] (int32), with label smoothing ε spread
 * over the columns where `valid` [m, C] or [1, C] is 1 (K = their number per row). Returns [m].
 */
export function smoothedCrossEntropy(
  logits: tf.Tensor2D,
  positive: tf.Tensor1D,
  valid: tf.Tensor2D,
  epsilon: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const logProbabilities = tf.logSoftmax(logits); // [m, C]
    const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(positive, logits.shape[1]), logProbabilities), 1)); // [m]
    if (epsilon === 0) return nll as tf.Tensor1D;
    const candidates = tf.sum(tf.mul(tf.onesLike(logits), valid), 1); // [m]: K per row
    const uniform = tf.div(tf.neg(tf.sum(tf.mul(valid, logProbabilities), 1)), candidates); // [m]
    return tf.add(tf.mul(nll, 1 - epsilon), tf.mul(uniform, epsilon)) as tf.Tensor1D;
  });
}

/** [nItems] row of `elsewhere` with `atIds` at the given ids. */
function perItem(nItems: number, ids: number[], atIds: number, elsewhere: number): Float32Array {
  const values = new Float32Array(nItems).fill(elsewhere);
  for (const id of ids) values[id] = atIds;
  return values;
}

function checkSmoothing(value: number): number {
  if (!(value >= 0 && value < 1)) throw new Error(`output head: labelSmoothing must be in [0, 1), got ${value}`);
  return value;
}

/**
 * Creates the head's variables under `head.` (`head.bias` [nItems]; untied: `head.kernel` [nItems, hiddenDim];
 * tied with hiddenDim ≠ itemDim: `head.projection.kernel|bias`).
 */
export function createOutputHead(spec: OutputHeadSpec, config: OutputHeadConfig = {}): ItemOutputHead {
  const resolved: ItemOutputHead["config"] = {
    tied: config.tied ?? true,
    cosine: config.cosine ?? false,
    temperature: config.temperature ?? 1,
    labelSmoothing: checkSmoothing(config.labelSmoothing ?? 0),
    itemDropout: config.itemDropout ?? 0,
    reminderBonus: checkReminderBonus(config.reminderBonus ?? 0, "output head"),
    sampled: config.sampled ?? null,
    maxChunkElements: config.maxChunkElements ?? DEFAULT_MAX_CHUNK_ELEMENTS,
    seed: config.seed ?? 1,
  };
  const { nItems, hiddenDim } = spec;
  if (!(Number.isInteger(nItems) && nItems >= 3))
    throw new Error(`output head: nItems must be an integer >= 3 (padding, OOV, one item), got ${nItems}`);
  if (!(resolved.temperature > 0)) throw new Error(`output head: temperature must be > 0, got ${resolved.temperature}`);
  if (!(resolved.itemDropout >= 0 && resolved.itemDropout < 1))
    throw new Error(`output head: itemDropout must be in [0, 1), got ${resolved.itemDropout}`);
  const params = new ParameterFactory(resolved.seed, "head");
  const seeds = new SeedSequence(resolved.seed); // item dropout masks

  // Item vectors: row i scores item i. Tied: the first nItems rows of the item table; else the head's own matrix.
  let itemVectors: () => tf.Tensor2D; // [nItems, vectorDim]
  let vectorTable: tf.Tensor2D; // [≥ nItems, vectorDim]: row i scores item i (a tied table may have more rows)
  let projection: Dense | null = null;
  if (resolved.tied) {
    const table = spec.itemTable;
    if (table === undefined) throw new Error("output head: tied: true needs the model's item table (spec.itemTable)");
    if (table.shape[0] < nItems)
      throw new Error(`output head: item table has ${table.shape[0]} rows, fewer than nItems = ${nItems}`);
    const itemDim = table.shape[1] as number;
    if (itemDim !== hiddenDim) projection = dense(params, "projection", hiddenDim, itemDim);
    vectorTable = table as tf.Tensor2D;
    itemVectors = () => (table.shape[0] === nItems ? table : tf.slice(table, [0, 0], [nItems, itemDim])) as tf.Tensor2D;
  } else {
    const kernel = params.glorotUniform("kernel", [nItems, hiddenDim]);
    vectorTable = kernel as tf.Tensor2D;
    itemVectors = () => vectorTable;
  }
  // The vectors a training loss scores (item dropout, then normalised for cosine). vectorsOf: the rows of ids [c] →
  // [c, vectorDim], gathered first, so that a sampled loss touches (and differentiates through) its candidates' rows
  // only, not the whole catalogue's; trainingVectors: every item's [nItems, vectorDim].
  const trainingRows = (rows: tf.Tensor2D): tf.Tensor2D => {
    const dropped = dropout(rows, resolved.itemDropout, true, seeds) as tf.Tensor2D;
    return resolved.cosine ? l2Normalize(dropped) : dropped;
  };
  const vectorsOf = (ids: tf.Tensor1D): tf.Tensor2D => trainingRows(gatherTableRows(vectorTable, ids) as tf.Tensor2D);
  const rawItemVectors = itemVectors;
  const trainingVectors = (): tf.Tensor2D => trainingRows(rawItemVectors());
  if (resolved.cosine) itemVectors = () => l2Normalize(rawItemVectors());
  // Cosine logits have no bias: a constant 0 stands in for it (not a variable, so nothing trains or is saved).
  const bias = (resolved.cosine ? tf.keep(tf.zeros([nItems])) : params.constant("bias", [nItems], 0)) as tf.Tensor1D;
  const projected = (hidden: tf.Tensor2D): tf.Tensor2D =>
    projection === null ? hidden : (projection.apply(hidden) as tf.Tensor2D);
  const project = resolved.cosine ? (hidden: tf.Tensor2D) => l2Normalize(projected(hidden)) : projected;

  // Kept for the head's lifetime: additive masks over the catalogue.
  const trainingExclusion = tf.keep(tf.tensor1d(perItem(nItems, [0], NEVER, 0))); // padding is never a target
  const trainingValid = tf.keep(tf.tensor2d(perItem(nItems, [0], 0, 1), [1, nItems])); // [1, nItems]
  const scoringExclusion = tf.keep(tf.tensor1d(perItem(nItems, [0, 1], NEVER, 0))); // nor are padding and OOV recommended

  /** (h'·Wᵀ + b) / T for hidden [m, d] given the materialised Wᵀ [vectorDim, nItems] → [m, nItems]. */
  const fullLogits = (hidden: tf.Tensor2D, transposedVectors: tf.Tensor2D): tf.Tensor2D =>
    tf.div(tf.add(tf.matMul(project(hidden), transposedVectors), bias), resolved.temperature);

  /** Sums f(start, size) over row chunks of n rows; f returns the sum of its rows' losses. */
  const sumOverChunks = (n: number, columns: number, f: (start: number, size: number) => tf.Scalar): tf.Scalar => {
    const rows = rowsPerChunk(columns, resolved.maxChunkElements);
    const chunkSums: tf.Scalar[] = [];
    for (let start = 0; start < n; start += rows) chunkSums.push(f(start, Math.min(rows, n - start)));
    return (chunkSums.length === 1 ? chunkSums[0] : tf.addN(chunkSums)) as tf.Scalar;
  };

  const fullLoss = (hidden: tf.Tensor2D, targets: tf.Tensor1D, training: boolean): tf.Scalar => {
    const vectors = training && resolved.itemDropout > 0 ? trainingVectors() : itemVectors(); // [nItems, vectorDim]
    if (resolved.labelSmoothing === 0) {
      // Without smoothing, the fused catalogue op (lib/compute/kernels): its hand-written gradient reuses W as is instead of
      // transposing it per chunk (~2x on wasm for 1024 rows over 40k items). (h·Wᵀ + b + exclusion)/T, as a sum.
      const scaled = tf.div(project(hidden), resolved.temperature) as tf.Tensor2D;
      const scaledBias = tf.div(tf.add(bias, trainingExclusion), resolved.temperature) as tf.Tensor1D;
      const mean = catalogueSoftmaxCrossEntropy(scaled, vectors, scaledBias, targets, resolved.maxChunkElements);
      return tf.mul(mean, hidden.shape[0]) as tf.Scalar;
    }
    // Materialised transpose: matMul(h, Wᵀ) is ~12x faster than matMul(h, W, false, true) on wasm.
    const transposedVectors = tf.transpose(vectors) as tf.Tensor2D; // [vectorDim, nItems]
    return sumOverChunks(hidden.shape[0], nItems, (start, size) => {
      const logits = tf.add(
        fullLogits(tf.slice(hidden, [start, 0], [size, -1]), transposedVectors),
        trainingExclusion,
      ) as tf.Tensor2D;
      const chunkTargets = tf.slice(targets, [start], [size]) as tf.Tensor1D;
      return tf.sum(smoothedCrossEntropy(logits, chunkTargets, trainingValid, resolved.labelSmoothing));
    });
  };

  const sampled = createSampledLoss(resolved.sampled, nItems, resolved.seed, {
    project,
    vectorsOf,
    bias,
    temperature: resolved.temperature,
    labelSmoothing: resolved.labelSmoothing,
    sumOverChunks,
  });

  // Set by `freeze`: Wᵀ/temperature and (bias/temperature + scoring exclusion) computed once, so that scoring is one
  // fused matmul + bias: inference would otherwise transpose the whole catalogue and add, divide and add again per call.
  let frozen: { transposed: tf.Tensor2D; bias: tf.Tensor1D } | null = null;
  const thaw = () => {
    if (frozen !== null) tf.dispose([frozen.transposed, frozen.bias]);
    frozen = null;
  };
  /** Scores of `hidden` [rows, dim] for every item [rows, nItems], padding and OOV excluded. */
  const scores = (hidden: tf.Tensor2D): tf.Tensor2D =>
    tf.tidy(() =>
      frozen !== null
        ? (tf.fused.matMul({ a: project(hidden), b: frozen.transposed, bias: frozen.bias }) as tf.Tensor2D)
        : // the frozen path's order of operations, so that freezing (a loaded model folder) changes no score's bits
          (tf.add(
            tf.matMul(project(hidden), tf.div(tf.transpose(itemVectors()), resolved.temperature)),
            tf.add(tf.div(bias, resolved.temperature), scoringExclusion),
          ) as tf.Tensor2D),
    );

  /** `scores` with the reminder bonus of `session`'s items, when given. */
  const scoresFor = (hidden: tf.Tensor2D, session?: SessionItems): tf.Tensor2D =>
    session === undefined || resolved.reminderBonus === 0
      ? scores(hidden)
      : tf.tidy(() => addReminders(scores(hidden), session, resolved.reminderBonus));

  const variables: Record<string, tf.Variable> = { ...params.variables };
  return {
    nItems,
    config: resolved,
    variables,
    logits: scores,
    setReminderBonus: (bonus) => {
      resolved.reminderBonus = checkReminderBonus(bonus, "output head");
    },
    loss: (hidden, targets, training, draws) =>
      tf.tidy(() => {
        const n = hidden.shape[0];
        if (targets.shape[0] !== n)
          throw new Error(`output head loss: ${n} hidden states but ${targets.shape[0]} targets`);
        if (draws !== undefined && !(training && sampled !== null))
          throw new Error("output head loss: draws given, but only a sampled head's training loss draws");
        if (n === 0) return tf.scalar(0);
        const total =
          training && sampled !== null ? sampled.loss(hidden, targets, draws) : fullLoss(hidden, targets, training);
        return tf.div(total, n) as tf.Scalar;
      }),
    drawBatch: (batchTargets) => sampled?.draw(batchTargets) ?? null,
    topK: (hidden, k, session) => {
      const rows = rowsPerChunk(nItems, resolved.maxChunkElements);
      const values: tf.Tensor2D[] = [];
      const indices: tf.Tensor2D[] = [];
      for (let start = 0; start < hidden.shape[0]; start += rows) {
        const size = Math.min(rows, hidden.shape[0] - start);
        const chunkSession = session === undefined ? undefined : sessionRows(session, start, size);
        const best = tf.tidy(() =>
          tf.topk(scoresFor(tf.slice(hidden, [start, 0], [size, -1]) as tf.Tensor2D, chunkSession), k),
        );
        values.push(best.values as tf.Tensor2D);
        indices.push(best.indices as tf.Tensor2D);
      }
      const result = tf.tidy(() => ({
        values: tf.concat(values.length > 0 ? values : [tf.zeros([0, k])], 0) as tf.Tensor2D,
        indices: tf.concat(indices.length > 0 ? indices : [tf.zeros([0, k], "int32")], 0) as tf.Tensor2D,
      }));
      tf.dispose([...values, ...indices]);
      return result;
    },
    get frozen() {
      return frozen !== null;
    },
    thaw,
    freeze: () => {
      thaw();
      frozen = tf.tidy(() => ({
        transposed: tf.keep(tf.div(tf.transpose(itemVectors()), resolved.temperature) as tf.Tensor2D),
        bias: tf.keep(tf.add(tf.div(bias, resolved.temperature), scoringExclusion) as tf.Tensor1D),
      }));
    },
    dispose: () => {
      thaw();
      tf.dispose([trainingExclusion, trainingValid, scoringExclusion, ...Object.values(variables)]);
      if (resolved.cosine) bias.dispose();
      sampled?.dispose();
    },
  };
}

/** Rows of x [n, d] scaled to unit L2 norm (a zero row stays 0). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1, true), 1e-12))) as tf.Tensor2D);
}

interface HeadParts {
  project(hidden: tf.Tensor2D): tf.Tensor2D;
  /** The scored vectors of the items ids [c] → [c, vectorDim] in training (item dropout, normalised for cosine). */
  vectorsOf(ids: tf.Tensor1D): tf.Tensor2D;
  bias: tf.Tensor1D;
  temperature: number;
  labelSmoothing: number;
  sumOverChunks(n: number, columns: number, f: (start: number, size: number) => tf.Scalar): tf.Scalar;
}

interface SampledLoss {
  /** Sum over rows of the sampled-softmax loss of hidden [n, d] against targets [n]; with `draws`, rows
   *  [offset, offset + n) of the batch those were drawn for. */
  loss(hidden: tf.Tensor2D, targets: tf.Tensor1D, draws?: BatchDraws): tf.Scalar;
  /** `ItemOutputHead.drawBatch`. */
  draw(batchTargets: Int32Array): Int32Array;
  dispose(): void;
}

/** The sampled-softmax loss, or null when the head uses the full softmax in training too. */
function createSampledLoss(
  config: SampledSoftmaxConfig | null,
  nItems: number,
  seed: number,
  head: HeadParts,
): SampledLoss | null {
  if (config === null) return null;
  const { negatives: mode, itemProbabilities: probabilities } = config;
  if (mode !== "in-batch" && mode !== "popularity") {
    throw new Error(`output head: sampled.negatives must be "in-batch" or "popularity", got '${mode}'`);
  }
  if (probabilities !== undefined && probabilities.length !== nItems) {
    throw new Error(
      `output head: sampled.itemProbabilities has ${probabilities.length} entries, expected nItems = ${nItems}`,
    );
  }
  const weights = probabilities === undefined ? null : Array.from(probabilities, (p, id) => (id === 0 ? 0 : p));
  const bce = config.loss === "bce";
  if (config.loss !== undefined && config.loss !== "softmax" && !bce)
    throw new Error(`output head: sampled.loss must be "softmax" or "bce", got '${config.loss}'`);
  if (bce && mode !== "popularity")
    throw new Error(
      `output head: sampled.loss "bce" draws its negatives, so it needs negatives "popularity", got '${mode}'`,
    );
  // A constant logQ shift leaves a softmax unchanged but not a sigmoid: no correction with "bce".
  const correct = config.logQCorrection ?? (weights !== null && !bce);
  if (bce && correct) throw new Error(`output head: sampled.logQCorrection applies to the softmax loss, not "bce"`);
  if (weights === null && (correct || mode === "popularity")) {
    throw new Error(
      `output head: sampled.itemProbabilities is required for ${correct ? "logQCorrection" : 'negatives "popularity"'}`,
    );
  }
  const numNegatives = config.numNegatives ?? (bce ? 1 : 100);
  if (!(Number.isInteger(numNegatives) && numNegatives > 0))
    throw new Error(`output head: numNegatives must be a positive integer, got ${numNegatives}`);

  // log Q(item) [nItems], kept for the head's lifetime; zeros when no correction is applied.
  const totalWeight = weights === null ? 0 : weights.reduce((a, b) => a + b, 0);
  const logQ = tf.keep(
    tf.tensor1d(
      weights === null || !correct
        ? new Float32Array(nItems)
        : Float32Array.from(weights, (w) => Math.log(Math.max(w / totalWeight, MIN_PROBABILITY))),
    ),
  );
  const dispose = () => logQ.dispose();
  /** Raw scores [m, c] of candidate ids [c] (or [m] paired with rows) → temperature-scaled, logQ-corrected. */
  const corrected = (raw: tf.Tensor, ids: tf.Tensor1D): tf.Tensor =>
    tf.sub(tf.div(raw, head.temperature), tf.gather(logQ, ids));
  /** Every row of hidden [m, d] against every candidate id [c] → [m, c]. */
  const allPairs = (hidden: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D => {
    const vectors = head.vectorsOf(ids); // [c, vectorDim]
    return corrected(
      tf.add(tf.matMul(head.project(hidden), tf.transpose(vectors)), tf.gather(head.bias, ids)),
      ids,
    ) as tf.Tensor2D;
  };
  /** Row i of hidden [m, d] against id i of ids [m] → [m]. */
  const paired = (hidden: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor1D => {
    const vectors = head.vectorsOf(ids); // [m, vectorDim]
    return corrected(
      tf.add(tf.sum(tf.mul(head.project(hidden), vectors), 1), tf.gather(head.bias, ids)),
      ids,
    ) as tf.Tensor1D;
  };
  /** Drops the invalid candidates and sums the rows' (smoothed) cross-entropies. `invalid(value)`: [m, c], `value`
   *  where a candidate is invalid, 0 elsewhere. */
  const lossOf = (logits: tf.Tensor2D, positive: tf.Tensor1D, invalid: (value: number) => tf.Tensor2D): tf.Scalar => {
    const masked = tf.add(logits, invalid(NEVER)) as tf.Tensor2D;
    // Unsmoothed: the fused op (lib/compute/kernels), one softmax for value and gradient (~12% of a Games Transformer step).
    if (head.labelSmoothing === 0)
      return tf.mul(sparseSoftmaxCrossEntropy(masked, positive), logits.shape[0]) as tf.Scalar;
    return tf.sum(smoothedCrossEntropy(masked, positive, tf.sub(1, invalid(1)) as tf.Tensor2D, head.labelSmoothing));
  };

  if (mode === "in-batch") {
    // Row i's candidates are every row's target; its positive is column i. A column j ≠ i holding the same item
    // as row i's target is not a negative (it is the same item), so it is dropped.
    // A share of a batch (`draws`): its rows against all the batch's targets, its positives at its own columns.
    const loss = (hidden: tf.Tensor2D, targets: tf.Tensor1D, draws?: BatchDraws): tf.Scalar => {
      const candidates = draws === undefined ? targets : tf.tensor1d(draws.ids, "int32"); // [N]
      const offset = draws?.offset ?? 0;
      const n = candidates.shape[0];
      if (offset + hidden.shape[0] > n)
        throw new Error(
          `output head loss: rows [${offset}, ${offset + hidden.shape[0]}) outside the batch's ${n} targets`,
        );
      return head.sumOverChunks(hidden.shape[0], n, (start, size) => {
        const rowTargets = tf.slice(targets, [start], [size]); // [m]
        const positive = tf.range(offset + start, offset + start + size, 1, "int32") as tf.Tensor1D; // [m]
        const sameItem = tf.equal(tf.expandDims(rowTargets, 1), tf.expandDims(candidates, 0)); // [m, N]
        const ownColumn = tf.equal(tf.expandDims(positive, 1), tf.expandDims(tf.range(0, n, 1, "int32"), 0)); // [m, N]
        const invalid = tf.cast(tf.logicalAnd(sameItem, tf.logicalNot(ownColumn)), "float32") as tf.Tensor2D;
        const rows = tf.slice(hidden, [start, 0], [size, -1]) as tf.Tensor2D;
        return lossOf(allPairs(rows, candidates), positive, (value) => tf.mul(invalid, value) as tf.Tensor2D);
      });
    };
    return { loss, draw: (batchTargets) => Int32Array.from(batchTargets), dispose };
  }

  const sampler = new WeightedSampler(weights as number[]);
  const rng = new Random(seed);
  const drawIds = (count: number): Int32Array => {
    const drawn = new Int32Array(count);
    for (let i = 0; i < count; i++) drawn[i] = sampler.sample(rng);
    return drawn;
  };
  if (bce) {
    // Row i: softplus(-s(target)) + Σ_j softplus(s(negative_ij)), a negative equal to the target contributing 0.
    const loss = (hidden: tf.Tensor2D, targets: tf.Tensor1D, draws?: BatchDraws): tf.Scalar => {
      const n = hidden.shape[0];
      const from = (draws?.offset ?? 0) * numNegatives;
      if (draws !== undefined && from + n * numNegatives > draws.ids.length) {
        throw new Error(
          `output head loss: rows [${draws.offset}, ${draws.offset + n}) outside the ${draws.ids.length / numNegatives} rows drawn for`,
        );
      }
      const drawn = draws === undefined ? drawIds(n * numNegatives) : draws.ids.subarray(from, from + n * numNegatives);
      const negatives = tf.tensor2d(drawn, [n, numNegatives], "int32"); // [n, S]
      return head.sumOverChunks(n, numNegatives + 1, (start, size) => {
        const rows = tf.slice(hidden, [start, 0], [size, -1]) as tf.Tensor2D;
        const rowTargets = tf.slice(targets, [start], [size]) as tf.Tensor1D;
        const rowNegatives = tf.slice(negatives, [start, 0], [size, -1]) as tf.Tensor2D;
        const repeated = tf.reshape(tf.tile(rows, [1, numNegatives]), [size * numNegatives, -1]) as tf.Tensor2D; // row i S times
        const negativeLogits = tf.reshape(paired(repeated, tf.reshape(rowNegatives, [-1]) as tf.Tensor1D), [
          size,
          numNegatives,
        ]);
        const valid = tf.cast(tf.notEqual(rowNegatives, tf.expandDims(rowTargets, 1)), "float32"); // [m, S]
        const positiveLoss = tf.softplus(tf.neg(paired(rows, rowTargets))); // [m]
        return tf.add(tf.sum(positiveLoss), tf.sum(tf.mul(tf.softplus(negativeLogits), valid)));
      });
    };
    return { loss, draw: (batchTargets) => drawIds(batchTargets.length * numNegatives), dispose };
  }
  // Row i's candidates: its target (column 0), then negatives drawn for this call and shared by all rows; a negative
  // equal to the target (an accidental hit) is dropped.
  const loss = (hidden: tf.Tensor2D, targets: tf.Tensor1D, draws?: BatchDraws): tf.Scalar => {
    if (draws !== undefined && draws.ids.length !== numNegatives)
      throw new Error(`output head loss: ${draws.ids.length} negatives given, expected numNegatives = ${numNegatives}`);
    const drawn = draws?.ids ?? drawIds(numNegatives);
    const negatives = tf.tensor1d(drawn, "int32"); // [S]
    // The accidental hits, found on the host: a few cells of [m, 1+S], where comparing, casting and concatenating on
    // the device took passes over all of it.
    const columns = negativeColumns(drawn);
    const targetIds = targets.dataSync();
    return head.sumOverChunks(hidden.shape[0], numNegatives + 1, (start, size) => {
      const rows = tf.slice(hidden, [start, 0], [size, -1]) as tf.Tensor2D;
      const rowTargets = tf.slice(targets, [start], [size]) as tf.Tensor1D;
      const logits = tf.concat(
        [tf.expandDims(paired(rows, rowTargets), 1), allPairs(rows, negatives)],
        1,
      ) as tf.Tensor2D; // [m, 1+S]
      const hits = accidentalHits(targetIds.subarray(start, start + size), columns, numNegatives + 1);
      const invalid = (value: number): tf.Tensor2D => {
        const cells = new Float32Array(size * (numNegatives + 1));
        for (const cell of hits) cells[cell] = value;
        return tf.tensor2d(cells, [size, numNegatives + 1]);
      };
      return lossOf(logits, tf.zeros([size], "int32") as tf.Tensor1D, invalid);
    });
  };
  return { loss, draw: () => drawIds(numNegatives), dispose };
}

/** Each drawn id's columns among a row's candidates (1 + its positions in `drawn`: column 0 is the target). */
function negativeColumns(drawn: Int32Array): Map<number, number[]> {
  const columns = new Map<number, number[]>();
  drawn.forEach((id, j) => {
    const list = columns.get(id);
    if (list === undefined) columns.set(id, [j + 1]);
    else list.push(j + 1);
  });
  return columns;
}

/** The cells (row × width + column) of rows [m] × candidates where a negative is the row's own target. */
function accidentalHits(targets: ArrayLike<number>, columns: Map<number, number[]>, width: number): number[] {
  const cells: number[] = [];
  for (let i = 0; i < targets.length; i++)
    for (const column of columns.get(targets[i]) ?? []) cells.push(i * width + column);
  return cells;
}
