// SR-GNN's session graph and gated graph layer (Wu et al., AAAI 2019, "Session-based Recommendation with Graph
// Neural Networks"; CRIPAC-DIG/SR-GNN pytorch_code utils.py `get_slice`, model.py `GNN`):
//   nodes      the session's distinct items, in order of first click; every real position is one node (alias)
//   edges      one per pair of consecutive clicks i→j (repeated pairs count once, as in SR-GNN's 0/1 matrix)
//   A_in[i,j]  = e(j→i) / in-degree(i)      A_out[i,j] = e(i→j) / out-degree(i)   (rows of isolated nodes: 0)
//   one step   a_in = A_in (N W_in + b_in) + c_in;  a_out = A_out (N W_out + b_out) + c_out      [batch, nodes, d]
//              r = σ([a_in; a_out] W_ir + N W_hr + b_r), z = σ(… W_iz …), n = tanh([a_in; a_out] W_in' + r ⊙ (N W_hn + b_hn))
//              N' = n + z ⊙ (N − n)     (SR-GNN's GNNCell: a GRU whose input is the graph's messages)
// Deviations: nodes are ordered by first click (SR-GNN sorts them by item id; the layer is the same under any order of
// the nodes) and padding is no node (SR-GNN's np.unique makes id 0 one; it has no edges and no real position).
import * as tf from "@tensorflow/tfjs";
import type { ParameterFactory } from "./init";
import { dense } from "./layers";

/** The graphs of a batch of sessions, as host arrays (row-major). */
export interface SessionGraphs {
  batchSize: number;
  seqLen: number;
  /** Nodes per graph: the most distinct items of any session of the batch (at least 1). */
  nodes: number;
  /** Node of each position, -1 at padding: [batch, seqLen]. */
  alias: Int32Array;
  /** Item of each node, 0 past a session's own nodes: [batch, nodes]. */
  nodeItems: Int32Array;
  /** Normalised incoming and outgoing adjacency: [batch, nodes, nodes]. */
  inbound: Float32Array;
  outbound: Float32Array;
}

/** The session graph of every row of `items` [batch, seqLen]; positions whose `mask` is 0 are padding and break
 *  the chain of clicks (edges join consecutive real positions). */
export function sessionGraphs(items: Int32Array, mask: Float32Array, batchSize: number, seqLen: number): SessionGraphs {
  if (items.length !== batchSize * seqLen || mask.length !== batchSize * seqLen)
    throw new Error(`sessionGraphs: items and mask must hold ${batchSize}×${seqLen} values`);
  const alias = new Int32Array(batchSize * seqLen).fill(-1);
  const rowNodes: number[][] = [];
  for (let r = 0; r < batchSize; r++) {
    const index = new Map<number, number>();
    for (let t = 0; t < seqLen; t++) {
      if (mask[r * seqLen + t] === 0) continue;
      const item = items[r * seqLen + t];
      let node = index.get(item);
      if (node === undefined) index.set(item, (node = index.size));
      alias[r * seqLen + t] = node;
    }
    rowNodes.push([...index.keys()]);
  }
  const nodes = Math.max(1, ...rowNodes.map((n) => n.length));
  const nodeItems = new Int32Array(batchSize * nodes);
  const inbound = new Float32Array(batchSize * nodes * nodes);
  const outbound = new Float32Array(batchSize * nodes * nodes);
  const edge = new Uint8Array(nodes * nodes); // edge[i * nodes + j]: i→j
  for (let r = 0; r < batchSize; r++) {
    rowNodes[r].forEach((item, node) => (nodeItems[r * nodes + node] = item));
    edge.fill(0);
    let previous = -1;
    for (let t = 0; t < seqLen; t++) {
      const node = alias[r * seqLen + t];
      if (node < 0) {
        previous = -1;
        continue;
      }
      if (previous >= 0) edge[previous * nodes + node] = 1;
      previous = node;
    }
    const base = r * nodes * nodes;
    for (let i = 0; i < nodes; i++) {
      let inDegree = 0;
      let outDegree = 0;
      for (let j = 0; j < nodes; j++) {
        inDegree += edge[j * nodes + i];
        outDegree += edge[i * nodes + j];
      }
      for (let j = 0; j < nodes; j++) {
        if (inDegree > 0) inbound[base + i * nodes + j] = edge[j * nodes + i] / inDegree;
        if (outDegree > 0) outbound[base + i * nodes + j] = edge[i * nodes + j] / outDegree;
      }
    }
  }
  return { batchSize, seqLen, nodes, alias, nodeItems, inbound, outbound };
}

/** The one-hot position → node matrix [batch, seqLen, nodes] (zero rows at padding). */
export function aliasMatrix(graphs: SessionGraphs): tf.Tensor3D {
  const { batchSize, seqLen, nodes, alias } = graphs;
  const values = new Float32Array(batchSize * seqLen * nodes);
  alias.forEach((node, position) => {
    if (node >= 0) values[position * nodes + node] = 1;
  });
  return tf.tensor3d(values, [batchSize, seqLen, nodes]);
}

export interface GatedGraphLayer {
  readonly dim: number;
  /** One propagation step: nodes [batch, n, dim], inbound and outbound [batch, n, n] → [batch, n, dim]. */
  apply(nodes: tf.Tensor3D, inbound: tf.Tensor3D, outbound: tf.Tensor3D): tf.Tensor3D;
}

/** SR-GNN's GNNCell (`<name>.edgeIn`, `<name>.edgeOut` (kernel, bias), `<name>.inBias`, `<name>.outBias`,
 *  `<name>.input` (kernel [2d, 3d], bias), `<name>.hidden` (kernel [d, 3d], bias)); gates in the order r, z, n. */
export function gatedGraphLayer(params: ParameterFactory, name: string, dim: number): GatedGraphLayer {
  const scope = params.scope(name);
  const edgeIn = dense(scope, "edgeIn", dim, dim);
  const edgeOut = dense(scope, "edgeOut", dim, dim);
  const inBias = scope.constant("inBias", [dim], 0);
  const outBias = scope.constant("outBias", [dim], 0);
  const input = dense(scope, "input", 2 * dim, 3 * dim);
  const hidden = dense(scope, "hidden", dim, 3 * dim);
  return {
    dim,
    apply: (nodes, inbound, outbound) =>
      tf.tidy(() => {
        const messagesIn = tf.add(tf.matMul(inbound, edgeIn.apply(nodes) as tf.Tensor3D), inBias); // [b, n, d]
        const messagesOut = tf.add(tf.matMul(outbound, edgeOut.apply(nodes) as tf.Tensor3D), outBias); // [b, n, d]
        const gi = input.apply(tf.concat([messagesIn, messagesOut], 2)); // [b, n, 3d]
        const gh = hidden.apply(nodes); // [b, n, 3d]
        const [ir, iz, inew] = tf.split(gi, 3, 2);
        const [hr, hz, hnew] = tf.split(gh, 3, 2);
        const reset = tf.sigmoid(tf.add(ir, hr));
        const update = tf.sigmoid(tf.add(iz, hz));
        const candidate = tf.tanh(tf.add(inew, tf.mul(reset, hnew)));
        return tf.add(candidate, tf.mul(update, tf.sub(nodes, candidate))) as tf.Tensor3D;
      }),
  };
}
