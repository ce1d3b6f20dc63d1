// Micro-batching for the service: requests that arrive within a few milliseconds of each other are scored in one
// `recommendBatch` call (one forward pass), one call at a time. The queue of waiting sessions is bounded in size and
// in time, so load beyond what the model keeps up with is refused (QueueFullError, QueueTimeoutError → 503) instead
// of growing memory and latency. While the queue keeps up, the oldest requests are scored first; once its oldest
// has waited a tenth of maxQueueWaitMs it is falling behind, and the newest are scored first ("adaptive LIFO"): the
// requests that are served are then served about as fast as without the overload, and the ones that waited longest,
// which would be late anyway, run out their time and are told to retry.
import type { Recommendation } from "../model-folder/types";

/** One session of raw events, as the model's workflow reads them. */
export type RawSession = readonly Record<string, unknown>[];

/** Scores sessions in one call: one recommendation list (best first, at least `k` long when possible) per session. */
export type ScoreBatch = (sessions: readonly RawSession[], k: number) => Promise<Recommendation[]>;

export interface MicroBatcherOptions {
  /** Longest a request waits for others to join its batch, in milliseconds. Default 2. */
  maxWaitMs?: number;
  /** Most sessions scored in one call; a batch request larger than this is still scored whole. Default 64. */
  maxBatchSessions?: number;
  /** Most sessions waiting to be scored (the one call in progress not counted); beyond it `submit` fails with
   *  QueueFullError. Default 1024. */
  maxQueuedSessions?: number;
  /** Longest a request waits in the queue for its call to start, in milliseconds; past it `submit` fails with
   *  QueueTimeoutError. Default 1000. */
  maxQueueWaitMs?: number;
}

/** The queue is falling behind once its oldest request has waited this fraction of maxQueueWaitMs. */
const BEHIND_FRACTION = 0.1;

export const DEFAULT_BATCHER_OPTIONS: Required<MicroBatcherOptions> = {
  maxWaitMs: 2,
  maxBatchSessions: 64,
  maxQueuedSessions: 1024,
  maxQueueWaitMs: 1000,
};

/** The queue holds `maxQueuedSessions` sessions already: the caller should retry later. */
export class QueueFullError extends Error {
  constructor(readonly capacity: number) {
    super(`the service is busy (${capacity} sessions already queued): retry later`);
    this.name = "QueueFullError";
  }
}

/** The request waited `waitedMs` in the queue without being scored: the service is overloaded, retry later. */
export class QueueTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`the service is busy (waited ${waitedMs} ms in the queue): retry later`);
    this.name = "QueueTimeoutError";
  }
}

/** The batcher is closing (the server shuts down): no new work is taken. */
export class BatcherClosedError extends Error {
  constructor() {
    super("the service is shutting down");
    this.name = "BatcherClosedError";
  }
}

/** Scoring the session at `index` of a submitted group failed with `reason` (the model's or encoder's error). */
export class SessionScoreError extends Error {
  constructor(
    readonly index: number,
    readonly reason: unknown,
  ) {
    super(reason instanceof Error ? reason.message : String(reason));
    this.name = "SessionScoreError";
  }
}

interface Job {
  sessions: readonly RawSession[];
  k: number;
  /** When it was queued (Date.now()). */
  queuedAt: number;
  /** Fails it with QueueTimeoutError once it has waited maxQueueWaitMs. */
  timeout: ReturnType<typeof setTimeout>;
  resolve: (results: Recommendation[]) => void;
  reject: (error: unknown) => void;
}

/** A session's recommendation list, or why it failed. */
type Outcome = { ok: true; value: Recommendation } | { ok: false; error: unknown };

export class MicroBatcher {
  private readonly options: Required<MicroBatcherOptions>;
  private queue: Job[] = [];
  private queued = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly score: ScoreBatch,
    options: MicroBatcherOptions = {},
  ) {
    this.options = { ...DEFAULT_BATCHER_OPTIONS, ...options };
    const { maxWaitMs, maxBatchSessions, maxQueuedSessions, maxQueueWaitMs } = this.options;
    if (!(Number.isFinite(maxWaitMs) && maxWaitMs >= 0))
      throw new Error(`MicroBatcher: maxWaitMs must be a number >= 0, got ${maxWaitMs}`);
    if (!(Number.isFinite(maxQueueWaitMs) && maxQueueWaitMs > 0))
      throw new Error(`MicroBatcher: maxQueueWaitMs must be a number > 0, got ${maxQueueWaitMs}`);
    for (const [name, value] of Object.entries({ maxBatchSessions, maxQueuedSessions })) {
      if (!Number.isInteger(value) || value < 1)
        throw new Error(`MicroBatcher: ${name} must be an integer >= 1, got ${value}`);
    }
  }

  /** Sessions waiting to be scored (the call in progress not counted). */
  get queuedSessions(): number {
    return this.queued;
  }

  get capacity(): number {
    return this.options.maxQueuedSessions;
  }

  /**
   * Top-`k` lists for `sessions`, scored together with whatever else arrives within `maxWaitMs`. Rejects with
   * QueueFullError when the queue is full, with QueueTimeoutError when no call took them within `maxQueueWaitMs`
   * (counting the `waitedMs` the request already waited before it was submitted: since it reached the server), with
   * SessionScoreError (index into `sessions`) when a session fails.
   */
  submit(sessions: readonly RawSession[], k: number, waitedMs = 0): Promise<Recommendation[]> {
    if (this.closed) return Promise.reject(new BatcherClosedError());
    if (sessions.length === 0) return Promise.resolve([]);
    if (this.queued + sessions.length > this.options.maxQueuedSessions)
      return Promise.reject(new QueueFullError(this.options.maxQueuedSessions));
    return new Promise<Recommendation[]>((resolve, reject) => {
      const queuedAt = Date.now() - waitedMs;
      const timeout = setTimeout(() => this.expire(job), Math.max(0, this.options.maxQueueWaitMs - waitedMs));
      const job: Job = { sessions, k, queuedAt, resolve, reject, timeout };
      this.queue.push(job);
      this.queued += sessions.length;
      this.schedule();
    });
  }

  /** Takes `job` out of the queue, unscored: it waited too long. */
  private expire(job: Job): void {
    const at = this.queue.indexOf(job);
    if (at < 0) return; // taken by a call meanwhile
    this.queue.splice(at, 1);
    this.queued -= job.sessions.length;
    job.reject(new QueueTimeoutError(Date.now() - job.queuedAt));
  }

  /** Takes no new work and resolves once everything queued has been answered. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running !== null || this.queue.length > 0) {
      if (this.running === null) this.startRun();
      await this.running;
    }
  }

  private schedule(): void {
    if (this.running !== null) return; // the run in progress starts the next one when it ends
    if (this.queued >= this.options.maxBatchSessions) this.startSoon();
    else if (this.timer === null) this.timer = setTimeout(() => this.startRun(), this.options.maxWaitMs);
  }

  /**
   * Starts a run once the requests that have already reached the server are read (setImmediate runs after the
   * event loop's I/O): a model call blocks the loop, and runs started back to back would leave arriving requests
   * unread, their wait unseen by the queue and its bounds.
   */
  private startSoon(): void {
    if (this.immediate === null) this.immediate = setImmediate(() => this.startRun());
  }

  private startRun(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    if (this.running !== null || this.queue.length === 0) return;
    const jobs = this.takeBatch();
    this.running = this.run(jobs).finally(() => {
      this.running = null;
      // Whatever queued meanwhile has waited for a whole run already: score it next.
      if (this.queue.length > 0) this.startSoon();
    });
  }

  /**
   * Whole jobs, up to `maxBatchSessions` sessions (always at least one job): the oldest, or the newest when the
   * oldest has waited BEHIND_FRACTION of maxQueueWaitMs (the queue is falling behind; see the top of this file).
   */
  private takeBatch(): Job[] {
    const behind = Date.now() - this.queue[0].queuedAt >= this.options.maxQueueWaitMs * BEHIND_FRACTION;
    const order = behind ? [...this.queue].reverse() : this.queue;
    let count = 0;
    let n = 0;
    while (n < order.length && (n === 0 || count + order[n].sessions.length <= this.options.maxBatchSessions)) {
      count += order[n].sessions.length;
      n += 1;
    }
    this.queued -= count;
    const jobs = behind ? this.queue.splice(this.queue.length - n, n).reverse() : this.queue.splice(0, n);
    for (const job of jobs) clearTimeout(job.timeout);
    return jobs;
  }

  private async run(jobs: Job[]): Promise<void> {
    const sessions = jobs.flatMap((job) => job.sessions);
    // One call at the largest k asked: a top-k list is the head of any longer top list.
    const k = Math.max(...jobs.map((job) => job.k));
    let outcomes = await this.scoreAll(sessions, k);
    // One bad session must not fail the requests it shares the call with: score them one by one to find it.
    if (!outcomes.every((outcome) => outcome.ok) && sessions.length > 1) {
      outcomes = [];
      for (const session of sessions) outcomes.push(...(await this.scoreAll([session], k)));
    }
    let offset = 0;
    for (const job of jobs) {
      const mine = outcomes.slice(offset, offset + job.sessions.length);
      offset += job.sessions.length;
      const failed = mine.findIndex((outcome) => !outcome.ok);
      if (failed >= 0) job.reject(new SessionScoreError(failed, (mine[failed] as { error: unknown }).error));
      else job.resolve(mine.map((outcome) => headOf((outcome as { value: Recommendation }).value, job.k)));
    }
  }

  private async scoreAll(sessions: readonly RawSession[], k: number): Promise<Outcome[]> {
    try {
      const results = await this.score(sessions, k);
      if (!Array.isArray(results) || results.length !== sessions.length) {
        throw new Error(
          `recommendBatch returned ${Array.isArray(results) ? results.length : typeof results} results for ${sessions.length} sessions`,
        );
      }
      return results.map((value) => ({ ok: true, value }));
    } catch (error) {
      return sessions.map(() => ({ ok: false, error }));
    }
  }
}

function headOf(recommendation: Recommendation, k: number): Recommendation {
  return { items: recommendation.items.slice(0, k), scores: recommendation.scores.slice(0, k) };
}
