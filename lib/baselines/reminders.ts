// Reminders for a baseline (as lib/models/reminders.ts for the neural models): the items the session already holds
// raised by `bonus` × the row's largest score. A neighbourhood method's scores have no fixed scale (sums of
// similarities), so the bonus is relative to the row's best; 1000 puts the session's items first.
import { FIRST_CANDIDATE } from "../metrics/rank";
import { RowReminders, checkReminderBonus, distinctCandidates } from "../metrics/reminders";
import type { SavableBaseline } from "./saved";
import type { BaselineState } from "./state";

/** The bonuses a run tries on validation (relative to each row's largest score). */
export const BASELINE_REMINDER_BONUSES: readonly number[] = [0, 0.05, 0.1, 0.25, 0.5, 1, 2, 1000];

/** `scores` (one baseline row) ready to take the reminder bonus of `session`'s items: bonus × the row's largest score
 *  over the candidate ids (1 when none is positive). */
export function baselineReminders(scores: Float32Array, session: Int32Array): RowReminders {
  let best = 0;
  for (let id = FIRST_CANDIDATE; id < scores.length; id++) if (scores[id] > best) best = scores[id];
  return new RowReminders(scores, distinctCandidates(session), best > 0 ? best : 1);
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
    checkReminderBonus(bonus, inner.name);
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
    return this.bonus === 0 ? scores : baselineReminders(scores, session).apply(this.bonus);
  }

  state(): BaselineState {
    return this.inner.state();
  }

  restore(state: BaselineState): void {
    this.inner.restore(state);
  }
}
