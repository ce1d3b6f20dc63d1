// Protocol (a), GRU4Rec's (Hidasi et al. 2016): every click after the first of each test session is predicted from
// the clicks before it, ranked over the whole catalogue; Recall@k and MRR@k (ties: lib/metrics/rank.ts).
//   evaluateEveryNext  a causal sequence model (GRU, causal Transformer) gives a state at every position in one
//                      forward pass, and the state at position t has seen events 0..t only: so one pass per batch
//                      of sessions scores all of their positions;
//   evaluateByPrefix   one example per prefix (history = the first t events, target = event t): what any model can
//                      do, pooled ones (the MLP) included; also the reference the one-pass version is tested against.
// Baselines: `evaluateRecommender(…, { protocol: "every-next" })` in lib/baselines.
import * as tf from "@tensorflow/tfjs";
import { RankingMetrics, type RankingResult } from "../metrics/accumulator";
import { hostRowsAsync } from "../metrics/rank";
import type { SessionModel } from "../models/model";
import type { ItemOutputHead } from "../models/outputs";
import { causalNext, evaluationInputs, nextItemStates, selectTargets } from "../models/targets";
import { disposeBatch, type SessionTable } from "../data/loader";
import { hasReminders } from "../metrics/reminders";
import { HostReminders, type SessionItems, sessionRows } from "../models/reminders";
import { byLength, gatherBatch } from "./batches";

export interface EveryNextConfig {
  /** Cut-offs. Default [1, 5, 10, 20] (GRU4Rec reports @20). */
  ks?: readonly number[];
  /** Sessions per forward pass (evaluateEveryNext) or examples per pass (evaluateByPrefix). Default 256. */
  batchSize?: number;
  /** Most score rows ranked at once ([rows, nItems] floats); bounds memory on long sessions. Default 4,000,000 / nItems. */
  maxScoreElements?: number;
}

export interface PrefixConfig extends EveryNextConfig {
  /** "every" (default): every position ≥ 1 of each session; "last": its last item only (one example per session). */
  positions?: "every" | "last";
}

export const EVERY_NEXT_KS: readonly number[] = [1, 5, 10, 20];
const DEFAULT_BATCH = 256;
const DEFAULT_MAX_SCORE_ELEMENTS = 4_000_000;

/** Throws unless the model's state at t depends on events 0..t only. */
export function checkCausal(model: SessionModel, who: string): void {
  if (model.output !== "sequence")
    throw new Error(`${who}: model '${model.name}' pools the session; use evaluateByPrefix`);
  if (!model.causal) {
    throw new Error(
      `${who}: model '${model.name}' attends both ways (causal: false), so its states see later events; use evaluateByPrefix`,
    );
  }
}

/**
 * Ranks states [n, dim] against targets [n] in row chunks of at most `maxElements` scores, into `metrics[i]` with
 * the reminder bonus `bonuses[i]` for the items of `session` (each row's session; without it, every metrics gets the
 * raw scores). The scores are ranked on the host: one pass of comparisons per row in JS is ~100× faster than the
 * elementwise tensor ops of the on-device ranking on the wasm backend (measured: 10k rows × 2,935 items, 17 s on
 * device, well under 1 s here). Read back asynchronously, so that it also runs on WebGPU in Node (no synchronous read
 * there).
 */
export async function rankInChunks(
  head: ItemOutputHead,
  states: tf.Tensor2D,
  targets: Int32Array,
  metrics: readonly RankingMetrics[],
  bonuses: readonly number[],
  session?: SessionItems,
  maxElements = DEFAULT_MAX_SCORE_ELEMENTS,
): Promise<void> {
  if (metrics.length !== bonuses.length)
    throw new Error(`rankInChunks: ${metrics.length} metrics for ${bonuses.length} bonuses`);
  const withReminders = session !== undefined && hasReminders(bonuses);
  const n = states.shape[0];
  const rows = Math.max(1, Math.floor(maxElements / head.nItems));
  for (let start = 0; start < n; start += rows) {
    const size = Math.min(rows, n - start);
    const scores = tf.tidy(() => head.logits(tf.slice(states, [start, 0], [size, -1]) as tf.Tensor2D));
    try {
      const host = await hostRowsAsync(scores);
      const chunkTargets = targets.subarray(start, start + size);
      const reminders = withReminders ? new HostReminders(host, sessionRows(session, start, size)) : null;
      metrics.forEach((m, i) => m.add(reminders === null ? host : reminders.apply(bonuses[i]), chunkTargets));
    } finally {
      scores.dispose();
    }
  }
}

/** Protocol (a) for a causal sequence model: one forward pass per batch of sessions (sorted by length). With the
 *  head's reminder bonus for the items of each prefix. */
export async function evaluateEveryNext(
  model: SessionModel,
  head: ItemOutputHead,
  table: SessionTable,
  config: EveryNextConfig = {},
): Promise<RankingResult> {
  return (await evaluateEveryNextUnder(model, head, table, config, [head.config.reminderBonus]))[0];
}

/** `evaluateEveryNext` once per reminder bonus of `bonuses` (lib/models/reminders.ts), from the same forward passes
 *  and scores. */
export async function evaluateEveryNextUnder(
  model: SessionModel,
  head: ItemOutputHead,
  table: SessionTable,
  config: EveryNextConfig,
  bonuses: readonly number[],
): Promise<RankingResult[]> {
  checkCausal(model, "evaluateEveryNext");
  const metrics = bonuses.map(() => new RankingMetrics({ ks: config.ks ?? EVERY_NEXT_KS }));
  const withReminders = hasReminders(bonuses); // else the sessions' items are not even read
  const batchSize = config.batchSize ?? DEFAULT_BATCH;
  const maxElements = config.maxScoreElements ?? DEFAULT_MAX_SCORE_ELEMENTS;
  const rows = byLength(table);
  const scheme = causalNext();
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = gatherBatch(table, rows.subarray(start, start + batchSize));
    const example = scheme(batch);
    // states [n, dim]: every position t < length − 1, in row-major order; targets [n]: item t + 1.
    const { states, targets } = tf.tidy(() => selectTargets(model, model.encode(example.inputs, false), example));
    const session = withReminders
      ? prefixItems(await batch.items.data(), await example.targets.data(), batch.items.shape[1])
      : undefined;
    await rankInChunks(head, states, Int32Array.from(await targets.data()), metrics, bonuses, session, maxElements);
    tf.dispose([states, targets, example as unknown as tf.TensorContainer]);
    disposeBatch(batch);
  }
  return metrics.map((m) => m.result());
}

/**
 * The items of each prefix a causal model scores: for every position t with a target (row-major, as
 * `selectTargets` orders its rows), the session's items 0..t, padded to the batch's length. items, targets
 * [batch × seqLen].
 */
export function prefixItems(items: ArrayLike<number>, targets: ArrayLike<number>, seqLen: number): SessionItems {
  const rows: number[] = [];
  for (let index = 0; index < targets.length; index++) if (targets[index] > 0) rows.push(index);
  const ids = new Int32Array(rows.length * seqLen);
  rows.forEach((index, r) => {
    const first = index - (index % seqLen); // the session's position 0
    for (let j = first; j <= index; j++) ids[r * seqLen + j - first] = items[j];
  });
  return { ids, width: seqLen };
}

/**
 * Protocol (a) for any model: one example per (session, position ≥ 1), its history encoded on its own. With
 * `positions: "last"`, only each session's last item (full ranking of the last item, the course's protocol). With
 * the head's reminder bonus for the items of each history.
 */
export async function evaluateByPrefix(
  model: SessionModel,
  head: ItemOutputHead,
  table: SessionTable,
  config: PrefixConfig = {},
): Promise<RankingResult> {
  return (await evaluateByPrefixUnder(model, head, table, config, [head.config.reminderBonus]))[0];
}

/** `evaluateByPrefix` once per reminder bonus of `bonuses` (lib/models/reminders.ts), from the same forward passes
 *  and scores. */
export async function evaluateByPrefixUnder(
  model: SessionModel,
  head: ItemOutputHead,
  table: SessionTable,
  config: PrefixConfig,
  bonuses: readonly number[],
): Promise<RankingResult[]> {
  const metrics = bonuses.map(() => new RankingMetrics({ ks: config.ks ?? EVERY_NEXT_KS }));
  const withReminders = hasReminders(bonuses); // else the sessions' items are not even read
  const batchSize = config.batchSize ?? DEFAULT_BATCH;
  const sessions: number[] = [];
  const historyLengths: number[] = [];
  const lastOnly = config.positions === "last";
  for (const s of byLength(table)) {
    for (let t = lastOnly ? table.lengths[s] - 1 : 1; t < table.lengths[s]; t++) {
      sessions.push(s);
      historyLengths.push(t);
    }
  }
  for (let start = 0; start < sessions.length; start += batchSize) {
    const rows = sessions.slice(start, start + batchSize);
    const lengths = historyLengths.slice(start, start + batchSize);
    const history = gatherBatch(table, rows, lengths);
    const inputs = evaluationInputs(history, { kind: "last", maskId: null });
    const targets = Int32Array.from(rows, (s, i) => table.items[s * table.maxLength + lengths[i]]);
    const states = nextItemStates(model, inputs);
    const session: SessionItems | undefined = withReminders
      ? { ids: Int32Array.from(await history.items.data()), width: history.items.shape[1] }
      : undefined;
    await rankInChunks(head, states, targets, metrics, bonuses, session, config.maxScoreElements);
    tf.dispose([states, inputs as unknown as tf.TensorContainer]);
    disposeBatch(history);
  }
  return metrics.map((m) => m.result());
}
