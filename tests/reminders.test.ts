// Reminders (lib/models/reminders.ts): the bonus for a session's own items, on the host (evaluation), on the device
// (top-k for serving), and chosen on validation by a run.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BASELINE_REMINDER_BONUSES,
  RemindingBaseline,
  type SavableBaseline,
  createBaseline,
  evaluateRecommender,
  evaluateRecommenderUnder,
  baselineReminders,
} from "../lib/baselines";
import {
  createRunBaseline,
  evaluateModelOn,
  evaluateModelUnder,
  evaluateRecommenderOn,
  runBaselinesOn,
  runModelOn,
} from "../lib/evaluate";
import {
  HostReminders,
  REMINDER_BONUSES,
  addReminders,
  createHeadFor,
  createModel,
  createOutputHead,
  disposeModel,
  rowItems,
} from "../lib/models";
import { tableOf } from "./helpers/tables-fixtures";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** `count` sessions that come back to their items (a b a b a): a reminder bonus helps, and validation should find it. */
function repeatingSessions(offset: number, count: number): number[][] {
  return Array.from({ length: count }, (_, s) => {
    const a = 2 + ((s + offset) % 9);
    const b = 2 + ((s * 5 + offset + 3) % 9);
    return [a, b, a, b, a];
  });
}

describe("reminder bonus", () => {
  // Two rows over 6 ids; row 0's session holds 3, 3 (again), 1 (OOV) and padding; row 1's holds 5.
  const session = { ids: Int32Array.from([3, 3, 1, 0, 5, 0, 0, 0]), width: 4 };
  const scores = () => [Float32Array.from([-9, -9, 0.5, 0.25, 2, 1]), Float32Array.from([-9, -9, 3, 1, 0, -1])];

  it("lists each row's distinct recommendable items", () => {
    expect(rowItems(session, 0)).toEqual([3]);
    expect(rowItems(session, 1)).toEqual([5]);
  });

  it("raises the session's items on the host from their raw scores, whatever was tried before", () => {
    const rows = scores();
    const reminders = new HostReminders(rows, session);
    reminders.apply(2);
    expect(Array.from(rows[0])).toEqual([-9, -9, 0.5, 2.25, 2, 1]);
    expect(Array.from(rows[1])).toEqual([-9, -9, 3, 1, 0, 1]);
    reminders.apply(0.5); // from the raw score, not from the last try
    expect(rows[0][3]).toBe(Math.fround(0.25 + 0.5));
    expect(rows[1][5]).toBe(-0.5);
    reminders.apply(0);
    expect(rows).toEqual(scores());
  });

  it("gives the same scores on the device", () => {
    const raised = addReminders(tf.tensor2d([...scores()[0], ...scores()[1]], [2, 6]), session, 2);
    const host = scores();
    new HostReminders(host, session).apply(2);
    expect(Array.from(raised.dataSync())).toEqual([...host[0], ...host[1]]);
  });

  it("ranks the session's items first in top-k with a large bonus, and changes nothing at 0", () => {
    const table = tf.variable(tf.tensor2d([0, 0, 1, 0, 0.9, 0.1, 0, 1, 0.2, 0.8, 0.5, 0.5], [6, 2]));
    const head = createOutputHead({ nItems: 6, hiddenDim: 2, itemTable: table });
    const hidden = tf.tensor2d([1, 0, 0, 1], [2, 2]);
    const plain = head.topK(hidden, 4).indices.arraySync();
    expect(head.topK(hidden, 4, session).indices.arraySync()).toEqual(plain); // bonus 0 by default
    head.setReminderBonus(1000);
    const reminded = head.topK(hidden, 4, session).indices.arraySync();
    expect(reminded[0][0]).toBe(3);
    expect(reminded[1][0]).toBe(5);
    expect(reminded[0].slice(1)).toEqual(plain[0].filter((id) => id !== 3).slice(0, 3));
    expect(() => head.setReminderBonus(-1)).toThrow(/reminderBonus must be a number >= 0/);
    expect(() => createOutputHead({ nItems: 6, hiddenDim: 2, itemTable: table }, { reminderBonus: NaN })).toThrow(
      /reminderBonus/,
    );
    head.dispose();
    table.dispose();
  });
});

describe('a run\'s reminderBonus "validation"', () => {
  const [train, valid, test] = [0, 1, 2].map((offset) => tableOf(repeatingSessions(offset, 24), 12));
  const protocol = { name: "every-next", ks: [1, 5, 20] } as const;
  const config = {
    kind: "gru" as const,
    model: { units: 8, inputs: { itemDim: 8 }, mlp: [] },
    head: { reminderBonus: "validation" as const },
    training: { epochs: 1, batchSize: 8 },
  };

  it("chooses the bonus with the best validation figure and scores test with it", async () => {
    const run = await runModelOn(config, { train, valid, test }, protocol);
    const trials = run.reminderTrials!;
    expect(trials.map((t) => t.bonus)).toEqual(REMINDER_BONUSES);
    const best = Math.max(...trials.map((t) => t.metrics["mrr@20"]));
    const chosen = trials.find((t) => t.metrics["mrr@20"] === best)!; // the first (smallest) of the best
    expect(run.reminderBonus).toBe(chosen.bonus);
    expect(run.head.config.reminderBonus).toBe(chosen.bonus);
    expect(chosen.bonus).toBeGreaterThan(0); // every session repeats its items
    // The validation figures are those of evaluating with that bonus; test is scored with it.
    expect((await evaluateModelOn(run.model, run.head, valid, protocol)).values).toEqual(chosen.metrics);
    expect((await evaluateModelOn(run.model, run.head, test, protocol)).values).toEqual(run.metrics);
    const [atZero] = await evaluateModelUnder(run.model, run.head, test, protocol, [0]);
    expect(atZero.values["mrr@20"]).toBeLessThan(run.metrics["mrr@20"]);
    disposeModel(run);
  });

  it("stays at 0 without a validation split or under sampled-last", async () => {
    const withoutValid = await runModelOn(config, { train, test }, protocol);
    expect(withoutValid.reminderBonus).toBe(0);
    expect(withoutValid.reminderTrials).toBeUndefined();
    disposeModel(withoutValid);
    const sampled = await runModelOn(config, { train, valid, test }, { name: "sampled-last", negatives: 3, seed: 1 });
    expect(sampled.reminderBonus).toBe(0);
    expect(sampled.reminderTrials).toBeUndefined();
    disposeModel(sampled);
  });

  it("a number is used as given", async () => {
    const model = createModel("gru", { units: 4, inputs: { itemDim: 4 }, mlp: [] }, train.schema);
    const head = createHeadFor(model, { reminderBonus: 2 });
    expect(head.config.reminderBonus).toBe(2);
    disposeModel({ model, head });
  });
});

describe("baseline reminders", () => {
  // A fixed "baseline" over 6 ids scoring 4 > 5 > 2 > 3 whatever the session.
  const fixed: SavableBaseline = {
    name: "most-popular",
    nItems: 6,
    config: {},
    fit: () => undefined,
    score: (_session, out = new Float32Array(6)) => {
      out.set([0, 0, 2, 1, 4, 3]);
      return out;
    },
    state: () => ({}),
    restore: () => undefined,
  };

  it("raises the session's known items by bonus × the row's largest score", () => {
    const scores = Float32Array.from([0, 0, 2, 1, 4, 3]);
    const row = baselineReminders(scores, Int32Array.from([3, 0, 1, 3]));
    expect(Array.from(row.apply(0.5))).toEqual([0, 0, 2, 3, 4, 3]); // 1 + 0.5 × 4
    expect(Array.from(row.apply(0))).toEqual([0, 0, 2, 1, 4, 3]); // from the raw score, not the last try
    const reminded = new RemindingBaseline(fixed, 1000);
    expect(Array.from(reminded.score(Int32Array.from([1, 3, 3, 2])))).toEqual([0, 0, 4002, 4001, 4, 3]);
    expect(reminded.config).toEqual({ reminderBonus: 1000 });
    expect(() => new RemindingBaseline(fixed, -1)).toThrow(/reminderBonus must be a number >= 0/);
  });

  it("ranks once per bonus from one scoring, hand-computed", () => {
    // Sessions [3, 2] (target 2: rank 3 raw) and [3, 5] (target 5: rank 2 raw). Bonus 0.6 (× 4 = 2.4): session 1's
    // history {3} scores 3.4 → target 2 (2) ranks 4th; session 2: 5 (3) vs 3 (3.4), 4 (4) → 3rd.
    const sessions = [Int32Array.from([3, 2]), Int32Array.from([3, 5])];
    const [raw, raised] = evaluateRecommenderUnder(fixed, sessions, { ks: [2, 3, 4], protocol: "last" }, [0, 0.6]);
    expect(raw.values["mrr@4"]).toBeCloseTo((1 / 3 + 1 / 2) / 2, 6);
    expect(raised.values["mrr@4"]).toBeCloseTo((1 / 4 + 1 / 3) / 2, 6);
    expect(evaluateRecommender(new RemindingBaseline(fixed, 0.6), sessions, { ks: [2, 3, 4] }).values).toEqual(
      raised.values,
    );
  });

  it('a run\'s "validation" chooses the bonus, scores test with it and saves it in the config', () => {
    const [train, valid, test] = [0, 1, 2].map((offset) => tableOf(repeatingSessions(offset, 30), 12));
    const protocol = { name: "every-next", ks: [1, 5, 20] } as const;
    const baseline = createRunBaseline({ name: "v-sknn", reminderBonus: "validation" }, 12);
    const [run] = runBaselinesOn({ train, valid, test }, protocol, [baseline]);
    const trials = run.reminderTrials!;
    expect(trials.map((t) => t.bonus)).toEqual(BASELINE_REMINDER_BONUSES);
    const best = Math.max(...trials.map((t) => t.metrics["mrr@20"]));
    expect(run.reminderBonus).toBe(trials.find((t) => t.metrics["mrr@20"] === best)!.bonus);
    expect(run.reminderBonus).toBeGreaterThan(0);
    expect(baseline.config.reminderBonus).toBe(run.reminderBonus);
    expect(evaluateRecommenderOn(baseline, test, protocol).values).toEqual(run.metrics);
    // Restored from its saved config: the same scores.
    const restored = createBaseline("v-sknn", 12, baseline.config);
    restored.restore(baseline.state());
    const session = Int32Array.from([3, 4, 3]);
    expect(restored.score(session)).toEqual(baseline.score(session));
    expect(() => evaluateRecommenderOn(baseline, test, { name: "sampled-last", negatives: 3 })).toThrow(
      /could only raise the target/,
    );
    // Without a validation split: 0, nothing tried.
    const [plain] = runBaselinesOn({ train, test }, protocol, [
      createRunBaseline({ name: "vstan", reminderBonus: "validation" }, 12),
    ]);
    expect(plain.reminderBonus).toBe(0);
    expect(plain.reminderTrials).toBeUndefined();
  });
});
