// Saving a fitted baseline: its kind, its config and its fitted state as named typed arrays, which a model folder
// stores as weights.json + weights.bin (lib/model-folder/baseline.ts), and the way back. Pure JS: a web page
// restores a baseline from fetched files.
//
// State arrays per kind (ids are the encoded item ids of the schema's item column, 2..nItems-1):
//   most-popular      counts          float32 [nItems]        training occurrences per item id
//   successor-counts  start           int32   [nItems + 1]    row r's successors are successors[start[r]..start[r+1])
//                     successors      int32   [transitions]   ascending within a row
//                     counts          float32 [transitions]   times that successor followed the row's item
//                     popularityShare float32 [nItems]        occurrences / (max occurrences + 1)
//   v-sknn            sessionStart    int32   [sessions + 1]  session s's items are sessionItems[sessionStart[s]..[s+1])
//                     sessionItems    int32   [entries]       distinct items of each training session, in time order
//   vstan             sessionStart    int32   [sessions + 1]  as v-sknn's
//                     sessionItems    int32   [entries]       as v-sknn's
//                     sessionPositions int32  [entries]       1-based position of the entry's last occurrence in its session
//                     itemOccurrences float32 [nItems]        training occurrences per item id (repeats counted; the IDF)
import { MostPopular } from "./popularity";
import type { Recommender } from "./recommender";
import { RemindingBaseline } from "./reminders";
import type { BaselineState } from "./state";
import { SessionKnn, type SessionKnnConfig } from "./sknn";
import { SuccessorCounts } from "./successor";
import { Vstan, type VstanConfig } from "./vstan";

export const BASELINE_KINDS = ["most-popular", "successor-counts", "v-sknn", "vstan"] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

/** A baseline that can be saved: its kind (`name`), its config, and its fitted state. */
export interface SavableBaseline extends Recommender {
  readonly name: BaselineKind;
  /** What rebuilds it before its state is restored (every default filled in). */
  readonly config: Record<string, unknown>;
  /** The fitted state (the arrays themselves, not copies). Throws when not fitted. */
  state(): BaselineState;
  /** Takes a state read back (instead of `fit`), after checking it: a StateLayoutError when its arrays are not the
   *  kind's, an Error naming the array and index of a bad value. */
  restore(state: BaselineState): void;
}

export function isBaselineKind(kind: unknown): kind is BaselineKind {
  return BASELINE_KINDS.includes(kind as BaselineKind);
}

/** The unfitted baseline of `kind` with `config` (as `config` returned it); errors say what in the config is wrong.
 *  `config.reminderBonus` (any kind) wraps it in a RemindingBaseline (./reminders.ts). */
export function createBaseline(kind: BaselineKind, nItems: number, config: Record<string, unknown>): SavableBaseline {
  const { reminderBonus, ...own } = config;
  const baseline = createPlainBaseline(kind, nItems, own);
  return reminderBonus === undefined ? baseline : new RemindingBaseline(baseline, reminderBonus as number);
}

function createPlainBaseline(kind: BaselineKind, nItems: number, config: Record<string, unknown>): SavableBaseline {
  switch (kind) {
    case "most-popular":
      return new MostPopular(nItems);
    case "successor-counts":
      return new SuccessorCounts(nItems);
    case "v-sknn":
      return new SessionKnn(nItems, config as SessionKnnConfig);
    case "vstan":
      return new Vstan(nItems, config as VstanConfig);
    default:
      throw new Error(`unknown baseline kind ${JSON.stringify(kind)} (expected one of ${BASELINE_KINDS.join(", ")})`);
  }
}

/** The baseline of `kind` holding `state`; a StateLayoutError for a state of the wrong layout, an Error for bad values. */
export function restoreBaseline(
  kind: BaselineKind,
  nItems: number,
  config: Record<string, unknown>,
  state: BaselineState,
): SavableBaseline {
  const baseline = createBaseline(kind, nItems, config);
  baseline.restore(state);
  return baseline;
}
