// A host score row with its session's items raised before it is ranked ("reminders": the bonus of
// lib/models/reminders.ts on the logit scale, of lib/baselines/reminders.ts relative to the row's best score).
import { FIRST_CANDIDATE } from "./rank";

/** Checks a bonus (a number >= 0); `where` starts the error. */
export function checkReminderBonus(bonus: number, where: string): number {
  if (!(Number.isFinite(bonus) && bonus >= 0))
    throw new Error(`${where}: reminderBonus must be a number >= 0, got ${bonus}`);
  return bonus;
}

/** Whether any of `bonuses` raises anything (else the sessions' items need not be read). */
export function hasReminders(bonuses: readonly number[]): boolean {
  return bonuses.some((bonus) => bonus !== 0);
}

/** The distinct candidate ids (>= FIRST_CANDIDATE: not padding, not out-of-vocabulary) among `ids`, first seen first. */
export function distinctCandidates(ids: ArrayLike<number>): number[] {
  const seen = new Set<number>();
  for (let j = 0; j < ids.length; j++) if (ids[j] >= FIRST_CANDIDATE) seen.add(ids[j]);
  return [...seen];
}

/**
 * `apply(bonus)` sets the score of each of `items` in `row` to its score when constructed + bonus × `unit`, in place:
 * always from the raw score, so that trying several bonuses on one row gives each the bits a single call does.
 */
export class RowReminders {
  private readonly raw: number[];

  constructor(
    private readonly row: Float32Array,
    private readonly items: readonly number[],
    private readonly unit = 1,
  ) {
    this.raw = items.map((id) => row[id]);
  }

  apply(bonus: number): Float32Array {
    this.items.forEach((id, i) => (this.row[id] = this.raw[i] + bonus * this.unit));
    return this.row;
  }
}
