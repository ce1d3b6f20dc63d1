// Save and load named weights as a folder a browser can fetch:
//   weights.json  manifest: format tag, version, total byte length and one entry per tensor (name, shape, dtype,
//                 byte offset, byte length), in file order;
//   weights.bin   the tensors' values concatenated, little-endian float32 / int32, no padding;
//   config.json   whatever JSON the caller wants to keep beside the weights (model config, vocabulary sizes, …).
// `encodeWeights` / `decodeWeights` are pure (no file system), so a web page can `fetch` both files and decode them;
// `encodeArrays` / `decodeArrays` are the same format for plain typed arrays (a fitted baseline's state, no tfjs);
// checkpoint-files.ts reads and writes such folders on disk.
import * as tf from "@tensorflow/tfjs";

export const WEIGHTS_FILE = "weights.bin";
export const MANIFEST_FILE = "weights.json";
export const CONFIG_FILE = "config.json";
const FORMAT = "sessionrec-weights";
const FORMAT_VERSION = 1;
const BYTES_PER_VALUE = 4;

export type WeightDtype = "float32" | "int32";

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  /** Byte offset of the first value in weights.bin. */
  offset: number;
  /** Number of bytes: product(shape) × 4. */
  byteLength: number;
}

export interface WeightManifest {
  format: typeof FORMAT;
  version: number;
  /** Size of weights.bin in bytes. */
  byteLength: number;
  weights: WeightEntry[];
}

// Typed arrays use the host's byte order; the file format is little-endian, which every platform tfjs runs on is.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndian(): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error("checkpoint: weights files are little-endian; this host is big-endian");
}

/** Named typed arrays, the values of a weights file without tfjs (a baseline's fitted state, for one). */
export type WeightArrays = Record<string, { values: Float32Array | Int32Array; shape: number[] }>;

/** Serialises tensors (in the record's key order) into a manifest and one contiguous byte buffer. */
export async function encodeWeights(
  tensors: Record<string, tf.Tensor>,
): Promise<{ manifest: WeightManifest; data: Uint8Array }> {
  const arrays: WeightArrays = {};
  for (const [name, tensor] of Object.entries(tensors)) {
    if (tensor.dtype !== "float32" && tensor.dtype !== "int32") {
      throw new Error(`checkpoint: tensor "${name}" has dtype ${tensor.dtype}; only float32 and int32 can be saved`);
    }
    arrays[name] = { values: (await tensor.data()) as Float32Array | Int32Array, shape: [...tensor.shape] };
  }
  return encodeArrays(arrays);
}

/** Serialises typed arrays (in the record's key order) as `encodeWeights` does tensors: the same two files. */
export function encodeArrays(arrays: WeightArrays): { manifest: WeightManifest; data: Uint8Array } {
  requireLittleEndian();
  const weights: WeightEntry[] = [];
  let offset = 0;
  for (const [name, { values, shape }] of Object.entries(arrays)) {
    const dtype: WeightDtype = values instanceof Float32Array ? "float32" : "int32";
    if (shape.reduce((a, b) => a * b, 1) !== values.length)
      throw new Error(`checkpoint: "${name}" has ${values.length} values but shape [${shape}]`);
    const byteLength = values.length * BYTES_PER_VALUE;
    weights.push({ name, shape: [...shape], dtype, offset, byteLength });
    offset += byteLength;
  }
  const data = new Uint8Array(offset);
  weights.forEach((entry) => {
    const { values } = arrays[entry.name];
    data.set(new Uint8Array(values.buffer, values.byteOffset, entry.byteLength), entry.offset);
  });
  return { manifest: { format: FORMAT, version: FORMAT_VERSION, byteLength: offset, weights }, data };
}

/** Checks a parsed weights.json; `source` names the file in errors. */
export function parseManifest(json: unknown, source: string): WeightManifest {
  function fail(what: string): never {
    throw new Error(`checkpoint: ${source}: ${what}`);
  }
  if (typeof json !== "object" || json === null) fail("expected a JSON object");
  const m = json as Partial<WeightManifest>;
  if (m.format !== FORMAT) fail(`expected "format": "${FORMAT}", got ${JSON.stringify(m.format)}`);
  if (m.version !== FORMAT_VERSION)
    fail(`unsupported version ${JSON.stringify(m.version)}; expected ${FORMAT_VERSION}`);
  if (!Number.isInteger(m.byteLength) || (m.byteLength as number) < 0) fail(`"byteLength" must be an integer >= 0`);
  if (!Array.isArray(m.weights)) fail(`"weights" must be an array`);
  const seen = new Set<string>();
  for (const [i, e] of (m.weights as WeightEntry[]).entries()) {
    const where = `weights[${i}]${typeof e?.name === "string" ? ` ("${e.name}")` : ""}`;
    if (typeof e?.name !== "string" || e.name === "") fail(`${where}: "name" must be a non-empty string`);
    if (seen.has(e.name)) fail(`${where}: duplicate name`);
    seen.add(e.name);
    if (e.dtype !== "float32" && e.dtype !== "int32") fail(`${where}: dtype must be float32 or int32, got ${e.dtype}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`${where}: "shape" must be an array of integers >= 0`);
    }
    const expectedBytes = e.shape.reduce((a, b) => a * b, 1) * BYTES_PER_VALUE;
    if (e.byteLength !== expectedBytes)
      fail(`${where}: byteLength ${e.byteLength} but shape [${e.shape}] needs ${expectedBytes}`);
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset % BYTES_PER_VALUE !== 0) {
      fail(`${where}: "offset" must be a non-negative multiple of ${BYTES_PER_VALUE}`);
    }
    if (e.offset + e.byteLength > (m.byteLength as number)) {
      fail(`${where}: bytes [${e.offset}, ${e.offset + e.byteLength}) run past byteLength ${m.byteLength}`);
    }
  }
  return m as WeightManifest;
}

/** Tensors named as in the manifest, read from the bytes of weights.bin. The caller owns (disposes) them. */
export function decodeWeights(manifest: WeightManifest, data: Uint8Array): Record<string, tf.Tensor> {
  const arrays = decodeArrays(manifest, data);
  return Object.fromEntries(
    Object.entries(arrays).map(([name, { values, shape }]) => [
      name,
      tf.tensor(values, shape, values instanceof Float32Array ? "float32" : "int32"),
    ]),
  );
}

/** The typed arrays named in the manifest, read from the bytes of weights.bin (the inverse of `encodeArrays`). */
export function decodeArrays(manifest: WeightManifest, data: Uint8Array): WeightArrays {
  requireLittleEndian();
  if (data.byteLength !== manifest.byteLength) {
    throw new Error(
      `checkpoint: ${WEIGHTS_FILE} has ${data.byteLength} bytes but ${MANIFEST_FILE} expects ${manifest.byteLength} ` +
        `(truncated or from another save?)`,
    );
  }
  const arrays: WeightArrays = {};
  for (const e of manifest.weights) {
    // Copy into a fresh, aligned buffer: `data` may sit at any byte offset of a larger buffer.
    const bytes = data.slice(e.offset, e.offset + e.byteLength);
    arrays[e.name] = {
      values: e.dtype === "float32" ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer),
      shape: [...e.shape],
    };
  }
  return arrays;
}

export interface AssignOptions {
  /** Fail when `weights` holds names that no variable has (default true). Missing variables always fail. */
  strict?: boolean;
}

/**
 * Copies `weights` into same-named `variables`, after checking that every variable has a weight with the same shape
 * and dtype (nothing is assigned when a check fails). Does not dispose `weights`.
 */
export function assignWeights(
  variables: Record<string, tf.Variable>,
  weights: Record<string, tf.Tensor>,
  options: AssignOptions = {},
): void {
  const { strict = true } = options;
  for (const [name, variable] of Object.entries(variables)) {
    const weight = weights[name];
    if (weight === undefined) {
      throw new Error(
        `assignWeights: no weight for variable "${name}" (checkpoint has: ${Object.keys(weights).join(", ")})`,
      );
    }
    if (!tf.util.arraysEqual(weight.shape, variable.shape)) {
      throw new Error(
        `assignWeights: variable "${name}" has shape [${variable.shape}] but the weight has shape [${weight.shape}]`,
      );
    }
    if (weight.dtype !== variable.dtype) {
      throw new Error(
        `assignWeights: variable "${name}" has dtype ${variable.dtype} but the weight has dtype ${weight.dtype}`,
      );
    }
  }
  if (strict) {
    const unused = Object.keys(weights).filter((name) => !(name in variables));
    if (unused.length > 0) {
      throw new Error(
        `assignWeights: checkpoint weights with no matching variable: ${unused.join(", ")} (pass strict: false to ignore)`,
      );
    }
  }
  for (const [name, variable] of Object.entries(variables)) variable.assign(weights[name]);
}
