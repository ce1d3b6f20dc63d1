// Reminders (Lerche, Jannach & Ludewig, "On the value of reminders within e-commerce recommendations", UMAP 2016;
// session-rec's session-aware kNN pushes the current session's items up with its `push_reminders` option): a bonus
// added to the score of every item the session already holds, so that the items a user comes back to rank higher.
// On some logs that is most of the task: 40% of Tmall's next clicks repeat an item of their session (54% after ten
// clicks), 6% of Nowplaying's. The bonus is not part of the training
// loss: a run chooses it on validation among REMINDER_BONUSES (lib/evaluate/run.ts), like the epoch.
import * as tf from "@tensorflow/tfjs";
import { RowReminders, distinctCandidates } from "../metrics/reminders";

/** The items each score row's session holds: ids [rows × width], row-major; 0 (padding) where a row has fewer. */
export interface SessionItems {
  readonly ids: Int32Array;
  readonly width: number;
}

/** The bonuses a run tries on validation, on the logit scale (1000: the session's items before every other item). */
export const REMINDER_BONUSES: readonly number[] = [0, 0.25, 0.5, 1, 2, 4, 8, 16, 1000];

/** The distinct recommendable ids (not padding, not out-of-vocabulary) of row `row`. */
export function rowItems(session: SessionItems, row: number): number[] {
  return distinctCandidates(session.ids.subarray(row * session.width, (row + 1) * session.width));
}

/** Rows `first..first+count` of `session`, as SessionItems of their own (a view, nothing copied). */
export function sessionRows(session: SessionItems, first: number, count: number): SessionItems {
  return { ids: session.ids.subarray(first * session.width, (first + count) * session.width), width: session.width };
}

/** Throws unless `session` holds the items of exactly `rows` score rows. */
function checkSessionRows(rows: number, session: SessionItems): void {
  if (session.ids.length !== rows * session.width)
    throw new Error(`reminders: ${rows} score rows but session items for ${session.ids.length / session.width}`);
}

/** Host score rows with each row's session items raised by a bonus (RowReminders: from the raw score each time). */
export class HostReminders {
  private readonly reminders: RowReminders[];

  constructor(
    private readonly rows: readonly Float32Array[],
    session: SessionItems,
  ) {
    checkSessionRows(rows.length, session);
    this.reminders = rows.map((row, r) => new RowReminders(row, rowItems(session, r)));
  }

  /** Sets every session item's score to its raw score + bonus (in place). */
  apply(bonus: number): readonly Float32Array[] {
    this.reminders.forEach((row) => row.apply(bonus));
    return this.rows;
  }
}

/** Scores [rows, nItems] with each row's session items raised by `bonus` (on the device, for top-k). */
export function addReminders(scores: tf.Tensor2D, session: SessionItems, bonus: number): tf.Tensor2D {
  const [rows, nItems] = scores.shape;
  checkSessionRows(rows, session);
  if (bonus === 0) return scores;
  const indices: number[] = [];
  for (let r = 0; r < rows; r++) for (const id of rowItems(session, r)) if (id < nItems) indices.push(r, id);
  if (indices.length === 0) return scores;
  return tf.tidy(() => {
    const positions = tf.tensor2d(indices, [indices.length / 2, 2], "int32");
    const raise = tf.scatterND(positions, tf.fill([indices.length / 2], bonus), [rows, nItems]) as tf.Tensor2D;
    return tf.add(scores, raise) as tf.Tensor2D;
  });
}
