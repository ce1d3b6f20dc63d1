// Reminders for a baseline (as lib/models/reminders.ts for the neural models): the items the session already holds
// raised by `bonus` × the row's largest score. A neighbourhood method's scores have no fixed scale (sums of
// similarities), so the bonus is relative to the row's best; 1000 puts the session's items first.
import { FIRST_CANDIDATE } from "../metrics/rank";
import type { Recommender } from "./recommender";
import type { SavableBaseline } from "./saved";
import type { BaselineState } from "./state";

/** The bonuses a run tries on validation (relative to each row's largest score). */
export const BASELINE_REMINDER_BONUSES: readonly number[] = [0, 0.05, 0.1, 0.25, 0.5, 1, 2, 1000];

/** The session's distinct known items (ids >= 2). */
function distinctKnown(session: Int32Array): number[] {
  const seen = new Set<number>();
  for (let j = 0; j < session.length; j++) if (session[j] >= FIRST_CANDIDATE) seen.add(session[j]);
  return [...seen];
}

/**
 * Sets the score of each of `items` to its score in `raw` + bonus × the largest score of `raw` over the known ids
 * (1 when none is positive). `scores` and `raw` may be the same array.
 */
export function remind(raw: Float32Array, scores: Float32Array, items: readonly number[], bonus: number): void {
  let best = 0;
  for (let id = FIRST_CANDIDATE; id < raw.length; id++) if (raw[id] > best) best = raw[id];
  const unit = best > 0 ? best : 1;
  const base = items.map((id) => raw[id]);
  items.forEach((id, i) => (scores[id] = base[i] + bonus * unit));
}

/**
 * Host rows of one baseline score for several bonuses: `apply(bonus)` rewrites the session's items from their raw
 * scores, so every bonus gives the bits a single call does.
 */
export class BaselineReminders {
  private readonly items: number[];
  private readonly raw: Float32Array;

  constructor(
    private readonly scores: Float32Array,
    session: Int32Array,
  ) {
    this.items = distinctKnown(session);
    this.raw = Float32Array.from(scores);
  }

  apply(bonus: number): Float32Array {
    remind(this.raw, this.scores, this.items, bonus);
    return this.scores;
  }
}

/** A baseline whose scores carry a reminder bonus; saved as its inner baseline with `reminderBonus` in its config. */
export class RemindingBaseline implements SavableBaseline {
  /**
   * @param bonus the reminder bonus (relative to each row's largest score).
   * @param chooseOnValidation a run (lib/evaluate/run.ts `runBaselinesOn`) sets `bonus` from the validation split.
   */
  constructor(
    readonly inner: SavableBaseline,
    public bonus: number,
    readonly chooseOnValidation = false,
  ) {
    if (!(Number.isFinite(bonus) && bonus >= 0))
      throw new Error(`${inner.name}: reminderBonus must be a number >= 0, got ${bonus}`);
  }

  get name(): SavableBaseline["name"] {
    return this.inner.name;
  }

  get nItems(): number {
    return this.inner.nItems;
  }

  get config(): Record<string, unknown> {
    return { ...this.inner.config, reminderBonus: this.bonus };
  }

  fit(sessions: readonly Int32Array[]): void {
    this.inner.fit(sessions);
  }

  score(session: Int32Array, out?: Float32Array): Float32Array {
    const scores = this.inner.score(session, out);
    if (this.bonus !== 0) remind(scores, scores, distinctKnown(session), this.bonus);
    return scores;
  }

  state(): BaselineState {
    return this.inner.state();
  }

  restore(state: BaselineState): void {
    this.inner.restore(state);
  }
}

/** The scores `recommender` gives before any reminder bonus. */
export function withoutReminders(recommender: Recommender): Recommender {
  return recommender instanceof RemindingBaseline ? recommender.inner : recommender;
}
