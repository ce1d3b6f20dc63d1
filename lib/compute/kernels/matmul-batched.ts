// A batch of small products a [B, M, K] · b [B, K, N] (attention's q·kᵀ and weights·v, and their gradients) on the
// wasm heap. XNNPACK serves only a single matrix, so tfjs's wasm backend computes a batch in a scalar loop (~0.7
// GFLOP/s), and one XNNPACK call per matrix costs more in calls than it saves below ~2^14 multiply-adds per matrix.
// Here a small SIMD module of our own (wasm-module.ts) sums 16 columns of a row of the result at a time in registers,
// then 4, then the last N mod 4 in one vector of which only those lanes are stored. Each element is summed in the
// order of k over blocks of `rowsPerBlock` rows, each block from +0 and added to the result in order: with 48 rows
// that is the order of tfjs's loop (kBlockSize in its batch_mat_mul_impl.cc), with K rows that of XNNPACK's kernels,
// so the result is bit-identical to either.
import type * as tf from "@tensorflow/tfjs";
import type { WasmBackend } from "./wasm-backend";
import {
  uleb,
  I32,
  V128,
  get,
  set,
  i32,
  I32_ADD,
  I32_SUB,
  I32_MUL,
  I32_GE_U,
  I32_EQZ,
  BLOCK,
  LOOP,
  IF,
  END,
  br,
  brIf,
  SELECT,
  F32_LOAD,
  increment,
  bytesOf,
  elementAddress,
  exitWhenAtLeast,
  minimum,
  load,
  store,
  ZERO,
  SPLAT,
  ADD,
  MUL,
  moduleBytes,
  heapBytes,
  OwnWasmFunction,
} from "./wasm-module";

/** Rows per block of the inner dimension in tfjs's scalar loop. */
export const TFJS_LOOP_BLOCK_ROWS = 48;

const f32Store = (offset: number) => [0x38, 2, ...uleb(offset)];
const extractLane = (lane: number) => [0xfd, 0x1f, lane]; // f32x4.extract_lane

// bmm(a, b, c, batch, M, K, N, rowsPerBlock): byte offsets a, b, c. Reads up to 12 bytes past the end of b (lanes
// of a last, partial vector that are not stored).
function bmmModuleBytes(): Uint8Array {
  const [A, B, C, BATCH, M, K, N, KB] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [e, i, j, k0, kEnd, count, pa, pb, pc, rowA, rowC, rowB] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const ACC = [20, 21, 22, 23]; // up to 16 columns of row i of the result: a block's sums
  const RUN = [24, 25, 26, 27]; // and the sums of the blocks so far
  const S = 28;
  const [loopUntil, add, times4] = [exitWhenAtLeast, increment, bytesOf];
  /**
   * c[i, j … j + 4·vectors) = Σ over k of a[i, k]·b[k, j …], in blocks of k; with `lanes` (1–3), one vector of which
   * only the first `lanes` columns are stored.
   */
  const columns = (vectors: number, lanes = 4) => [
    ...i32(0),
    ...set(k0),
    ...BLOCK,
    ...LOOP, // over blocks of k
    ...loopUntil(k0, get(K)),
    ...minimum([...get(k0), ...get(KB), ...I32_ADD], get(K)),
    ...set(kEnd),
    ...ACC.slice(0, vectors).flatMap((acc) => [...ZERO, ...set(acc)]),
    // pa = rowA + 4·k0, pb = b + k0·rowB + 4j
    ...get(rowA),
    ...times4(k0),
    ...I32_ADD,
    ...set(pa),
    ...elementAddress(B, k0, rowB, j),
    ...set(pb),
    ...get(kEnd),
    ...get(k0),
    ...I32_SUB,
    ...set(count),
    ...BLOCK,
    ...LOOP, // over k in the block
    ...get(count),
    ...I32_EQZ,
    ...brIf(1),
    ...get(pa),
    ...F32_LOAD,
    ...SPLAT,
    ...set(S),
    ...ACC.slice(0, vectors).flatMap((acc, v) => [
      ...get(acc),
      ...get(S),
      ...get(pb),
      ...load(16 * v),
      ...MUL,
      ...ADD,
      ...set(acc),
    ]),
    ...add(pa, i32(4)),
    ...add(pb, get(rowB)),
    ...add(count, i32(-1)),
    ...br(0),
    ...END,
    ...END,
    // the running sums: the block's sums on the first block, else the running sums + the block's sums
    ...ACC.slice(0, vectors).flatMap((acc, v) => [
      ...get(acc),
      ...get(RUN[v]),
      ...get(acc),
      ...ADD,
      ...get(k0),
      ...I32_EQZ,
      ...SELECT,
      ...set(RUN[v]),
    ]),
    ...get(kEnd),
    ...set(k0),
    ...br(0),
    ...END,
    ...END,
    // c[i, j …] = the running sums
    ...get(rowC),
    ...times4(j),
    ...I32_ADD,
    ...set(pc),
    ...RUN.slice(0, vectors).flatMap((run, v) =>
      lanes === 4
        ? [...get(pc), ...get(run), ...store(16 * v)]
        : [...Array(lanes).keys()].flatMap((lane) => [
            ...get(pc),
            ...get(run),
            ...extractLane(lane),
            ...f32Store(4 * lane),
          ]),
    ),
  ];
  /** While j + width ≤ N: the columns from j, then j += width (nothing when N < width: N − width + 1 would wrap). */
  const whileColumns = (width: number, code: number[]) => [
    ...get(N),
    ...i32(width),
    ...I32_GE_U,
    ...IF,
    ...BLOCK,
    ...LOOP,
    ...loopUntil(j, [...get(N), ...i32(width - 1), ...I32_SUB]), // j ≥ N − width + 1
    ...code,
    ...add(j, i32(width)),
    ...br(0),
    ...END,
    ...END,
    ...END,
  ];
  const body = [
    ...times4(N),
    ...set(rowB),
    ...BLOCK,
    ...LOOP, // over the batch: a, b, c advance by a matrix each
    ...loopUntil(e, get(BATCH)),
    ...i32(0),
    ...set(i),
    ...BLOCK,
    ...LOOP, // over rows i
    ...loopUntil(i, get(M)),
    // rowA = a + 4·i·K, rowC = c + 4·i·N
    ...get(A),
    ...get(i),
    ...get(K),
    ...I32_MUL,
    ...i32(4),
    ...I32_MUL,
    ...I32_ADD,
    ...set(rowA),
    ...get(C),
    ...get(i),
    ...get(rowB),
    ...I32_MUL,
    ...I32_ADD,
    ...set(rowC),
    ...i32(0),
    ...set(j),
    ...whileColumns(16, columns(4)),
    ...whileColumns(4, columns(1)),
    // the last N mod 4 columns
    ...[1, 2, 3].flatMap((lanes) => [
      ...get(N),
      ...get(j),
      ...I32_SUB,
      ...i32(lanes),
      0x46, // i32.eq
      ...IF,
      ...columns(1, lanes),
      ...END,
    ]),
    ...add(i, i32(1)),
    ...br(0),
    ...END,
    ...END,
    // the next matrices
    ...add(A, [...get(M), ...get(K), ...I32_MUL, ...i32(4), ...I32_MUL]),
    ...add(B, [...get(K), ...get(rowB), ...I32_MUL]),
    ...add(C, [...get(M), ...get(rowB), ...I32_MUL]),
    ...add(e, i32(1)),
    ...br(0),
    ...END,
    ...END,
  ];
  return moduleBytes(
    "bmm",
    Array(8).fill(I32),
    [
      [12, I32],
      [9, V128],
    ],
    body,
  );
}

const bmm = new OwnWasmFunction("BatchMatMul (batch)", "bmm", bmmModuleBytes);

/** Whether a · b is a batch of float32 products of equal batch shapes a [..., M, K], b [..., K, N] that this module
 *  computes (an engine with WebAssembly SIMD; when N is not a multiple of 4, 16 bytes of the heap after b). */
export function batchedProductSupported(a: tf.TensorInfo, b: tf.TensorInfo, wasm: WasmBackend): boolean {
  if (a.shape.length < 3 || a.shape.length !== b.shape.length) return false;
  if (a.dtype !== "float32" || b.dtype !== "float32") return false;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  if (batchA.some((d, axis) => d !== batchB[axis])) return false;
  if (a.shape[a.shape.length - 1] !== b.shape[b.shape.length - 2] || !bmm.supported()) return false;
  const n = b.shape[b.shape.length - 1];
  const end = wasm.getMemoryOffset(b.dataId) + 4 * b.shape.reduce((x, y) => x * y, 1);
  return n % 4 === 0 || end + 16 <= heapBytes(wasm);
}

/** a [..., M, K] · b [..., K, N] as a [..., M, N] tensor, each element summed over k in blocks of `rowsPerBlock`. */
export function batchedProduct(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  rowsPerBlock: number,
  wasm: WasmBackend,
): tf.TensorInfo {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const batchShape = a.shape.slice(0, -2);
  const batch = batchShape.reduce((x, y) => x * y, 1);
  const out = wasm.makeOutput([...batchShape, m, n], "float32");
  if (batch * m * n === 0) return out;
  const offset = (t: tf.TensorInfo) => wasm.getMemoryOffset(t.dataId);
  if (k === 0) {
    wasm.typedArrayFromHeap(out).fill(0);
    return out;
  }
  bmm.on(wasm)(offset(a), offset(b), offset(out), batch, m, k, n, Math.max(1, rowsPerBlock));
  return out;
}
