// Batches of a `SessionTable` padded to their own longest session instead of the table's `maxLength`. Real click
// logs have a long tail (YOOCHOOSE: median 3 clicks, longest 78): padding every batch to the longest session of
// the whole split would make a recurrent model step through ~20× more positions than there are events.
//   gatherBatch          any rows, each cut to a given length (whole sessions or prefixes), as one SessionBatch;
//   LengthBucketedBatches a `BatchSource` for `fit`: sessions sorted by length into batches (shuffled within equal
//                        lengths and in batch order every epoch), each padded to its longest session;
//   prefixTable          every prefix of at least 2 events of every session as its own row (for models that only
//                        predict the item after the last event, e.g. the MLP, to train on every position).
import * as tf from "@tensorflow/tfjs";
import { batchCount, type BatchOptions, type BatchSource, type SessionTable } from "../data/loader";
import type { SessionBatch } from "../models/types";
import { Random } from "../util/random";
import { mapValues } from "../util/records";

/**
 * A batch of the table's rows `rows` (in that order), row i keeping its first `lengths[i]` events (default: all of
 * them), padded to the longest kept length. Sequence tensors are [rows.length, longest].
 */
export function gatherBatch(table: SessionTable, rows: ArrayLike<number>, lengths?: ArrayLike<number>): SessionBatch {
  const size = rows.length;
  if (lengths !== undefined && lengths.length !== size)
    throw new Error(`gatherBatch: ${size} rows but ${lengths.length} lengths`);
  const kept = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const row = rows[i];
    if (!(Number.isInteger(row) && row >= 0 && row < table.numSessions))
      throw new Error(`gatherBatch: row ${row} is not a session index in [0, ${table.numSessions})`);
    kept[i] = lengths === undefined ? table.lengths[row] : lengths[i];
    if (!(Number.isInteger(kept[i]) && kept[i] >= 1 && kept[i] <= table.lengths[row])) {
      throw new Error(
        `gatherBatch: length ${kept[i]} for row ${row}, which has ${table.lengths[row]} events (expected 1..${table.lengths[row]})`,
      );
    }
  }
  const seqLen = kept.reduce((a, b) => Math.max(a, b), 0);
  const sequence = <A extends Int32Array | Float32Array>(source: A, out: A): A => {
    for (let i = 0; i < size; i++)
      out.set(source.subarray(rows[i] * table.maxLength, rows[i] * table.maxLength + kept[i]), i * seqLen);
    return out;
  };
  const context = <A extends Int32Array | Float32Array>(source: A, out: A): A => {
    for (let i = 0; i < size; i++) out[i] = source[rows[i]];
    return out;
  };
  const mask = new Float32Array(size * seqLen);
  for (let i = 0; i < size; i++) mask.fill(1, i * seqLen, i * seqLen + kept[i]);
  const shape: [number, number] = [size, seqLen];
  return {
    items: tf.tensor2d(sequence(table.items, new Int32Array(size * seqLen)), shape, "int32"),
    categorical: mapValues(table.categorical, (a) =>
      tf.tensor2d(sequence(a, new Int32Array(size * seqLen)), shape, "int32"),
    ),
    continuous: mapValues(table.continuous, (a) =>
      tf.tensor2d(sequence(a, new Float32Array(size * seqLen)), shape, "float32"),
    ),
    context: mapValues(table.context, (a) =>
      a instanceof Int32Array
        ? tf.tensor1d(context(a, new Int32Array(size)), "int32")
        : tf.tensor1d(context(a, new Float32Array(size)), "float32"),
    ),
    mask: tf.tensor2d(mask, shape, "float32"),
    lengths: tf.tensor1d(kept, "int32"),
    size,
  };
}

/** Row indices ordered by length (shortest first); equal lengths in `order`'s order. */
export function byLength(
  table: SessionTable,
  order: Int32Array = Int32Array.from({ length: table.numSessions }, (_, i) => i),
): Int32Array {
  const position = new Int32Array(table.numSessions);
  order.forEach((row, i) => (position[row] = i));
  return Int32Array.from(order).sort((a, b) => table.lengths[a] - table.lengths[b] || position[a] - position[b]);
}

/**
 * Batches of sessions of similar length. Each epoch (`shuffleSeed` given): sessions are shuffled, stably sorted by
 * length, cut into batches of `batchSize`, and the batches are visited in a random order; without a seed, shortest
 * first in table order. Every batch is padded to its own longest session.
 */
export class LengthBucketedBatches implements BatchSource {
  constructor(readonly table: SessionTable) {}

  get numSessions(): number {
    return this.table.numSessions;
  }

  batches(options: BatchOptions): IterableIterator<SessionBatch> {
    const { batchSize, shuffleSeed, dropLast = false } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batches: batchSize must be an integer >= 1, got ${batchSize}`);
    const rng = shuffleSeed === undefined ? null : new Random(shuffleSeed);
    const rows = byLength(this.table, rng?.permutation(this.numSessions));
    // The short last batch (when not dropped) holds the longest sessions: it stays a batch of its own.
    const count = batchCount(this.numSessions, { batchSize, dropLast });
    const batchOrder = rng === null ? Int32Array.from({ length: count }, (_, b) => b) : rng.permutation(count);
    return this.generate(rows, batchOrder, batchSize);
  }

  private *generate(rows: Int32Array, batchOrder: Int32Array, batchSize: number): IterableIterator<SessionBatch> {
    for (const b of batchOrder)
      yield gatherBatch(this.table, rows.subarray(b * batchSize, Math.min(rows.length, (b + 1) * batchSize)));
  }
}

/**
 * A table with one row per prefix of at least 2 events of every session (a session of n events gives n − 1 rows:
 * its first 2, 3, …, n events), every column cut alike; rows of one session are consecutive, shortest first.
 */
export function prefixTable(table: SessionTable): SessionTable {
  const { maxLength: len } = table;
  const source: number[] = [];
  const lengths: number[] = [];
  for (let s = 0; s < table.numSessions; s++) {
    for (let n = 2; n <= table.lengths[s]; n++) {
      source.push(s);
      lengths.push(n);
    }
  }
  const rows = source.length;
  const sequence = <A extends Int32Array | Float32Array>(values: A, out: A): A => {
    source.forEach((s, r) => out.set(values.subarray(s * len, s * len + lengths[r]), r * len));
    return out;
  };
  const context = <A extends Int32Array | Float32Array>(values: A, out: A): A => {
    source.forEach((s, r) => (out[r] = values[s]));
    return out;
  };
  return {
    schema: table.schema,
    numSessions: rows,
    maxLength: len,
    lengths: Int32Array.from(lengths),
    items: sequence(table.items, new Int32Array(rows * len)),
    categorical: mapValues(table.categorical, (a) => sequence(a, new Int32Array(rows * len))),
    continuous: mapValues(table.continuous, (a) => sequence(a, new Float32Array(rows * len))),
    context: mapValues(table.context, (a) =>
      a instanceof Int32Array ? context(a, new Int32Array(rows)) : context(a, new Float32Array(rows)),
    ),
  };
}
