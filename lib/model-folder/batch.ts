// Encoded live sessions (lib/data/live.ts rows) → one `SessionBatch`, laid out as the loader lays out a prepared
// split (lib/data/loader.ts): sequences right-padded to the schema's maxLength, oldest event first. Browser-safe (the
// loader itself reads Parquet through DuckDB).
import * as tf from "@tensorflow/tfjs";
import type { EncodedSession } from "../data/live";
import type { SessionBatch } from "../models/types";
import type { DatasetSchema } from "../data/schema";

/**
 * A batch of `rows` for a model trained on `schema`. Sessions longer than `schema.maxLength` keep their last
 * maxLength events. Errors name the session (its index in `rows`) and the column.
 */
export function liveBatch(rows: readonly EncodedSession[], schema: DatasetSchema): SessionBatch {
  const size = rows.length;
  const len = schema.maxLength;
  const lengths = new Int32Array(size);
  const columns = schema.columns.filter((column) => column.kind !== "count");
  const arrays = columns.map((column) => {
    const cells = column.list ? size * len : size;
    return column.dtype === "int32" ? new Int32Array(cells) : new Float32Array(cells);
  });
  rows.forEach((row, r) => {
    const items = row[schema.item];
    if (!Array.isArray(items) || items.length === 0)
      throw new Error(`live session ${r}: no "${schema.item}" list in the encoded session`);
    const skipped = Math.max(0, items.length - len); // the oldest events beyond maxLength
    lengths[r] = items.length - skipped;
    columns.forEach((column, c) => {
      const value = row[column.name];
      const fail = (what: string): never => {
        throw new Error(
          `live session ${r}: column "${column.name}" ${what} (does the workflow match the model's schema?)`,
        );
      };
      if (!column.list) {
        if (typeof value !== "number" || !Number.isFinite(value))
          fail(`is ${JSON.stringify(value)}, expected a number`);
        arrays[c][r] = value as number;
        return;
      }
      if (!Array.isArray(value) || value.length !== items.length)
        fail(`must be a list as long as "${schema.item}" (${items.length})`);
      for (let i = skipped; i < items.length; i++) {
        const v = (value as unknown[])[i];
        if (typeof v !== "number" || !Number.isFinite(v))
          fail(`has ${JSON.stringify(v)} at event ${i} (a missing input value?)`);
        arrays[c][r * len + i - skipped] = v as number;
      }
    });
  });

  const mask = new Float32Array(size * len);
  for (let r = 0; r < size; r++) mask.fill(1, r * len, r * len + lengths[r]);
  const shape: [number, number] = [size, len];
  const tensors = (keep: (list: boolean, kind: string) => boolean): Record<string, tf.Tensor> =>
    Object.fromEntries(
      columns.flatMap((column, c) =>
        keep(column.list, column.kind)
          ? [
              [
                column.name,
                column.list ? tf.tensor2d(arrays[c], shape, column.dtype) : tf.tensor1d(arrays[c], column.dtype),
              ],
            ]
          : [],
      ),
    );
  return {
    items: tensors((list, kind) => list && kind === "item")[schema.item] as tf.Tensor2D,
    categorical: tensors((list, kind) => list && kind === "categorical") as Record<string, tf.Tensor2D>,
    continuous: tensors((list, kind) => list && kind === "continuous") as Record<string, tf.Tensor2D>,
    context: tensors((list) => !list) as Record<string, tf.Tensor1D>,
    mask: tf.tensor2d(mask, shape, "float32"),
    lengths: tf.tensor1d(lengths, "int32"),
    size,
  };
}
