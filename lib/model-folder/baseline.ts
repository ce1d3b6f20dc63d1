// A model folder that holds a fitted baseline (most-popular, successor counts, V-SKNN, VSTAN) instead of a neural model:
// the same files, weights.json + weights.bin holding the baseline's state arrays (lib/baselines/saved.ts). Raw
// sessions are encoded by the saved workflow's live encoder exactly as for a neural folder (the same errors on bad
// events; unknown items become OOV, which baselines ignore), the item ids of each session, its last maxLength
// events as a neural model reads them, are scored by the baseline, and the top k decoded through the item
// vocabulary. Browser-safe: no file system, no tfjs.
import { fittedVocabulary, type FittedWorkflow } from "../data/fitted";
import type { LiveEncoder, RawSession } from "../data/live";
import { type SavableBaseline, createBaseline, isBaselineKind } from "../baselines/saved";
import { type BaselineState, StateLayoutError } from "../baselines/state";
import { topKRow } from "../metrics/rank";
import { type WeightManifest, decodeArrays } from "./checkpoint";
import { checkRecommendCall } from "./request";
import type { ModelFolderManifest, Recommendation, RecommenderModel } from "./types";

/** How errors name the folder's files (paths or URLs). */
export interface BaselineFiles {
  manifest: string;
  weightManifest: string;
  weights: string;
}

/** The item cardinality of the manifest's schema (the baseline's nItems). */
function itemCardinality(manifest: ModelFolderManifest): number {
  const { schema } = manifest;
  return schema.columns.find((column) => column.name === schema.item)?.cardinality ?? 0;
}

/**
 * The baseline model.json describes, holding the state of weights.json + weights.bin; errors name the file at
 * fault: model.json for a config it cannot build, weights.json for state arrays that are not the kind's,
 * weights.bin for bytes or values that are not a valid state.
 */
export function restoreFolderBaseline(
  manifest: ModelFolderManifest,
  weightManifest: WeightManifest,
  bytes: Uint8Array,
  files: BaselineFiles,
): SavableBaseline {
  const kind = manifest.kind;
  if (!isBaselineKind(kind)) throw new Error(`${files.manifest}: "kind" ${JSON.stringify(kind)} is not a baseline`);
  let baseline: SavableBaseline;
  try {
    baseline = createBaseline(kind, itemCardinality(manifest), manifest.config as Record<string, unknown>);
  } catch (error) {
    throw new Error(`${files.manifest}: cannot build the ${kind} baseline it describes: ${(error as Error).message}`);
  }
  let state: BaselineState;
  try {
    state = Object.fromEntries(
      Object.entries(decodeArrays(weightManifest, bytes)).map(([name, { values }]) => [name, values]),
    );
  } catch (error) {
    throw new Error(`${files.weights}: ${(error as Error).message}`);
  }
  try {
    baseline.restore(state);
  } catch (error) {
    if (error instanceof StateLayoutError)
      throw new Error(
        `${files.weightManifest} does not fit the ${kind} baseline of ${files.manifest}: ${error.message}`,
      );
    throw new Error(`${files.weights}: ${(error as Error).message}: the file is corrupt`);
  }
  return baseline;
}

/** A RecommenderModel over a restored baseline (see the top of this file). */
export function baselineRecommender(
  manifest: ModelFolderManifest,
  baseline: SavableBaseline,
  workflow: FittedWorkflow,
  encoder: LiveEncoder,
): RecommenderModel {
  const { schema } = manifest;
  const itemColumn = schema.columns.find((column) => column.name === schema.item);
  const items = fittedVocabulary(workflow, itemColumn?.vocabulary as string).values; // id i + 2 ↔ items[i]
  const scores = new Float32Array(baseline.nItems); // reused by every session
  let disposed = false;

  const recommendBatch = async (sessions: readonly RawSession[], k: number): Promise<Recommendation[]> => {
    checkRecommendCall(manifest.name, disposed, sessions, k, items.length);
    return encoder.encode(sessions).map((row, r) => {
      const ids = row[schema.item];
      if (!Array.isArray(ids) || ids.length === 0)
        throw new Error(`live session ${r}: no "${schema.item}" list in the encoded session`);
      baseline.score(Int32Array.from(ids.slice(-schema.maxLength) as number[]), scores);
      const best = topKRow(scores, k, `recommend (${manifest.name})`);
      return { items: Array.from(best, (id) => items[id - 2]), scores: Array.from(best, (id) => scores[id]) };
    });
  };

  return {
    manifest,
    recommend: async (session, k) => (await recommendBatch([session], k))[0],
    recommendBatch,
    dispose: () => {
      disposed = true;
    },
  };
}
