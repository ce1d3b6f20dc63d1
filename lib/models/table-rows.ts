// Rows of a large embedding table, with their gradient summed once per step.
//
// tfjs differentiates each tf.gather of a table into its own table-sized gradient (a zero-filled [rows, dim] with the
// gathered rows' gradients scattered in) and adds those up: a model that gathers the item table for its inputs, for
// each item's neighbours and for a sampled head's candidates, once per length group, wrote and added nine
// [60,418, 128] tensors per step on Nowplaying (~80 of ~690 ms). Inside `sparseTableGradients`, `gatherTableRows` keeps
// each gather's row gradients instead, and the table gets one gradient: a single scatter of all of them.
//
// How, within tfjs's tape: the first gather of a table in the scope makes an anchor, a scalar computed from the
// table; every gather of that table is an op on the anchor (it reads the table itself outside the tape) whose
// gradient hands its rows' gradients to the anchor and gives the anchor zero. The anchor comes before its gathers on
// the tape, so its gradient runs after all of theirs: it scatters every row gradient into the one table-sized
// gradient. The sum is the same as tf.gather's; only the order of its float additions differs.
import * as tf from "@tensorflow/tfjs";

/** Tables smaller than this many floats are gathered by tf.gather as before (the course's small catalogues keep
 *  their figures bit for bit); the saving is in the table-sized passes. */
export const SPARSE_TABLE_MIN_SIZE = 2 ** 20;

/** Each gather's ids [m] and its rows' gradients [m, dim] (once its gradient has run), kept until the scope ends. */
interface RowGradients {
  ids: tf.Tensor1D[];
  rows: tf.Tensor2D[];
}

interface TableGradients extends RowGradients {
  anchor: tf.Tensor;
}

class Scope {
  readonly tables = new Map<tf.Tensor, TableGradients>();
  constructor(readonly minSize: number) {}

  gradientsOf(table: tf.Tensor): TableGradients {
    let entry = this.tables.get(table);
    if (entry === undefined) {
      const gathered: RowGradients = { ids: [], rows: [] };
      const anchor = tf.keep(
        tf.customGrad(() => ({
          value: tf.zeros([]),
          // Runs after every gather of this table has handed over its rows: their one scatter.
          gradFunc: () => scatterRows(gathered, table.shape as [number, number]),
        }))(table),
      );
      entry = Object.assign(gathered, { anchor });
      this.tables.set(table, entry);
    }
    return entry;
  }

  dispose(): void {
    for (const entry of this.tables.values()) {
      entry.anchor.dispose();
      tf.dispose([...entry.ids, ...entry.rows]);
    }
    this.tables.clear();
  }
}

let current: Scope | null = null;

/**
 * Runs `computeGradients` (a tf.variableGrads or optimizer.minimize call) with the gathers of `gatherTableRows` on
 * tables of at least `minSize` floats differentiated into one gradient per table (see the top). One gradient
 * computation per scope; scopes do not nest.
 */
export function sparseTableGradients<T>(computeGradients: () => T, minSize = SPARSE_TABLE_MIN_SIZE): T {
  if (current !== null) throw new Error("sparseTableGradients: scopes do not nest");
  const scope = new Scope(minSize);
  current = scope;
  try {
    return computeGradients();
  } finally {
    current = null;
    scope.dispose();
  }
}

/** tf.gather(table, ids) on axis 0: rows of a [rows, dim] table for ids of any shape → [...ids.shape, dim]. */
export function gatherTableRows(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const scope = current;
  if (scope === null || !(table instanceof tf.Variable) || !table.trainable || table.size < scope.minSize)
    return tf.gather(table, ids);
  const entry = scope.gradientsOf(table);
  const dim = table.shape[1] as number;
  const flatIds = tf.keep(tf.reshape(ids, [-1]) as tf.Tensor1D);
  const index = entry.ids.push(flatIds) - 1;
  return tf.customGrad((...inputs) => ({
    value: tf.reshape(tf.gather(table, flatIds), [...ids.shape, dim]),
    gradFunc: (dy: tf.Tensor | null) => {
      // Rows whose gradient never comes (an unused gather) are left out of the scatter.
      if (dy !== null) entry.rows[index] = tf.keep(tf.reshape(dy, [-1, dim]) as tf.Tensor2D);
      return tf.zerosLike(inputs[0] as tf.Tensor);
    },
  }))(entry.anchor);
}

/** The table's gradient: every kept row gradient added into its row, in the order the gathers ran. */
function scatterRows(entry: RowGradients, shape: [number, number]): tf.Tensor {
  const used = entry.ids.flatMap((_, i) => (entry.rows[i] === undefined ? [] : [i]));
  if (used.length === 0) return tf.zeros(shape);
  const ids = used.length === 1 ? entry.ids[used[0]] : tf.concat(used.map((i) => entry.ids[i]));
  const rows = used.length === 1 ? entry.rows[used[0]] : tf.concat(used.map((i) => entry.rows[i]));
  return tf.unsortedSegmentSum(rows, ids, shape[0]);
}
