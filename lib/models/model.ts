// What every model of this folder is beyond the `NextItemModel` contract: which kind it is, its resolved config
// (enough to rebuild it before loading saved weights) and its input block (whose item table a tied head reuses).
import type { InputBlock } from "./inputs";
import type { NextItemModel } from "./types";

export type ModelKind = "mlp" | "gru" | "lstm" | "transformer";

export interface SessionModel<Config = unknown> extends NextItemModel {
  readonly kind: ModelKind;
  /** The config with every default filled in. */
  readonly config: Config;
  readonly inputs: InputBlock;
}
