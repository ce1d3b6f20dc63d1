// What every model of this folder is beyond the `NextItemModel` contract: which kind it is, its resolved config
// (enough to rebuild it before loading saved weights), its input block (whose item table a tied head reuses) and
// its blocks in order (for the model summary).
import type { InputBlock } from "./inputs";
import type { OutputHeadConfig } from "./outputs";
import type { NextItemModel } from "./types";

export type ModelKind = "mlp" | "gru" | "lstm" | "transformer" | "core" | "srgnn";

/** One block of a model as the summary lists it: its variables are those named `name` or `name.*`. */
export interface BlockInfo {
  name: string;
  type: string;
  /** Width of its output per state. */
  dim: number;
  /** "sequence": one state per position [batch, seqLen, dim]; "pooled": one per session [batch, dim]. */
  output: "sequence" | "pooled";
}

export interface SessionModel<Config = unknown> extends NextItemModel {
  readonly kind: ModelKind;
  /** The config with every default filled in. */
  readonly config: Config;
  readonly inputs: InputBlock;
  readonly blocks: readonly BlockInfo[];
  /** True when the state at position t depends on events 0..t only (false: bidirectional attention). */
  readonly causal: boolean;
  /** Head settings the model is meant to be scored with (CORE: cosine, temperature 0.07), under the run's own head
   *  config (`createHeadFor`). Absent: the head's defaults. */
  readonly headDefaults?: OutputHeadConfig;
}
