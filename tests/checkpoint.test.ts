import * as tf from "@tensorflow/tfjs";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assignWeights, decodeWeights, parseManifest, type WeightManifest } from "../lib/model-folder/checkpoint";
import { loadCheckpoint, loadWeights, saveCheckpoint } from "../lib/model-folder/checkpoint-files";

let root: string;

beforeAll(async () => {
  await tf.setBackend("cpu");
  root = mkdtempSync(join(tmpdir(), "sessionrec-checkpoint-"));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Float32 values whose bits a lossy path would change: -0, subnormal, extremes, ±Infinity, NaN. */
const TRICKY_FLOATS = [0.1, -0, 1.4e-45, 3.4028234663852886e38, -Infinity, Infinity, NaN, -123.456];

function bits(values: Float32Array | Int32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

function makeWeights(): Record<string, tf.Tensor> {
  return {
    "encoder/embedding": tf.tensor2d(TRICKY_FLOATS, [4, 2]),
    "encoder/ids": tf.tensor1d([-2147483648, 2147483647, 0, -1], "int32"),
    "head/bias": tf.scalar(2.5),
    "head/empty": tf.zeros([0, 3]),
  };
}

describe("saveCheckpoint / loadWeights", () => {
  it("round-trips values bit for bit, with the documented manifest", async () => {
    const dir = join(root, "roundtrip");
    const saved = makeWeights();
    await saveCheckpoint(dir, saved, { dim: 8, name: "test" });

    const manifest = JSON.parse(readFileSync(join(dir, "weights.json"), "utf8")) as WeightManifest;
    expect(manifest.byteLength).toBe(32 + 16 + 4 + 0);
    expect(manifest.weights).toEqual([
      { name: "encoder/embedding", shape: [4, 2], dtype: "float32", offset: 0, byteLength: 32 },
      { name: "encoder/ids", shape: [4], dtype: "int32", offset: 32, byteLength: 16 },
      { name: "head/bias", shape: [], dtype: "float32", offset: 48, byteLength: 4 },
      { name: "head/empty", shape: [0, 3], dtype: "float32", offset: 52, byteLength: 0 },
    ]);
    // Little-endian on disk: 2.5f = 0x40200000 at offset 48.
    const bin = readFileSync(join(dir, "weights.bin"));
    expect(Array.from(bin.subarray(48, 52))).toEqual([0x00, 0x00, 0x20, 0x40]);

    const { weights, config } = loadCheckpoint(dir);
    expect(config).toEqual({ dim: 8, name: "test" });
    expect(Object.keys(weights)).toEqual(Object.keys(saved));
    for (const [name, tensor] of Object.entries(saved)) {
      expect(weights[name].shape).toEqual(tensor.shape);
      expect(weights[name].dtype).toBe(tensor.dtype);
      expect(bits(weights[name].dataSync() as Float32Array)).toEqual(bits(tensor.dataSync() as Float32Array));
    }
    tf.dispose([Object.values(saved), Object.values(weights)]);
  });

  it("replaces an existing checkpoint and leaves no temporary folders", async () => {
    const dir = join(root, "replace");
    await saveCheckpoint(dir, { a: tf.tensor1d([1, 2]) }, { run: 1 });
    await saveCheckpoint(dir, { b: tf.tensor1d([3, 4, 5]) });
    const { weights, config } = loadCheckpoint(dir);
    expect(Object.keys(weights)).toEqual(["b"]);
    expect(Array.from(weights.b.dataSync())).toEqual([3, 4, 5]);
    expect(config).toBeNull(); // the second save had no config: the old config.json must be gone
    expect(readdirSync(root).filter((f) => f.includes("tmp"))).toEqual([]);
  });

  it("decodes from a byte view that does not start at offset 0 of its buffer", () => {
    const manifest = parseManifest(
      {
        format: "sessionrec-weights",
        version: 1,
        byteLength: 8,
        weights: [{ name: "w", shape: [2], dtype: "float32", offset: 0, byteLength: 8 }],
      },
      "inline",
    );
    const backing = new Uint8Array(9);
    backing.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 1);
    const { w } = decodeWeights(manifest, backing.subarray(1));
    expect(Array.from(w.dataSync())).toEqual([1.5, -2]);
    w.dispose();
  });
});

describe("corrupt or missing checkpoints", () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(root, "corrupt");
    await saveCheckpoint(dir, { w: tf.tensor2d([1, 2, 3, 4], [2, 2]) });
  });

  /** A copy of the checkpoint with its files edited; `bin: null` leaves weights.bin out. */
  function copyWith(name: string, edit: (files: { manifest: string; bin: Buffer | null }) => void): string {
    const files = {
      manifest: readFileSync(join(dir, "weights.json"), "utf8"),
      bin: readFileSync(join(dir, "weights.bin")) as Buffer | null,
    };
    edit(files);
    const copy = join(root, name);
    mkdirSync(copy);
    writeFileSync(join(copy, "weights.json"), files.manifest);
    if (files.bin) writeFileSync(join(copy, "weights.bin"), files.bin);
    return copy;
  }

  it("names the missing folder/file", () => {
    expect(() => loadWeights(join(root, "does-not-exist"))).toThrow(/does-not-exist.*weights\.json not found/);
    const noBin = copyWith("no-bin", (f) => (f.bin = null));
    expect(() => loadWeights(noBin)).toThrow(/no-bin.*weights\.bin not found/);
  });

  it("rejects a truncated weights.bin", () => {
    const truncated = copyWith("truncated", (f) => (f.bin = f.bin!.subarray(0, 12)));
    expect(() => loadWeights(truncated)).toThrow(/weights\.bin has 12 bytes but weights\.json expects 16/);
  });

  it("rejects invalid JSON and inconsistent manifests", () => {
    const badJson = copyWith("bad-json", (f) => (f.manifest = f.manifest.slice(0, 20)));
    expect(() => loadWeights(badJson)).toThrow(/bad-json.*weights\.json is not valid JSON/);
    const badShape = copyWith("bad-shape", (f) => {
      const manifest = JSON.parse(f.manifest) as WeightManifest;
      manifest.weights[0].shape = [3, 2];
      f.manifest = JSON.stringify(manifest);
    });
    expect(() => loadWeights(badShape)).toThrow(/weights\[0\] \("w"\): byteLength 16 but shape \[3,2\] needs 24/);
    const badDtype = copyWith("bad-dtype", (f) => (f.manifest = f.manifest.replace('"float32"', '"float16"')));
    expect(() => loadWeights(badDtype)).toThrow(/weights\[0\] \("w"\): dtype must be float32 or int32, got float16/);
    const badFormat = copyWith("bad-format", (f) => (f.manifest = JSON.stringify({ weights: [] })));
    expect(() => loadWeights(badFormat)).toThrow(/expected "format": "sessionrec-weights"/);
  });
});

describe("assignWeights", () => {
  it("copies values into variables after checking every name and shape", () => {
    const variables = { a: tf.variable(tf.zeros([2, 2])), b: tf.variable(tf.zeros([3])) };
    const weights = { a: tf.tensor2d([1, 2, 3, 4], [2, 2]), b: tf.tensor1d([5, 6, 7]) };
    assignWeights(variables, weights);
    expect(Array.from(variables.a.dataSync())).toEqual([1, 2, 3, 4]);
    expect(Array.from(variables.b.dataSync())).toEqual([5, 6, 7]);

    const wrongShape = { a: tf.zeros([2, 3]), b: tf.zeros([3]) };
    expect(() => assignWeights(variables, wrongShape)).toThrow(
      'variable "a" has shape [2,2] but the weight has shape [2,3]',
    );
    expect(() => assignWeights(variables, { a: weights.a })).toThrow('no weight for variable "b"');
    const extra = { ...weights, c: tf.scalar(1) };
    expect(() => assignWeights(variables, extra)).toThrow("checkpoint weights with no matching variable: c");
    assignWeights(variables, extra, { strict: false });
    // A failed check assigns nothing: `a` still holds the first values.
    expect(() => assignWeights(variables, { a: tf.fill([2, 2], 9), b: tf.zeros([4]) })).toThrow('variable "b"');
    expect(Array.from(variables.a.dataSync())).toEqual([1, 2, 3, 4]);
  });
});
