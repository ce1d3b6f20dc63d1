// Session tables for the tests: hand-made ones (lib/data/loader's SessionTable), and prepared splits read back as arrays.
import { readSplit, type SessionTable } from "../../lib/data/index";
import type { DatasetSchema } from "../../lib/data/index";

/** An item-only schema of `nItems` ids (0 padding, 1 OOV) and sessions of up to `maxLength` items. */
export function itemSchemaOf(maxLength: number, nItems: number): DatasetSchema {
  return {
    version: 1,
    sessionId: "session_id",
    item: "item_list",
    maxLength,
    columns: [
      {
        name: "item_list",
        kind: "item",
        list: true,
        dtype: "int32",
        cardinality: nItems,
        vocabulary: "item",
        maxLength,
      },
    ],
  };
}

/** A table of the given sessions, right-padded to the longest. */
export function tableOf(sessions: number[][], nItems: number): SessionTable {
  const maxLength = Math.max(...sessions.map((s) => s.length));
  const items = new Int32Array(sessions.length * maxLength);
  sessions.forEach((s, r) => items.set(s, r * maxLength));
  return {
    schema: itemSchemaOf(maxLength, nItems),
    numSessions: sessions.length,
    maxLength,
    lengths: Int32Array.from(sessions, (s) => s.length),
    items,
    categorical: {},
    continuous: {},
    context: {},
  };
}

/** The written sessions of a prepared split (`<dir>/<split>.parquet`) as arrays of item ids. */
export async function splitRows(dir: string, split: string): Promise<number[][]> {
  const table = await readSplit(dir, split);
  return Array.from(table.lengths, (length, s) =>
    Array.from(table.items.subarray(s * table.maxLength, s * table.maxLength + length)),
  );
}
