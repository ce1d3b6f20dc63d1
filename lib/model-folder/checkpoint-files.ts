// Checkpoint folders on disk (the format is checkpoint.ts's): `saveCheckpoint` writes weights.json/.bin and an
// optional config.json all or nothing, `loadWeights` / `loadCheckpoint` read them back. Node only.
import * as tf from "@tensorflow/tfjs";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import {
  CONFIG_FILE,
  MANIFEST_FILE,
  WEIGHTS_FILE,
  type WeightManifest,
  decodeWeights,
  encodeWeights,
  parseManifest,
} from "./checkpoint";

export interface Checkpoint {
  weights: Record<string, tf.Tensor>;
  /** Contents of config.json, or null when the checkpoint has none. */
  config: unknown;
}

/**
 * Writes `tensors` (and `config`, when given, as config.json) to `dir`, replacing any previous checkpoint there.
 * Files go to a temporary sibling folder first, which is then renamed into place, so `dir` never holds a half-written
 * checkpoint.
 */
export async function saveCheckpoint(dir: string, tensors: Record<string, tf.Tensor>, config?: unknown): Promise<void> {
  const target = resolve(dir);
  const { manifest, data } = await encodeWeights(tensors);
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.tmp-${randomUUID()}`);
  mkdirSync(temp);
  try {
    writeFileSync(join(temp, WEIGHTS_FILE), data);
    writeFileSync(join(temp, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + "\n");
    if (config !== undefined) writeFileSync(join(temp, CONFIG_FILE), JSON.stringify(config, null, 2) + "\n");
    // rename() cannot replace a non-empty folder: move the old one aside, swap, then delete it.
    const previous = existsSync(target) ? `${temp}-previous` : null;
    if (previous) renameSync(target, previous);
    renameSync(temp, target);
    if (previous) rmSync(previous, { recursive: true, force: true });
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

function readRequired(dir: string, file: string): Buffer {
  const path = join(dir, file);
  if (!existsSync(path))
    throw new Error(`checkpoint: ${path} not found (is ${dir} a folder written by saveCheckpoint?)`);
  return readFileSync(path);
}

function parseJsonFile(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`checkpoint: ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** weights.json (checked) and the bytes of weights.bin of a checkpoint or model folder; errors name the file. */
export function readWeightFiles(dir: string): { manifest: WeightManifest; data: Uint8Array } {
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifest = parseManifest(
    parseJsonFile(manifestPath, readRequired(dir, MANIFEST_FILE).toString("utf8")),
    manifestPath,
  );
  const data = readRequired(dir, WEIGHTS_FILE);
  return { manifest, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Reads the named tensors of a checkpoint folder. The caller owns (disposes) them. */
export function loadWeights(dir: string): Record<string, tf.Tensor> {
  const { manifest, data } = readWeightFiles(dir);
  return decodeWeights(manifest, data);
}

/** Weights plus config.json (null when absent). */
export function loadCheckpoint(dir: string): Checkpoint {
  const weights = loadWeights(dir);
  const configPath = join(dir, CONFIG_FILE);
  const config = existsSync(configPath) ? parseJsonFile(configPath, readFileSync(configPath, "utf8")) : null;
  return { weights, config };
}
