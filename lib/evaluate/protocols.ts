// The evaluation protocols of the real-data comparison, as values a run can carry around:
//   "every-next"   (GRU4Rec)  every next item of each test session, full ranking; Recall@k, MRR@k;
//   "sampled-last" (SASRec)   each row's last item against `negatives` sampled unseen items; HR@k, NDCG@k;
//   "last"                    each row's last item, full ranking (the course's protocol; the same examples as
//                             "sampled-last", to show how much sampling flatters a model).
// The same names serve models and baselines (lib/baselines/evaluate.ts takes "last" and "every-next").
// One function per kind of scorer picks the right evaluation (see every-next.ts and sampled-last.ts).
import { evaluateRecommender, evaluateRecommenderUnder } from "../baselines/evaluate";
import { RemindingBaseline } from "../baselines/reminders";
import type { Recommender } from "../baselines/recommender";
import { sessionsOf, type SessionTable } from "../data/loader";
import type { RankingResult } from "../metrics/accumulator";
import type { SessionModel } from "../models/model";
import type { ItemOutputHead } from "../models/outputs";
import { EVERY_NEXT_KS, evaluateByPrefixUnder, evaluateEveryNextUnder } from "./every-next";
import { SAMPLED_KS, evaluateRecommenderSampledLast, evaluateSampledLast } from "./sampled-last";
import { RUN_DEFAULTS } from "./defaults";

/** The protocol vocabulary, shared by models, baselines, config files and the CLI. */
export const PROTOCOL_NAMES = ["last", "every-next", "sampled-last"] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

export type Protocol =
  | { name: "every-next"; ks?: readonly number[] }
  | { name: "last"; ks?: readonly number[] }
  | { name: "sampled-last"; negatives?: number; seed?: number; ks?: readonly number[]; rows?: number };

/** GRU4Rec's protocol with its cut-offs (1, 5, 10, 20). */
export const GRU4REC_PROTOCOL: Protocol = { name: "every-next", ks: EVERY_NEXT_KS };
/** SASRec's protocol: 100 negatives, seed 42, cut-offs 1, 5, 10. */
export const SASREC_PROTOCOL: Protocol = { name: "sampled-last", negatives: 100, seed: 42, ks: SAMPLED_KS };

/** The cut-offs `protocol` scores at: its own, else the defaults of RUN_DEFAULTS.ks. */
export function protocolKs(protocol: Protocol): readonly number[] {
  return protocol.ks ?? RUN_DEFAULTS.ks[protocol.name];
}

/** The metric a protocol's comparison is headed by, e.g. "recall@20" or "ndcg@10". */
export function headlineMetrics(protocol: Protocol): string[] {
  // The published cut-off (20 for every next item, 10 otherwise) when the protocol scores it, else its largest.
  const ks = protocolKs(protocol);
  const preferred = protocol.name === "every-next" ? 20 : 10;
  const k = ks.includes(preferred) ? preferred : Math.max(...ks);
  return protocol.name === "every-next" ? [`recall@${k}`, `mrr@${k}`] : [`recall@${k}`, `ndcg@${k}`];
}

/** Display name of a metric key under a protocol: recall@10 is called HR@10 in the sampled protocol. */
export function metricLabel(key: string, protocol: Protocol): string {
  const [name, k] = key.split("@");
  const names: Record<string, string> = {
    recall: protocol.name === "sampled-last" ? "HR" : "Recall",
    mrr: "MRR",
    ndcg: "NDCG",
  };
  return `${names[name] ?? name}@${k}`;
}

/** A trained model on `table` under `protocol`: one forward pass per batch for causal sequence models. The head is
 *  frozen meanwhile (the scores' bits are the same), so that the catalogue is transposed and scaled once per
 *  evaluation, not once per chunk of score rows (on Nowplaying's 60k items, ~1,300 chunks a validation pass). With
 *  the head's reminder bonus (lib/models/reminders.ts). */
export async function evaluateModelOn(
  model: SessionModel,
  head: ItemOutputHead,
  table: SessionTable,
  protocol: Protocol,
): Promise<RankingResult> {
  if (protocol.name === "sampled-last") {
    refuseBonusUnderSampledLast("evaluateModelOn", head.config.reminderBonus, "evaluate");
    return frozenWhile(head, () => evaluateSampledLast(model, head, table, protocol));
  }
  return (await evaluateModelUnder(model, head, table, protocol, [head.config.reminderBonus]))[0];
}

/**
 * `evaluateModelOn` under a full-ranking protocol once per reminder bonus of `bonuses`, from the same forward passes
 * and scores (how a run chooses the bonus on validation).
 */
export function evaluateModelUnder(
  model: SessionModel,
  head: ItemOutputHead,
  table: SessionTable,
  protocol: Protocol,
  bonuses: readonly number[],
): Promise<RankingResult[]> {
  if (protocol.name === "sampled-last")
    throw new Error("evaluateModelUnder: reminder bonuses need a full-ranking protocol (every-next or last)");
  return frozenWhile(head, () => {
    if (protocol.name === "last")
      return evaluateByPrefixUnder(
        model,
        head,
        table,
        { ks: protocolKs(protocol), positions: "last", batchSize: RUN_DEFAULTS.lastBatchSize },
        bonuses,
      );
    return model.output === "sequence"
      ? evaluateEveryNextUnder(model, head, table, protocol, bonuses)
      : evaluateByPrefixUnder(model, head, table, protocol, bonuses);
  });
}

/** Throws when `bonus` is not 0: protocol sampled-last ranks the target against items the user never touched, so a
 *  reminder bonus could only raise the target. */
function refuseBonusUnderSampledLast(caller: string, bonus: number, advice: string): void {
  if (bonus !== 0)
    throw new Error(
      `${caller}: protocol sampled-last ranks the target against items the user never interacted with, so a reminder bonus (${bonus}) could only raise the target: ${advice} with reminderBonus 0`,
    );
}

/** Runs `evaluate` with the head frozen (thawed after, unless it was frozen before). */
async function frozenWhile<T>(head: ItemOutputHead, evaluate: () => Promise<T>): Promise<T> {
  if (head.frozen) return evaluate();
  head.freeze();
  try {
    return await evaluate();
  } finally {
    head.thaw();
  }
}

/** A fitted baseline on the sessions of `table` under `protocol`. */
export function evaluateRecommenderOn(
  recommender: Recommender,
  table: SessionTable,
  protocol: Protocol,
): RankingResult {
  if (protocol.name === "sampled-last") {
    if (recommender instanceof RemindingBaseline)
      refuseBonusUnderSampledLast("evaluateRecommenderOn", recommender.bonus, `evaluate ${recommender.name}`);
    return evaluateRecommenderSampledLast(recommender, table, protocol);
  }
  return evaluateRecommender(recommender, sessionsOf(table), { ks: protocolKs(protocol), protocol: protocol.name });
}

/** `evaluateRecommenderOn` under a full-ranking protocol once per reminder bonus (lib/baselines/reminders.ts) of
 *  `bonuses`, from one scoring of each example by `recommender`. */
export function evaluateRecommenderUnderOn(
  recommender: Recommender,
  table: SessionTable,
  protocol: Protocol,
  bonuses: readonly number[],
): RankingResult[] {
  if (protocol.name === "sampled-last")
    throw new Error("evaluateRecommenderUnderOn: reminder bonuses need a full-ranking protocol (every-next or last)");
  const config = { ks: protocolKs(protocol), protocol: protocol.name };
  return evaluateRecommenderUnder(recommender, sessionsOf(table), config, bonuses);
}
