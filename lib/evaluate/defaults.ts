// The one table of run defaults: what a training-and-evaluation run uses for every setting its config leaves out
// (lib/evaluate/run.ts for models and baselines, lib/config for config files, the CLI). Where each comes from:
import { EVERY_NEXT_KS } from "./every-next";
import type { ProtocolName } from "./protocols";
import { SAMPLED_KS } from "./sampled-last";

export const RUN_DEFAULTS = {
  /** Epochs per model: the course's tutorial (NVIDIA Merlin, GTC 2023 session-based tutorial) trains 3. */
  epochs: 3,
  /** Sessions per step: the real-data runs (eval:real) found small batches better within a few epochs on 2 CPU
   *  cores (more optimizer steps per epoch); npm start's MLP uses 64 too. */
  batchSize: 64,
  /** Peak learning rate (Adam): the tutorial's 0.005, also the real-data runs' YOOCHOOSE rate. */
  learningRate: 0.005,
  /** Shuffle seed of the training batches: 42, the seed of every run so far (figures in the README are seeded). */
  seed: 42,
  /** How sessions are grouped into steps: "by-length" (cheap on logs of mostly short sessions; see run.ts). */
  batches: "by-length" as const,
  /** With "shuffled" batches: groups of similar length each batch is computed as (fit's `lengthGroups`). */
  lengthGroups: 4,
  /** Pooled models (the MLP) train on every prefix of every session (GRU4Rec-style targets; eval:real's runs). */
  prefixes: true,
  /** Score the evaluated split after every epoch (a learning curve). */
  curve: true,
  /** Cut-offs per protocol: "last" the course's [4, 10] (the Booking.com challenge scores 4 cities), "every-next"
   *  GRU4Rec's [1, 5, 10, 20], "sampled-last" SASRec's [1, 5, 10]. */
  ks: { last: [4, 10], "every-next": EVERY_NEXT_KS, "sampled-last": SAMPLED_KS } as Readonly<
    Record<ProtocolName, readonly number[]>
  >,
  /** Negatives per row and their seed under "sampled-last": SASRec's 100, seed 42. */
  negatives: 100,
  negativesSeed: 42,
  /** Examples per forward pass when scoring under "last" (what the course has always used; the others use 256). */
  lastBatchSize: 512,
  /** The split a run scores, and the one that picks the best epoch when it exists and differs. */
  split: "test",
  selectionSplit: "valid",
  /** The baselines a run fits when its config names none. */
  baselines: ["most-popular", "successor-counts", "v-sknn"] as const,
} as const;
