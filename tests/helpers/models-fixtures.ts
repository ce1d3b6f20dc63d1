// Tiny hand-made schemas and batches for the lib/models tests.
import * as tf from "@tensorflow/tfjs";
import type { ModelSchema } from "../../lib/models/index";
import type { SessionBatch } from "../../lib/models/index";

export const ITEMS = 12; // item cardinality: ids 0 (pad), 1 (OOV), 2..11

/** Item list, a categorical and a continuous list, a categorical and a continuous context, and a count column. */
export const toySchema: ModelSchema = {
  item: "item_list",
  maxLength: 5,
  columns: [
    { name: "item_list", kind: "item", list: true, cardinality: ITEMS },
    { name: "category_list", kind: "categorical", list: true, cardinality: 5 },
    { name: "price_list", kind: "continuous", list: true },
    { name: "country", kind: "categorical", list: false, cardinality: 4 },
    { name: "age", kind: "continuous", list: false },
    { name: "item_count", kind: "count", list: false },
  ],
};

/** Only the item column. */
export function itemOnlySchema(cardinality: number, maxLength: number): ModelSchema {
  return { item: "item_list", maxLength, columns: [{ name: "item_list", kind: "item", list: true, cardinality }] };
}

export interface ToySession {
  items: number[];
  category?: number[];
  price?: number[];
  country?: number;
  age?: number;
}

function padded<T extends number>(
  values: T[] | undefined,
  length: number,
  seqLen: number,
  fill: (t: number) => number,
): number[] {
  return Array.from({ length: seqLen }, (_, t) => (t < length ? (values?.[t] ?? fill(t)) : 0));
}

/** A right-padded batch of `sessions`; side features default to simple functions of the position. */
export function toyBatch(sessions: ToySession[], seqLen: number, withSideFeatures = true): SessionBatch {
  const rows = sessions.map((s) => padded(s.items, s.items.length, seqLen, () => 0));
  const batch: SessionBatch = {
    items: tf.tensor2d(rows, [sessions.length, seqLen], "int32"),
    categorical: {},
    continuous: {},
    context: {},
    mask: tf.tensor2d(
      rows.map((row) => row.map((id) => (id > 0 ? 1 : 0))),
      [sessions.length, seqLen],
      "float32",
    ),
    lengths: tf.tensor1d(
      sessions.map((s) => s.items.length),
      "int32",
    ),
    size: sessions.length,
  };
  if (withSideFeatures) {
    batch.categorical.category_list = tf.tensor2d(
      sessions.map((s) => padded(s.category, s.items.length, seqLen, (t) => 2 + (t % 3))),
      [sessions.length, seqLen],
      "int32",
    );
    batch.continuous.price_list = tf.tensor2d(
      sessions.map((s) => padded(s.price, s.items.length, seqLen, (t) => 0.5 + 0.25 * t)),
      [sessions.length, seqLen],
      "float32",
    );
    batch.context.country = tf.tensor1d(
      sessions.map((s) => s.country ?? 2),
      "int32",
    );
    batch.context.age = tf.tensor1d(
      sessions.map((s) => s.age ?? 0.3),
      "float32",
    );
  }
  return batch;
}

export function disposeToyBatch(batch: SessionBatch): void {
  tf.dispose(batch as unknown as tf.TensorContainer);
}

/** A copy of `batch` with `edit` applied to host copies of its sequence tensors. */
export function editBatch(
  batch: SessionBatch,
  edit: (arrays: { items: number[][]; category: number[][]; price: number[][] }) => void,
): SessionBatch {
  const arrays = {
    items: batch.items.arraySync(),
    category: batch.categorical.category_list.arraySync(),
    price: batch.continuous.price_list.arraySync(),
  };
  edit(arrays);
  return {
    ...batch,
    items: tf.tensor2d(arrays.items, undefined, "int32"),
    categorical: { category_list: tf.tensor2d(arrays.category, undefined, "int32") },
    continuous: { price_list: tf.tensor2d(arrays.price, undefined, "float32") },
  };
}

/** Largest absolute difference between two tensors' values. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}
