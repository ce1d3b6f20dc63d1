// Softmax cross-entropy over a whole item catalogue as one op: scores h·Wᵀ + b for every item, mean loss against
// the target items, and a hand-written gradient for h, W and b. Built from tf ops, so it runs on every backend.
// Why: written as matMul(h, Wᵀ) + b followed by a loss, autograd gets dh = dScores·(Wᵀ)ᵀ and dWᵀ = hᵀ·dScores,
// so every chunk of rows transposes W back and re-packs it for the matmul, and transposes the [rows, V] gradient
// and then its [d, V] product. Here dh = G·W reuses W as is (packed once for all chunks) and dW = Gᵀ·h has the
// narrow h as its second operand; the bias gradient is a column sum of G. On wasm this is ~2x faster for 1024
// rows over 40,000 items (see bench/train.ts).
// On wasm, XNNPACK packs a matmul's right operand on every call with a new tensor, ~7 ns per element of W (the item
// table changes every step). With a large table (over 2^20 floats) and few rows (n <= 2d: the YOOCHOOSE GRU's ~96
// targets per step against d = 128) the logits are computed items-first, (W·hᵀ)ᵀ: W is read in place, only the
// small hᵀ is packed, and transposing the [n, items] result costs less than transposing and packing W. With many
// rows Wᵀ is packed once for all chunks.
import * as tf from "@tensorflow/tfjs";
import { crossEntropyRows, sparseSoftmaxCrossEntropy } from "./sparse-softmax-cross-entropy";

/** Largest [rows, items] tensor materialised at once (2^24 floats), as in the output head. */
export const DEFAULT_MAX_CHUNK_ELEMENTS = 2 ** 24;

function checkInputs(hidden: tf.Tensor2D, itemVectors: tf.Tensor2D, bias: tf.Tensor1D, targets: tf.Tensor1D): void {
  const [n, d] = hidden.shape;
  const [items, vectorDim] = itemVectors.shape;
  if (vectorDim !== d)
    throw new Error(
      `catalogueSoftmaxCrossEntropy: hidden [${hidden.shape}] and itemVectors [${itemVectors.shape}] differ in width`,
    );
  if (bias.shape[0] !== items)
    throw new Error(`catalogueSoftmaxCrossEntropy: bias has ${bias.shape[0]} entries for ${items} items`);
  if (targets.shape[0] !== n)
    throw new Error(`catalogueSoftmaxCrossEntropy: ${targets.shape[0]} targets for ${n} rows`);
  if (targets.dtype !== "int32")
    throw new Error(`catalogueSoftmaxCrossEntropy: targets must be int32, got ${targets.dtype}`);
}

/** Item tables up to this many floats (4 MiB) pack quickly enough that the logits keep the usual order h·Wᵀ, whose
 *  rounding the course's figures were measured with. */
const ITEMS_FIRST_MIN_TABLE = 2 ** 20;

/** Whether the logits of n rows of width d over `items` are cheaper as (W·hᵀ)ᵀ than as h·(Wᵀ) on the current backend. */
export function logitsItemsFirst(n: number, d: number, items: number): boolean {
  return tf.getBackend() === "wasm" && n <= 2 * d && items * d > ITEMS_FIRST_MIN_TABLE;
}

/** Row ranges [start, size) of at most `maxChunkElements / items` rows (at least one). */
function chunks(n: number, items: number, maxChunkElements: number): [number, number][] {
  const rows = Math.max(1, Math.floor(maxChunkElements / items));
  const ranges: [number, number][] = [];
  for (let start = 0; start < n; start += rows) ranges.push([start, Math.min(rows, n - start)]);
  return ranges;
}

/**
 * mean over rows i of −log softmax(h_i·Wᵀ + b)[targets_i].
 * hidden [n, d], itemVectors W [items, d], bias b [items] (a very negative bias keeps an item from ever being
 * likely, e.g. padding), targets int32 [n] in [0, items). Gradients flow to hidden, itemVectors and bias.
 * `itemsFirst` picks how the logits are computed (the same values; default: the cheaper way here).
 */
export function catalogueSoftmaxCrossEntropy(
  hidden: tf.Tensor2D,
  itemVectors: tf.Tensor2D,
  bias: tf.Tensor1D,
  targets: tf.Tensor1D,
  maxChunkElements = DEFAULT_MAX_CHUNK_ELEMENTS,
  itemsFirst = logitsItemsFirst(hidden.shape[0], hidden.shape[1], itemVectors.shape[0]),
): tf.Scalar {
  checkInputs(hidden, itemVectors, bias, targets);
  const [n] = hidden.shape;
  const items = itemVectors.shape[0];
  if (n === 0) throw new Error("catalogueSoftmaxCrossEntropy: no rows");
  const ranges = chunks(n, items, maxChunkElements);
  const op = tf.customGrad((...args) => {
    const [h, vectors, b, ids, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const transposed = itemsFirst ? null : (tf.transpose(vectors) as tf.Tensor2D); // [d, items], packed once by the matmul
    const probabilities: tf.Tensor2D[] = [];
    const losses = ranges.map(([start, size]) => {
      const rows = tf.slice(h, [start, 0], [size, -1]) as tf.Tensor2D;
      const logits = (
        transposed === null
          ? tf.add(tf.transpose(tf.matMul(vectors, rows, false, true)), b)
          : tf.fused.matMul({ a: rows, b: transposed, bias: b })
      ) as tf.Tensor2D;
      const chunkProbabilities = tf.softmax(logits) as tf.Tensor2D;
      probabilities.push(chunkProbabilities);
      return tf.sum(crossEntropyRows(logits, chunkProbabilities, tf.slice(ids, [start], [size]) as tf.Tensor1D));
    });
    save([h, vectors, ids, ...probabilities]);
    return {
      value: tf.div(tf.addN(losses), n) as tf.Scalar,
      gradFunc: (dy, saved) => {
        const [savedHidden, savedVectors, savedTargets, ...savedProbabilities] = saved;
        const scale = tf.div(dy, n);
        const dHidden: tf.Tensor2D[] = [];
        const dVectors: tf.Tensor2D[] = [];
        const dBias: tf.Tensor1D[] = [];
        ranges.forEach(([start, size], c) => {
          const oneHot = tf.oneHot(tf.slice(savedTargets, [start], [size]), items, 1, 0, "float32");
          const dLogits = tf.mul(tf.sub(savedProbabilities[c], oneHot), scale) as tf.Tensor2D; // [size, items]
          dHidden.push(tf.matMul(dLogits, savedVectors)); // [size, d]
          dVectors.push(tf.matMul(dLogits, tf.slice(savedHidden, [start, 0], [size, -1]), true, false)); // [items, d]
          dBias.push(tf.sum(dLogits, 0)); // [items]
        });
        return [tf.concat(dHidden, 0), tf.addN(dVectors), tf.addN(dBias), tf.zerosLike(savedTargets)];
      },
    };
  });
  return op(hidden, itemVectors, bias, targets) as tf.Scalar;
}

/** The same loss written the plain way (autograd differentiates it): the reference the tests compare against. */
export function catalogueSoftmaxCrossEntropyReference(
  hidden: tf.Tensor2D,
  itemVectors: tf.Tensor2D,
  bias: tf.Tensor1D,
  targets: tf.Tensor1D,
): tf.Scalar {
  checkInputs(hidden, itemVectors, bias, targets);
  return tf.tidy(() =>
    sparseSoftmaxCrossEntropy(tf.add(tf.matMul(hidden, itemVectors, false, true), bias) as tf.Tensor2D, targets),
  );
}
