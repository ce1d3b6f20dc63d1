// Reminders for a baseline (as lib/models/reminders.ts for the neural models): the items the session already holds
// raised by `bonus` × the row's largest score. A neighbourhood method's scores have no fixed scale (sums of
// similarities), so the bonus is relative to the row's best; 1000 puts the session's items first.
import { FIRST_CANDIDATE } from "../metrics/rank";
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
 * One row of baseline scores with its session's items raised: `apply(bonus)` sets each of them to its raw score +
 * bonus × the row's largest raw score over the known ids (1 when none is positive), in place, always from the raw
 * scores, so that trying several bonuses on one row gives each the bits a single call does.
 */
export class BaselineReminders {
  private readonly items: number[];
  private readonly raw: number[];
  private readonly unit: number;

  constructor(
    private readonly scores: Float32Array,
    session: Int32Array,
  ) {
    this.items = distinctKnown(session);
    this.raw = this.items.map((id) => scores[id]);
    let best = 0;
    for (let id = FIRST_CANDIDATE; id < scores.length; id++) if (scores[id] > best) best = scores[id];
    this.unit = best > 0 ? best : 1;
  }

  apply(bonus: number): Float32Array {
    this.items.forEach((id, i) => (this.scores[id] = this.raw[i] + bonus * this.unit));
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
    return this.bonus === 0 ? scores : new BaselineReminders(scores, session).apply(this.bonus);
  }

  state(): BaselineState {
    return this.inner.state();
  }

  restore(state: BaselineState): void {
    this.inner.restore(state);
  }
}
