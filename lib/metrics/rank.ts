// Where the target item lands in a full ranking of the catalogue, and the top-k items of a score row.
//
// Ranking rules shared by everything in lib/metrics and lib/baselines:
// - Candidates are the item ids 2..nItems-1. Id 0 (padding) and id 1 (out-of-vocabulary) are never
//   recommended: their scores are ignored.
// - Higher score ranks first; equal scores are broken by item id, LOWER id first. So the 1-based rank of
//   target t in row s is  1 + #{j >= 2, j != t : s[j] > s[t]  or  (s[j] == s[t] and j < t)}.
//   This costs O(nItems) per example and no sort.
// - A target of 0 marks a padding example: it is skipped (no example). A target of 1 (OOV) can never be
//   recommended, so the example counts as a miss at every k.
// - NaN scores are an error (a diverged model would otherwise rank every target first).
import * as tf from "@tensorflow/tfjs";

/** First item id that may be recommended (0 = padding, 1 = out-of-vocabulary). */
export const FIRST_CANDIDATE = 2;
/** Rank code of a padding example (target 0): not an example, ignored by the accumulators. */
export const SKIPPED = 0;
/** Rank code of an example whose target can never be recommended (OOV, id 1): a miss at every k. */
export const UNRANKED = -1;

/** Item scores: a float32 tensor [batch, nItems] or one Float32Array [nItems] per example. */
export type ScoreRows = tf.Tensor2D | readonly Float32Array[];
/** Target item ids [batch]: an int32 tensor or plain numbers. */
export type Targets = tf.Tensor1D | ArrayLike<number>;

/**
 * Number of candidates that rank before `target` in `row` (see the rules above), or -1 when the row holds a
 * NaN among the candidates. `target` must be a candidate (>= 2).
 */
function countBefore(row: Float32Array, target: number): number {
  const t = row[target];
  let before = 0;
  let sawNaN = t !== t;
  // Lower ids win ties, so they need >=; higher ids need a strictly greater score.
  for (let j = FIRST_CANDIDATE; j < target; j++) {
    const s = row[j];
    if (s >= t) before++;
    else if (s !== s) sawNaN = true;
  }
  for (let j = target + 1; j < row.length; j++) {
    const s = row[j];
    if (s > t) before++;
    else if (s !== s) sawNaN = true;
  }
  return sawNaN ? -1 : before;
}

function checkTarget(target: number, nItems: number, where: string): void {
  if (!Number.isInteger(target) || target < 0 || target >= nItems) {
    throw new Error(`${where}: target item id ${target} is not an integer in [0, ${nItems})`);
  }
}

function nanError(where: string, target: number): Error {
  return new Error(`${where}: scores contain NaN (while ranking target item ${target}); is the model diverging?`);
}

/**
 * Rank code of `target` in one score row [nItems]: its 1-based rank, `SKIPPED` for target 0, `UNRANKED` for
 * target 1. `where` names the row in error messages.
 */
export function rankOfTarget(row: Float32Array, target: number, where = "rankOfTarget"): number {
  checkTarget(target, row.length, where);
  if (target === 0) return SKIPPED;
  if (target === 1) return UNRANKED;
  const before = countBefore(row, target);
  if (before < 0) throw nanError(where, target);
  return before + 1;
}

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

function checkedTargetIds(targets: ArrayLike<number>, batch: number, nItems: number): Int32Array {
  if (targets.length !== batch) {
    throw new Error(`targets: expected ${batch} target ids (one per score row), got ${targets.length}`);
  }
  const ids = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    checkTarget(targets[i], nItems, `targets[${i}]`);
    ids[i] = targets[i];
  }
  return ids;
}

/** Target ids [batch] on the host, checked to lie in [0, nItems); tensors are read back with `dataSync`. */
export function hostTargetIds(targets: Targets, batch: number, nItems: number): Int32Array {
  return checkedTargetIds(isTensor(targets) ? targets.dataSync() : targets, batch, nItems);
}

function shapeOf(scores: ScoreRows): [number, number] {
  if (isTensor(scores)) {
    if (scores.rank !== 2) throw new Error(`scores: expected a tensor [batch, nItems], got shape [${scores.shape}]`);
    return [scores.shape[0], scores.shape[1]];
  }
  const nItems = scores.length > 0 ? scores[0].length : 0;
  scores.forEach((row, i) => {
    if (row.length !== nItems)
      throw new Error(`scores[${i}]: expected ${nItems} item scores like row 0, got ${row.length}`);
  });
  return [scores.length, nItems];
}

/**
 * On-device count of the candidates ranked before each target: int32 [batch], -1 where a row holds a NaN.
 * Only [batch] numbers leave the device instead of [batch, nItems].
 */
function countBeforeOnDevice(scores: tf.Tensor2D, targetIds: Int32Array): tf.Tensor1D {
  return tf.tidy(() => {
    const [batch, nItems] = scores.shape;
    const targets = tf.tensor2d(targetIds, [batch, 1], "int32"); // [batch, 1]
    // A flat gather: tfjs-backend-wasm 4.22 gathers wrong rows with gather(..., batchDims = 1).
    const flatIndex = Int32Array.from(targetIds, (target, i) => i * nItems + target);
    const targetScores = tf.gather(scores.reshape([batch * nItems]), flatIndex).reshape([batch, 1]); // [batch, 1]
    const ids = tf.range(0, nItems, 1, "int32").reshape([1, nItems]); // [1, nItems]
    const candidate = tf.greaterEqual(ids, FIRST_CANDIDATE); // [1, nItems]
    const before = tf.logicalAnd(
      candidate,
      tf.logicalOr(
        tf.greater(scores, targetScores),
        tf.logicalAnd(tf.equal(scores, targetScores), tf.less(ids, targets)),
      ),
    ); // [batch, nItems]
    const counts = tf.sum(tf.cast(before, "int32"), 1); // [batch]
    const hasNaN = tf.any(tf.logicalAnd(candidate, tf.isNaN(scores)), 1); // [batch]
    return tf.where(hasNaN, tf.fill([batch], -1, "int32"), counts) as tf.Tensor1D;
  });
}

/** Turns per-row "count before" values into rank codes, applying the padding / OOV / NaN rules. */
function ranksFromCounts(counts: ArrayLike<number>, targetIds: Int32Array): Int32Array {
  const ranks = new Int32Array(targetIds.length);
  for (let i = 0; i < targetIds.length; i++) {
    const target = targetIds[i];
    if (target === 0) ranks[i] = SKIPPED;
    else if (target === 1) ranks[i] = UNRANKED;
    else if (counts[i] < 0) throw nanError(`scores row ${i}`, target);
    else ranks[i] = counts[i] + 1;
  }
  return ranks;
}

function ranksOnHost(rows: readonly Float32Array[], targetIds: Int32Array): Int32Array {
  const ranks = new Int32Array(targetIds.length);
  for (let i = 0; i < rows.length; i++) ranks[i] = rankOfTarget(rows[i], targetIds[i], `scores row ${i}`);
  return ranks;
}

/**
 * Rank codes of a batch (1-based rank, `SKIPPED` or `UNRANKED` per example), int32 [batch]. Tensor scores are
 * ranked on their device and read back with `dataSync`; use `targetRanksAsync` on backends that should not block.
 */
export function targetRanks(scores: ScoreRows, targets: Targets): Int32Array {
  const [batch, nItems] = shapeOf(scores);
  const targetIds = hostTargetIds(targets, batch, nItems);
  if (!isTensor(scores)) return ranksOnHost(scores, targetIds);
  const counts = countBeforeOnDevice(scores, targetIds);
  try {
    return ranksFromCounts(counts.dataSync(), targetIds);
  } finally {
    counts.dispose();
  }
}

/** `targetRanks` reading tensors back with `await data()`. */
export async function targetRanksAsync(scores: ScoreRows, targets: Targets): Promise<Int32Array> {
  const [batch, nItems] = shapeOf(scores);
  const targetIds = checkedTargetIds(isTensor(targets) ? await targets.data() : targets, batch, nItems);
  if (!isTensor(scores)) return ranksOnHost(scores, targetIds);
  const counts = countBeforeOnDevice(scores, targetIds);
  try {
    return ranksFromCounts(await counts.data(), targetIds);
  } finally {
    counts.dispose();
  }
}

/** True when item a ranks before item b (higher score, then lower id). */
function ranksBefore(row: Float32Array, a: number, b: number): boolean {
  return row[a] > row[b] || (row[a] === row[b] && a < b);
}

/**
 * The `k` best candidate ids of one score row [nItems], best first, with the tie rule above; fewer when the
 * catalogue has fewer than `k` candidates. Keeps a heap of the k best seen so far: O(nItems log k).
 */
export function topKRow(row: Float32Array, k: number, where = "topKRow"): Int32Array {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${where}: k must be a positive integer, got ${k}`);
  const size = Math.min(k, Math.max(0, row.length - FIRST_CANDIDATE));
  // Min-heap on "ranks before": heap[0] is the worst of the kept items, the one a newcomer must beat.
  const heap = new Int32Array(size);
  let filled = 0;
  const worse = (a: number, b: number) => ranksBefore(row, b, a);
  const siftDown = (from: number) => {
    let i = from;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < filled && worse(heap[left], heap[worst])) worst = left;
      if (right < filled && worse(heap[right], heap[worst])) worst = right;
      if (worst === i) return;
      const tmp = heap[i];
      heap[i] = heap[worst];
      heap[worst] = tmp;
      i = worst;
    }
  };
  for (let j = FIRST_CANDIDATE; j < row.length; j++) {
    if (row[j] !== row[j]) throw new Error(`${where}: score of item ${j} is NaN`);
    if (filled < size) {
      // Sift up.
      let i = filled++;
      heap[i] = j;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i], heap[parent])) break;
        const tmp = heap[i];
        heap[i] = heap[parent];
        heap[parent] = tmp;
        i = parent;
      }
    } else if (size > 0 && ranksBefore(row, j, heap[0])) {
      heap[0] = j;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (ranksBefore(row, a, b) ? -1 : 1));
}

/** Float32 rows over a flat [batch * nItems] buffer, without copying. */
function rowViews(flat: Float32Array, batch: number, nItems: number): Float32Array[] {
  return Array.from({ length: batch }, (_, i) => flat.subarray(i * nItems, (i + 1) * nItems));
}

/** Score rows of a batch on the host; tensors are read back with `dataSync`. */
export function hostRows(scores: ScoreRows): readonly Float32Array[] {
  const [batch, nItems] = shapeOf(scores);
  if (!isTensor(scores)) return scores;
  if (scores.dtype !== "float32") throw new Error(`scores: expected a float32 tensor, got ${scores.dtype}`);
  return rowViews(scores.dataSync() as Float32Array, batch, nItems);
}

/** `hostRows` reading tensors back with `await data()`: the only way off a WebGPU device in Node. */
export async function hostRowsAsync(scores: ScoreRows): Promise<readonly Float32Array[]> {
  const [batch, nItems] = shapeOf(scores);
  if (!isTensor(scores)) return scores;
  if (scores.dtype !== "float32") throw new Error(`scores: expected a float32 tensor, got ${scores.dtype}`);
  return rowViews((await scores.data()) as Float32Array, batch, nItems);
}

/** Top-k candidate ids of each row, best first (see `topKRow`): one Int32Array [k] per example. */
export function topK(scores: ScoreRows, k: number): Int32Array[] {
  return hostRows(scores).map((row, i) => topKRow(row, k, `topK row ${i}`));
}
