// Evaluates a Recommender on held-out sessions with the same full-ranking metrics as the neural models.
import { RankingMetrics, type RankingResult } from "../metrics/accumulator";
import { rankOfTarget } from "../metrics/rank";
import type { ProtocolName } from "../evaluate/protocols";
import type { Recommender } from "./recommender";
import { hasReminders } from "../metrics/reminders";
import { baselineReminders } from "./reminders";

/**
 * The protocols of lib/evaluate/protocols.ts that need no sampling:
 * "last": one example per session, predict its last item from the items before it (sessions with fewer than
 *         2 items give no example).
 * "every-next": one example per position t >= 1 of each session, predict item t from items 0..t-1.
 */
export type NextItemProtocol = Extract<ProtocolName, "last" | "every-next">;

export interface EvaluateRecommenderConfig {
  /** Cut-offs. Default [5, 10, 20]. */
  ks?: readonly number[];
  /** Default "last". */
  protocol?: NextItemProtocol;
}

/** Metrics of `recommender` (already fitted) over `sessions` (item ids, oldest first). */
export function evaluateRecommender(
  recommender: Recommender,
  sessions: readonly Int32Array[],
  config: EvaluateRecommenderConfig = {},
): RankingResult {
  return evaluateRecommenderUnder(recommender, sessions, config, [0])[0];
}

/**
 * `evaluateRecommender` once per reminder bonus of `bonuses` (./reminders.ts: each example's session items raised by
 * bonus × its largest score), from one scoring of each example; bonus 0 is the recommender's own scores.
 */
export function evaluateRecommenderUnder(
  recommender: Recommender,
  sessions: readonly Int32Array[],
  config: EvaluateRecommenderConfig,
  bonuses: readonly number[],
): RankingResult[] {
  const protocol = config.protocol ?? "last";
  if (protocol !== "last" && protocol !== "every-next") {
    throw new Error(`evaluateRecommender: protocol must be "last" or "every-next", got "${String(protocol)}"`);
  }
  const metrics = bonuses.map(() => new RankingMetrics({ ks: config.ks }));
  const withReminders = hasReminders(bonuses);
  const scores = new Float32Array(recommender.nItems); // reused by every example
  sessions.forEach((session, s) => {
    const firstTarget = protocol === "last" ? Math.max(1, session.length - 1) : 1;
    for (let t = firstTarget; t < session.length; t++) {
      const history = session.subarray(0, t);
      recommender.score(history, scores);
      const where = `${recommender.name} on sessions[${s}] position ${t}`;
      const reminders = withReminders ? baselineReminders(scores, history) : null;
      bonuses.forEach((bonus, i) =>
        metrics[i].addRank(rankOfTarget(reminders === null ? scores : reminders.apply(bonus), session[t], where)),
      );
    }
  });
  return metrics.map((m) => m.result());
}
