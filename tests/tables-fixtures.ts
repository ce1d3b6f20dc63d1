// Hand-made session tables (lib/loader's SessionTable) for the evaluation tests.
import type { SessionTable } from "../lib/loader";
import type { DatasetSchema } from "../lib/schema";

/** An item-only schema of `nItems` ids (0 padding, 1 OOV) and sessions of up to `maxLength` items. */
export function itemSchemaOf(maxLength: number, nItems: number): DatasetSchema {
  return {
    version: 1,
    sessionId: "session_id",
    item: "item_list",
    maxLength,
    columns: [{ name: "item_list", kind: "item", list: true, dtype: "int32", cardinality: nItems, vocabulary: "item", maxLength }],
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
