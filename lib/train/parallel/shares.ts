// A batch's training examples as plain rows (host typed arrays) and their split into one share per replica: the
// target scheme runs once, on the main thread, and each replica rebuilds the same tensors from its rows.
import * as tf from "@tensorflow/tfjs";
import type { TrainingExample } from "../../models/types";
import { mapValues } from "../../util/records";

/** Rows of one training example as host arrays, row-major [size, seqLen]; what a replica is sent. */
export interface ExampleRows {
  size: number;
  seqLen: number;
  items: Int32Array;
  mask: Float32Array;
  lengths: Int32Array;
  categorical: Record<string, Int32Array>;
  continuous: Record<string, Float32Array>;
  /** Per-session features: int32 (categorical) or float32 (continuous), as in the batch. */
  context: Record<string, Int32Array | Float32Array>;
  targets: Int32Array;
}

/** One replica's part of a batch: pieces of the batch's examples, in the batch's order. */
export interface Share {
  pieces: ExampleRows[];
  /** Targets (positions with a loss) in the pieces: the share's weight in the batch's mean loss is targets / total. */
  targets: number;
}

export function exampleRows(example: TrainingExample): ExampleRows {
  const { inputs } = example;
  const [size, seqLen] = inputs.items.shape;
  return {
    size,
    seqLen,
    items: inputs.items.dataSync() as Int32Array,
    mask: inputs.mask.dataSync() as Float32Array,
    lengths: inputs.lengths.dataSync() as Int32Array,
    categorical: mapValues(inputs.categorical, (t) => t.dataSync() as Int32Array),
    continuous: mapValues(inputs.continuous, (t) => t.dataSync() as Float32Array),
    context: mapValues(inputs.context, (t) => t.dataSync() as Int32Array | Float32Array),
    targets: example.targets.dataSync() as Int32Array,
  };
}

/** The tensors of `rows`; the caller owns them. */
export function exampleFromRows(rows: ExampleRows): TrainingExample {
  const shape: [number, number] = [rows.size, rows.seqLen];
  return {
    inputs: {
      items: tf.tensor2d(rows.items, shape, "int32"),
      categorical: mapValues(rows.categorical, (values) => tf.tensor2d(values, shape, "int32")),
      continuous: mapValues(rows.continuous, (values) => tf.tensor2d(values, shape, "float32")),
      context: mapValues(rows.context, (values) =>
        tf.tensor1d(values, values instanceof Int32Array ? "int32" : "float32"),
      ),
      mask: tf.tensor2d(rows.mask, shape, "float32"),
      lengths: tf.tensor1d(rows.lengths, "int32"),
      size: rows.size,
    },
    targets: tf.tensor2d(rows.targets, shape, "int32"),
  };
}

/** Rows [start, end) of `rows` (copies). */
export function sliceRows(rows: ExampleRows, start: number, end: number): ExampleRows {
  const sequence = <T extends Int32Array | Float32Array>(values: T): T =>
    values.slice(start * rows.seqLen, end * rows.seqLen) as T;
  return {
    size: end - start,
    seqLen: rows.seqLen,
    items: sequence(rows.items),
    mask: sequence(rows.mask),
    lengths: rows.lengths.slice(start, end),
    categorical: mapValues(rows.categorical, sequence),
    continuous: mapValues(rows.continuous, sequence),
    context: mapValues(rows.context, (values) => values.slice(start, end)),
    targets: sequence(rows.targets),
  };
}

/** Every target of the shares, in order (row-major within each piece): the order of the states the loss sees. */
export function batchTargets(shares: Share[]): Int32Array {
  const ids: number[] = [];
  for (const share of shares)
    for (const piece of share.pieces) for (const id of piece.targets) if (id > 0) ids.push(id);
  return Int32Array.from(ids);
}

function rowTargets(rows: ExampleRows, row: number): number {
  let count = 0;
  for (let t = row * rows.seqLen; t < (row + 1) * rows.seqLen; t++) if (rows.targets[t] > 0) count++;
  return count;
}

/** What a piece (one example's rows in a share) costs a replica beyond its rows' work, in positions: one more pass of
 *  the whole model's ops, forward and backward. With it (and a row's real positions counted) the two replicas of
 *  Nowplaying's CORE + global neighbours took 341 and 348 ms per step for their gradients; by padded positions alone,
 *  397 (the replica with ~4 pieces) and 367. */
export const PIECE_COST = 96;

/**
 * Splits the rows of `examples`, taken in order, into `count` contiguous runs, so that the shares' targets,
 * concatenated, are the batch's targets in the order one replica would see them. The runs minimise the largest
 * share's work: each row's padded length (the encoder's work over the padded positions) plus its real length (the
 * work done at real positions only: the targets' loss, per-position blocks that skip padding), plus `PIECE_COST` for
 * each example the share takes rows of. The first share always starts at the first row; later ones may be empty.
 */
export function splitShares(examples: ExampleRows[], count: number): Share[] {
  const n = examples.reduce((sum, rows) => sum + rows.size, 0);
  // Row r (in order over the examples): the work of the rows before it, and its example.
  const before = new Float64Array(n + 1);
  const example = new Int32Array(n);
  let r = 0;
  examples.forEach((rows, e) => {
    for (let row = 0; row < rows.size; row++, r++) {
      before[r + 1] = before[r] + rows.seqLen + rows.lengths[row];
      example[r] = e;
    }
  });
  const work = (i: number, j: number) =>
    j > i ? before[j] - before[i] + PIECE_COST * (example[j - 1] - example[i] + 1) : 0;
  // best[j]: the least largest work of k shares over rows [0, j); start[k][j]: where the k-th share starts then.
  let best = Float64Array.from({ length: n + 1 }, (_, j) => (j === 0 && n > 0 ? Infinity : work(0, j)));
  const starts: Int32Array[] = [new Int32Array(n + 1)];
  for (let k = 1; k < count; k++) {
    const next = new Float64Array(n + 1);
    const start = new Int32Array(n + 1);
    for (let j = 0; j <= n; j++) {
      // Over starts i >= 1, best[i] grows with i and the k-th share's work(i, j) shrinks: the least of their larger
      // is where they cross (a binary search), at the first i where best[i] >= work(i, j) or the one before it.
      let lo = Math.min(1, j);
      let hi = j;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (best[mid] >= work(mid, j)) hi = mid;
        else lo = mid + 1;
      }
      next[j] = Math.max(best[lo], work(lo, j));
      start[j] = lo;
      const before = lo > 1 ? Math.max(best[lo - 1], work(lo - 1, j)) : Infinity;
      if (before < next[j]) {
        next[j] = before;
        start[j] = lo - 1;
      }
    }
    best = next;
    starts.push(start);
  }
  const bounds = new Array<number>(count + 1);
  bounds[count] = n;
  for (let k = count - 1; k >= 0; k--) bounds[k] = starts[k][bounds[k + 1]];

  const shares: Share[] = Array.from({ length: count }, () => ({ pieces: [], targets: 0 }));
  let first = 0; // the first row of the current example, in order over the examples
  for (const rows of examples) {
    for (let k = 0; k < count; k++) {
      const start = Math.max(bounds[k], first) - first;
      const end = Math.min(bounds[k + 1], first + rows.size) - first;
      if (end <= start) continue;
      shares[k].pieces.push(start === 0 && end === rows.size ? rows : sliceRows(rows, start, end));
      for (let row = start; row < end; row++) shares[k].targets += rowTargets(rows, row);
    }
    first += rows.size;
  }
  return shares;
}
