// How the replicas of a data-parallel step combine their gradients: each contributes its gradient (already weighted
// by its share of the batch's targets) as one flat vector, and every replica gets back the same sum, added in rank
// order, so that all of them apply bit-identical updates. Worker threads exchange through shared memory; a later
// multi-GPU trainer plugs in another implementation of the same interface.

export interface GradientExchange {
  /** Number of replicas taking part in every `allReduce`. */
  readonly size: number;
  /** Length of the vectors exchanged. */
  readonly length: number;
  /** Where replica `rank` writes its contribution (`length` floats) before calling `allReduce`; zeros at first, then
   *  whatever it wrote last: overwrite all of it. Writing into it directly saves a copy of the whole gradient. */
  slot(rank: number): Float32Array;
  /**
   * Contributes replica `rank`'s slot and resolves with the sum over all replicas, in rank order. The result is a
   * view that the next `allReduce` overwrites: copy what must outlive it.
   */
  allReduce(rank: number): Promise<Float32Array>;
}

/** Replicas in one thread (tests, and the plumbing of a 1-replica run): the call of the last rank to arrive sums. */
export class InProcessExchange implements GradientExchange {
  private readonly slots: Float32Array[];
  private readonly arrived: boolean[];
  private readonly waiting: ((sum: Float32Array) => void)[] = [];
  private readonly sum: Float32Array;

  constructor(
    readonly size: number,
    readonly length: number,
  ) {
    checkShape(size, length);
    this.slots = Array.from({ length: size }, () => new Float32Array(length));
    this.arrived = new Array<boolean>(size).fill(false);
    this.sum = new Float32Array(length);
  }

  slot(rank: number): Float32Array {
    checkRank(this, rank);
    return this.slots[rank];
  }

  allReduce(rank: number): Promise<Float32Array> {
    checkRank(this, rank);
    if (this.arrived[rank]) throw new Error(`InProcessExchange: rank ${rank} contributed twice to one allReduce`);
    this.arrived[rank] = true;
    const result = new Promise<Float32Array>((resolve) => this.waiting.push(resolve));
    if (this.arrived.every(Boolean)) {
      sumInRankOrder(this.slots, this.sum, 0, this.length);
      this.arrived.fill(false);
      for (const resolve of this.waiting.splice(0)) resolve(this.sum);
    }
    return result;
  }
}

/** Thrown to a replica waiting in an exchange that another replica has given up on. */
export class ExchangeAborted extends Error {
  constructor() {
    super("gradient exchange aborted: another replica failed");
  }
}

// Layout of the shared control words (Int32).
const ARRIVED = 0; // replicas that have reached the current barrier
const GENERATION = 1; // barriers passed so far; waiters watch it change
const FAILED = 2; // 1 once any replica has given up: every waiter throws
const CONTROL_WORDS = 3;
/** How long a waiting replica sleeps between checks that the others are still alive (ms). */
const WAIT_SLICE_MS = 1000;

/**
 * Replicas in worker threads (the main thread counts as one): one SharedArrayBuffer holds a slot per rank and the
 * sum. allReduce = write my slot; barrier; sum my 1/size of the elements over all slots in rank order; barrier.
 * Every thread builds its own `SharedMemoryExchange` over the same buffer (`SharedMemoryExchange.buffer`).
 */
export class SharedMemoryExchange implements GradientExchange {
  readonly size: number;
  readonly length: number;
  private readonly control: Int32Array;
  private readonly slots: Float32Array[];
  private readonly sum: Float32Array;

  /** A buffer for `size` replicas exchanging vectors of `length` floats. */
  static buffer(size: number, length: number): SharedArrayBuffer {
    checkShape(size, length);
    return new SharedArrayBuffer(CONTROL_WORDS * 4 + (size + 1) * length * 4);
  }

  constructor(
    readonly shared: SharedArrayBuffer,
    size: number,
    length: number,
  ) {
    checkShape(size, length);
    if (shared.byteLength !== CONTROL_WORDS * 4 + (size + 1) * length * 4) {
      throw new Error(
        `SharedMemoryExchange: buffer of ${shared.byteLength} bytes does not fit ${size} replicas × ${length} floats`,
      );
    }
    this.size = size;
    this.length = length;
    this.control = new Int32Array(shared, 0, CONTROL_WORDS);
    const slot = (i: number) => new Float32Array(shared, CONTROL_WORDS * 4 + i * length * 4, length);
    this.slots = Array.from({ length: size }, (_, i) => slot(i));
    this.sum = slot(size);
  }

  slot(rank: number): Float32Array {
    checkRank(this, rank);
    return this.slots[rank];
  }

  async allReduce(rank: number): Promise<Float32Array> {
    checkRank(this, rank);
    await this.barrier();
    const start = Math.floor((rank * this.length) / this.size);
    const end = Math.floor(((rank + 1) * this.length) / this.size);
    sumInRankOrder(this.slots, this.sum, start, end);
    await this.barrier();
    return this.sum;
  }

  /** Makes every replica waiting now or later throw: a replica failed and the step can never complete. */
  abort(): void {
    Atomics.store(this.control, FAILED, 1);
    Atomics.notify(this.control, GENERATION);
  }

  private async barrier(): Promise<void> {
    const generation = Atomics.load(this.control, GENERATION);
    this.throwIfFailed();
    if (Atomics.add(this.control, ARRIVED, 1) === this.size - 1) {
      Atomics.store(this.control, ARRIVED, 0);
      Atomics.add(this.control, GENERATION, 1);
      Atomics.notify(this.control, GENERATION);
      return;
    }
    while (Atomics.load(this.control, GENERATION) === generation) {
      this.throwIfFailed();
      // waitAsync, not wait: the main thread must keep handling its workers' messages (errors) while it waits.
      const wait = Atomics.waitAsync(this.control, GENERATION, generation, WAIT_SLICE_MS);
      if (wait.async) await wait.value;
    }
  }

  private throwIfFailed(): void {
    if (Atomics.load(this.control, FAILED) !== 0) throw new ExchangeAborted();
  }
}

function checkShape(size: number, length: number): void {
  if (!(Number.isInteger(size) && size >= 1))
    throw new Error(`gradient exchange: size must be an integer >= 1, got ${size}`);
  if (!(Number.isInteger(length) && length >= 1))
    throw new Error(`gradient exchange: length must be an integer >= 1, got ${length}`);
}

function checkRank(exchange: GradientExchange, rank: number): void {
  if (!(Number.isInteger(rank) && rank >= 0 && rank < exchange.size))
    throw new Error(`gradient exchange: rank ${rank} outside [0, ${exchange.size})`);
}

/** sum[i] = ((slots[0][i] + slots[1][i]) + …) for i in [start, end): the same order, hence the same bits, everywhere. */
function sumInRankOrder(slots: Float32Array[], sum: Float32Array, start: number, end: number): void {
  sum.set(slots[0].subarray(start, end), start);
  for (let r = 1; r < slots.length; r++) {
    const slot = slots[r];
    for (let i = start; i < end; i++) sum[i] += slot[i];
  }
}
