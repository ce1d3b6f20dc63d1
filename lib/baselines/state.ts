// A fitted baseline's state as named typed arrays, and the checks each baseline's `restore` runs on one read
// back from a file (lib/baselines/saved.ts lists the arrays of each kind).
import { FIRST_CANDIDATE } from "../metrics/rank";

/** A fitted baseline's state: named typed arrays. */
export type BaselineState = Record<string, Float32Array | Int32Array>;

/** The state's layout is not the kind's (a missing array, a wrong dtype or length): weights.json is at fault. */
export class StateLayoutError extends Error {}

/** `state[name]`, checked to be a `dtype` array of `length` values (any length when null). */
export function stateArray<D extends "float32" | "int32">(
  state: BaselineState,
  name: string,
  dtype: D,
  length: number | null,
): D extends "float32" ? Float32Array : Int32Array {
  const values = state[name];
  if (values === undefined)
    throw new StateLayoutError(`no state array "${name}" (the state has ${Object.keys(state).join(", ") || "none"})`);
  const actual = values instanceof Float32Array ? "float32" : "int32";
  if (actual !== dtype) throw new StateLayoutError(`state array "${name}" is ${actual}, expected ${dtype}`);
  if (length !== null && values.length !== length)
    throw new StateLayoutError(`state array "${name}" has ${values.length} values, expected ${length}`);
  return values as D extends "float32" ? Float32Array : Int32Array;
}

/** Throws unless `start` is a row-offset array over `total` entries: 0 first, never decreasing, `total` last. */
export function checkOffsets(start: Int32Array, total: number, name: string): void {
  if (start.length === 0 || start[0] !== 0) throw new Error(`state array "${name}" must start at 0`);
  for (let r = 1; r < start.length; r++) {
    if (start[r] < start[r - 1])
      throw new Error(`state array "${name}" decreases at index ${r} (${start[r - 1]} → ${start[r]})`);
  }
  if (start[start.length - 1] !== total)
    throw new Error(
      `state array "${name}" ends at ${start[start.length - 1]}, expected ${total} (the entries it indexes)`,
    );
}

/** Throws unless every value is a known item id (2..nItems-1). */
export function checkItemIds(values: Int32Array, nItems: number, name: string): void {
  const at = values.findIndex((id) => id < FIRST_CANDIDATE || id >= nItems);
  if (at >= 0)
    throw new Error(
      `state array "${name}" holds ${values[at]} at index ${at}, outside the known item ids ${FIRST_CANDIDATE}..${nItems - 1}`,
    );
}

/** Throws unless every value is a finite number >= 0 (below `below` when given). */
export function checkCounts(values: Float32Array, name: string, below = Infinity): void {
  const at = values.findIndex((value) => !(Number.isFinite(value) && value >= 0 && value < below));
  if (at >= 0)
    throw new Error(
      `state array "${name}" holds ${values[at]} at index ${at} (expected a finite number >= 0${below < Infinity ? ` and < ${below}` : ""})`,
    );
}
