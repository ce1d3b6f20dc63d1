// GCE-GNN's global item graph and its session-aware aggregation (Wang et al., SIGIR 2020, "Global Context Enhanced
// Graph Neural Networks for Session-based Recommendation"; CCIIPLab/GCE-GNN build_graph.py and aggregator.py
// `GlobalAggregator`):
//   graph        item a and item b are neighbours each time they are clicked within `window` positions of each other in
//                a training session (both directions); each item keeps its `neighbours` most frequent neighbours
//   one position h_t its input vector, n_1 … n_S its item's neighbours' embeddings, c_ts how often they met
//                s_t = the mean of the input vectors of positions 0..t (the prefix's, so that position t never sees
//                a later click)
//                π_ts = softmax_s( w2ᵀ LeakyReLU_0.2( W1 [s_t ⊙ n_s ; log(1 + c_ts)] ) )   over the neighbours present
//                out_t = h_t + Dropout( Σ_s π_ts n_s )                                    [batch, seqLen, itemDim]
// Deviations: GCE-GNN's session vector is the whole session's mean (its model is pooled); here the prefix's, so that
// a model trained at every position stays causal. Its weight enters W1 as log(1 + count) (GCE-GNN: the raw count,
// thousands for popular pairs, beside embedding entries of order 0.1). Self-pairs (an item repeated within the window)
// are not neighbours: the item's own vector is already h_t. Its output is h_t plus the aggregate rather than
// GCE-GNN's ReLU(W3 [h_t; aggregate]), so that the result stays in the item table's space (CORE pools it and scores it
// by cosine against that table); ties in count are broken by the smaller item id (GCE-GNN: Python's stable sort).
import * as tf from "@tensorflow/tfjs";
import type { ParameterFactory, SeedSequence } from "./init";
import { dropout } from "./layers";
import { gatherTableRows } from "./table-rows";

/** Each item's most frequent neighbours, as the host arrays a model's buffers hold. */
export interface ItemNeighbours {
  /** Item ids with a row each (ids 0 … nItems − 1; padding and OOV have no neighbours). */
  nItems: number;
  /** Neighbours kept per item. */
  neighbours: number;
  /** Neighbour ids, most frequent first, 0 where an item has fewer: [nItems, neighbours]. */
  ids: Int32Array;
  /** How often each pair met, 0 where there is no neighbour: [nItems, neighbours]. */
  counts: Float32Array;
}

/** GCE-GNN's global graph of `sessions` (item id sequences, oldest click first; ids < 2 are padding / OOV and are
 *  skipped): pairs of clicks at most `window` positions apart, in both directions, counted; each item's
 *  `neighbours` most frequent kept. */
export function itemNeighbours(
  sessions: readonly Int32Array[],
  nItems: number,
  options: { neighbours: number; window: number },
): ItemNeighbours {
  const { neighbours, window } = options;
  if (!(Number.isInteger(neighbours) && neighbours >= 1))
    throw new Error(`itemNeighbours: neighbours must be an integer >= 1, got ${neighbours}`);
  if (!(Number.isInteger(window) && window >= 1))
    throw new Error(`itemNeighbours: window must be an integer >= 1, got ${window}`);
  const pairs: Map<number, number>[] = Array.from({ length: nItems }, () => new Map());
  const meet = (a: number, b: number) => pairs[a].set(b, (pairs[a].get(b) ?? 0) + 1);
  sessions.forEach((session, s) => {
    for (const item of session) {
      if (!(Number.isInteger(item) && item >= 0 && item < nItems))
        throw new Error(`itemNeighbours: session ${s} holds item id ${item}, outside 0 … ${nItems - 1}`);
    }
    for (let k = 1; k <= window; k++) {
      for (let i = 0; i + k < session.length; i++) {
        const a = session[i];
        const b = session[i + k];
        if (a < 2 || b < 2 || a === b) continue;
        meet(a, b);
        meet(b, a);
      }
    }
  });
  const ids = new Int32Array(nItems * neighbours);
  const counts = new Float32Array(nItems * neighbours);
  pairs.forEach((met, item) => {
    const top = [...met].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, neighbours);
    top.forEach(([neighbour, count], j) => {
      ids[item * neighbours + j] = neighbour;
      counts[item * neighbours + j] = count;
    });
  });
  return { nItems, neighbours, ids, counts };
}

/** The aggregation's weights and its item graph (buffers: zeros — no neighbours, the layer the identity — until
 *  `setGraph`). */
export interface GlobalNeighboursLayer {
  readonly neighbours: number;
  /** Puts `graph` into the buffers (its nItems must be the table's rows). */
  setGraph(graph: ItemNeighbours): void;
  /** `x` [batch, seqLen, d] plus each position's aggregate of its item's neighbours in `itemTable` (see the top). */
  apply(
    x: tf.Tensor3D,
    items: tf.Tensor2D,
    mask: tf.Tensor2D,
    itemTable: tf.Tensor,
    dropoutRate: number,
    training: boolean,
    seeds: SeedSequence,
  ): tf.Tensor3D;
}

export function globalNeighboursLayer(
  params: ParameterFactory,
  name: string,
  nItems: number,
  dim: number,
  neighbours: number,
): GlobalNeighboursLayer {
  if (nItems >= 2 ** 24) throw new Error(`${name}: ${nItems} items: ids from 2^24 on are not exact in float32`);
  const scope = params.scope(name);
  const w1 = scope.glorotUniform("w1", [dim + 1, dim]); // GCE-GNN's w_1
  const w2 = scope.glorotUniform("w2", [dim, 1]); // GCE-GNN's w_2
  // Ids are held as float32 (exact below 2^24) so that a model folder saves them with the weights.
  const ids = scope.buffer("neighbourIds", [nItems, neighbours]);
  const logCounts = scope.buffer("neighbourLogCounts", [nItems, neighbours]);
  return {
    neighbours,
    setGraph(graph) {
      if (graph.nItems !== nItems || graph.neighbours !== neighbours)
        throw new Error(
          `${name}: a graph of ${graph.nItems} items × ${graph.neighbours} neighbours, expected ${nItems} × ${neighbours}`,
        );
      tf.tidy(() => {
        ids.assign(tf.tensor2d(Float32Array.from(graph.ids), [nItems, neighbours]));
        logCounts.assign(tf.log1p(tf.tensor2d(graph.counts, [nItems, neighbours])));
      });
    },
    apply: (x, items, mask, itemTable, dropoutRate, training, seeds) =>
      tf.tidy(() => {
        const [batch, seqLen, d] = x.shape;
        // The aggregate is computed at the P real positions only (a padded one has no item, hence no neighbours and
        // an aggregate of 0): batches grouped by length still hold ~40% padding on Nowplaying.
        const positions = realPositions(mask);
        if (positions.length === 0) return tf.clone(x); // nothing but padding: no neighbours anywhere
        const real = tf.tensor1d(positions, "int32"); // [P] indices into batch·seqLen
        const realItems = tf.gather(tf.reshape(items, [-1]), real); // [P]
        const neighbourIds = tf.cast(tf.gather(ids, realItems), "int32"); // [P, S]
        const present = tf.cast(tf.greater(neighbourIds, 0), "float32"); // [P, S]
        const c = tf.gather(logCounts, realItems); // [P, S]
        const n = gatherTableRows(itemTable, neighbourIds); // [P, S, d]
        // The prefix means s_t: a lower-triangular [L, L] of ones times the masked inputs (tf.cumsum's gradient
        // along an inner axis is wrong in tfjs 4.22).
        const m = tf.expandDims(mask, 2); // [b, L, 1]
        const prefix = tf.tile(tf.expandDims(tf.linalg.bandPart(tf.ones([seqLen, seqLen]), -1, 0), 0), [batch, 1, 1]);
        const s = tf.div(tf.matMul(prefix, tf.mul(x, m)), tf.maximum(tf.matMul(prefix, m), 1)); // [b, L, d]
        const realS = tf.gather(tf.reshape(s, [-1, d]), real); // [P, d]
        const features = tf.concat([tf.mul(tf.expandDims(realS, 1), n), tf.expandDims(c, 2)], 2); // [P, S, d + 1]
        const hidden = tf.leakyRelu(tf.matMul(tf.reshape(features, [-1, d + 1]), w1), 0.2); // [P·S, d]
        const scores = tf.reshape(tf.matMul(hidden, w2), [-1, neighbours]); // [P, S]
        // Softmax over the neighbours present; a position with none gets weights 0 (an aggregate of 0).
        const weights = tf.mul(tf.softmax(tf.add(scores, tf.mul(tf.sub(1, present), -1e9))), present);
        const realAggregate = tf.sum(tf.mul(tf.expandDims(weights, 2), n), 1); // [P, d]
        const aggregate = tf.reshape(tf.unsortedSegmentSum(realAggregate, real, batch * seqLen), [batch, seqLen, d]);
        return tf.add(x, dropout(aggregate, dropoutRate, training, seeds)) as tf.Tensor3D;
      }),
  };
}

/** Indices (row × seqLen + position) of the positions where `mask` [batch, seqLen] is not 0. */
function realPositions(mask: tf.Tensor2D): Int32Array {
  const values = mask.dataSync();
  let count = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) count++;
  const positions = new Int32Array(count);
  for (let i = 0, j = 0; i < values.length; i++) if (values[i] !== 0) positions[j++] = i;
  return positions;
}
