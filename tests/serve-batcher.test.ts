// The micro-batcher on its own: what it groups, how it slices k, how it isolates failures, and how it closes.
import { describe, expect, it } from "vitest";
import type { Recommendation } from "../lib/model-folder/index";
import {
  BatcherClosedError,
  MicroBatcher,
  QueueFullError,
  QueueTimeoutError,
  type RawSession,
  SessionScoreError,
} from "../lib/serve";

/** Scores a session [{ id: n }] with items n, n+1, … (k of them) and records each call's sessions and k. */
function recorder(fail: (id: number) => Error | null = () => null) {
  const calls: { ids: number[]; k: number }[] = [];
  const score = async (sessions: readonly RawSession[], k: number): Promise<Recommendation[]> => {
    const ids = sessions.map((session) => session[0].id as number);
    calls.push({ ids, k });
    for (const id of ids) {
      const error = fail(id);
      if (error !== null) throw error;
    }
    return ids.map((id) => ({
      items: Array.from({ length: k }, (_, i) => id + i),
      scores: Array.from({ length: k }, (_, i) => -i),
    }));
  };
  return { calls, score };
}

const session = (id: number): RawSession => [{ id }];

describe("MicroBatcher", () => {
  it("scores what arrives within maxWaitMs in one call at the largest k, and gives each caller its own k", async () => {
    const { calls, score } = recorder();
    const batcher = new MicroBatcher(score, { maxWaitMs: 20 });
    const [a, b] = await Promise.all([batcher.submit([session(10)], 2), batcher.submit([session(20), session(30)], 3)]);
    expect(calls).toEqual([{ ids: [10, 20, 30], k: 3 }]);
    expect(a).toEqual([{ items: [10, 11], scores: [-0, -1] }]);
    expect(b).toEqual([
      { items: [20, 21, 22], scores: [-0, -1, -2] },
      { items: [30, 31, 32], scores: [-0, -1, -2] },
    ]);
  });

  it("starts at once when maxBatchSessions are waiting, and never splits a request", async () => {
    const { calls, score } = recorder();
    const batcher = new MicroBatcher(score, { maxWaitMs: 10_000, maxBatchSessions: 3 });
    // 2 + 2 > 3: the second request waits for the next call, which starts as soon as the first ends.
    const started = Date.now();
    await Promise.all([
      batcher.submit([session(1), session(2)], 1),
      batcher.submit([session(3), session(4)], 1),
      batcher.submit([session(5)], 1),
    ]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(calls.map((call) => call.ids)).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it("fails only the request whose session the model rejects, with its index", async () => {
    const { calls, score } = recorder((id) => (id === 7 ? new Error("bad city 7") : null));
    const batcher = new MicroBatcher(score, { maxWaitMs: 20 });
    const [good, bad] = await Promise.allSettled([
      batcher.submit([session(1)], 1),
      batcher.submit([session(6), session(7)], 1),
    ]);
    expect(good).toEqual({ status: "fulfilled", value: [{ items: [1], scores: [-0] }] });
    expect(bad.status).toBe("rejected");
    const reason = (bad as PromiseRejectedResult).reason as SessionScoreError;
    expect(reason).toBeInstanceOf(SessionScoreError);
    expect([reason.index, reason.message]).toEqual([1, "bad city 7"]);
    expect(calls.map((call) => call.ids)).toEqual([[1, 6, 7], [1], [6], [7]]);
  });

  it("reports a model that answers the wrong number of lists", async () => {
    const batcher = new MicroBatcher(async () => [], { maxWaitMs: 0 });
    await expect(batcher.submit([session(1)], 1)).rejects.toThrow("recommendBatch returned 0 results for 1 sessions");
  });

  it("refuses work beyond maxQueuedSessions while a call is in progress", async () => {
    let release = () => undefined as void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { calls, score } = recorder();
    const batcher = new MicroBatcher(async (sessions, k) => (await gate, score(sessions, k)), {
      maxWaitMs: 0,
      maxQueuedSessions: 2,
    });
    const running = batcher.submit([session(1), session(2)], 1);
    await new Promise((resolve) => setTimeout(resolve, 10)); // the first call is now in progress, the queue empty
    const queued = batcher.submit([session(3), session(4)], 1);
    expect(batcher.queuedSessions).toBe(2);
    await expect(batcher.submit([session(5)], 1)).rejects.toBeInstanceOf(QueueFullError);
    release();
    await Promise.all([running, queued]);
    expect(calls.map((call) => call.ids)).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("fails a request once it has waited maxQueueWaitMs, and scores the newest first once the oldest has waited a tenth of it", async () => {
    // Every call waits for its own release: the model is as slow as the test says.
    const gates: (() => void)[] = [];
    const started: number[][] = [];
    const { score } = recorder();
    const slow = async (sessions: readonly RawSession[], k: number): Promise<Recommendation[]> => {
      started.push(sessions.map((one) => one[0].id as number));
      await new Promise<void>((resolve) => gates.push(resolve));
      return score(sessions, k);
    };
    const batcher = new MicroBatcher(slow, {
      maxWaitMs: 0,
      maxBatchSessions: 1,
      maxQueueWaitMs: 400,
    });
    const running = batcher.submit([session(1)], 1);
    await new Promise((resolve) => setTimeout(resolve, 10)); // call [1] in progress
    const old = [2, 3, 4].map((id) => batcher.submit([session(id)], 1));
    await new Promise((resolve) => setTimeout(resolve, 250)); // 2, 3, 4 have waited more than 40 ms: behind
    const newest = batcher.submit([session(5)], 1);
    gates.shift()?.();
    await running;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(started).toEqual([[1], [5]]); // the newest, not 2
    // The call for 5 outlasts the wait of 2, 3 and 4: they are refused, never scored.
    const refused = await Promise.allSettled(old);
    for (const outcome of refused) {
      expect(outcome.status).toBe("rejected");
      const reason = (outcome as PromiseRejectedResult).reason as QueueTimeoutError;
      expect(reason).toBeInstanceOf(QueueTimeoutError);
      expect(reason.waitedMs).toBeGreaterThanOrEqual(400);
    }
    expect(batcher.queuedSessions).toBe(0);
    gates.shift()?.();
    expect(await newest).toEqual([{ items: [5], scores: [-0] }]);
    expect(started).toEqual([[1], [5]]);
  });

  it("counts the wait a request had before it was submitted", async () => {
    const gates: (() => void)[] = [];
    const { calls, score } = recorder();
    const batcher = new MicroBatcher(
      async (sessions, k) => (await new Promise<void>((resolve) => gates.push(resolve)), score(sessions, k)),
      { maxWaitMs: 0, maxQueueWaitMs: 10_000 },
    );
    const running = batcher.submit([session(1)], 1);
    await new Promise((resolve) => setTimeout(resolve, 10)); // call [1] in progress
    // Already 9,990 ms since it reached the server: 10 ms left in the queue.
    const late = batcher.submit([session(2)], 1, 9_990);
    await expect(late).rejects.toBeInstanceOf(QueueTimeoutError);
    gates.shift()?.();
    await running;
    expect(calls.map((call) => call.ids)).toEqual([[1]]);
  });

  it("close answers what is queued, then refuses new work", async () => {
    const { calls, score } = recorder();
    const batcher = new MicroBatcher(score, { maxWaitMs: 10_000 });
    const pending = batcher.submit([session(1)], 1);
    await batcher.close();
    expect(await pending).toEqual([{ items: [1], scores: [-0] }]);
    expect(calls).toHaveLength(1);
    await expect(batcher.submit([session(2)], 1)).rejects.toBeInstanceOf(BatcherClosedError);
  });

  it("refuses options that cannot work", () => {
    const { score } = recorder();
    expect(() => new MicroBatcher(score, { maxQueuedSessions: 0 })).toThrow(
      "MicroBatcher: maxQueuedSessions must be an integer >= 1, got 0",
    );
    expect(() => new MicroBatcher(score, { maxWaitMs: -1 })).toThrow(
      "MicroBatcher: maxWaitMs must be a number >= 0, got -1",
    );
    expect(() => new MicroBatcher(score, { maxQueueWaitMs: 0 })).toThrow(
      "MicroBatcher: maxQueueWaitMs must be a number > 0, got 0",
    );
  });
});
