// aᵀ·b for a [K, M] and b [K, N] on the wasm heap, without transposing a or packing b: every weight gradient is
// such a product (dW = xᵀ·dy), and through tfjs's path it costs a transpose of a plus XNNPACK's packing of an
// operand, which for a tall K (rows of the batch) and a narrow result costs as much as the multiply-adds or more.
// Here each 4 × 8 tile of the result is summed in registers over the rows of a and b, read in place, in one small
// SIMD module of our own (wasm-module.ts). Every element is summed in the order of k, from +0, with float32
// multiplies and adds — what XNNPACK's kernels compute for the plain product — so the result is bit-identical to
// tfjs's path; with `rowsPerBlock` below K, to the sum over blocks of k that matmul-explicit-transpose.ts uses for a
// tall right operand.
import type * as tf from "@tensorflow/tfjs";
import type { WasmBackend } from "./wasm-backend";
import {
  I32,
  V128,
  get,
  set,
  i32,
  I32_ADD,
  I32_SUB,
  I32_LT_U,
  I32_EQZ,
  BLOCK,
  LOOP,
  IF,
  ELSE,
  END,
  br,
  brIf,
  increment,
  bytesOf,
  elementAddress,
  exitWhenAtLeast,
  minimum,
  load,
  store,
  ZERO,
  splatLane,
  ADD,
  MUL,
  moduleBytes,
  OwnWasmFunction,
} from "./wasm-module";

/** Rows and columns of the result's tile kept in registers. */
const TILE_ROWS = 4;
const TILE_COLUMNS = 8;

// atb(a, b, c, K, M, N, panelRows, lda): byte offsets a, b, c; M a multiple of 4, N of 8 (both above 0); a's rows
// lda floats apart. The rows of a and b are taken in panels of `panelRows` (sized so that b's panel stays in the cache
// while every tile of c reads it); a tile's sums go to c after each panel and come back for the next one, which
// leaves the order of the additions unchanged.
function atbModuleBytes(): Uint8Array {
  const [A, B, C, K, M, N, KP, LDA] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [m, n, k0, kEnd, count, pa, pb, pc, rowA, rowB] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const ACC = [18, 19, 20, 21, 22, 23, 24, 25]; // acc[2r], acc[2r + 1]: row r of the tile, columns 0–3 and 4–7
  const [AV, B0, B1] = [26, 27, 28];
  const loopUntil = (counter: number, limit: number) => exitWhenAtLeast(counter, get(limit));
  const [add, times4] = [increment, bytesOf];
  // pc = c + m·rowB + 4n (c's rows are N floats long, as b's); for each row r of the tile, from pc + r·rowB:
  const tileRows = (perHalf: (acc: number, half: number) => number[]) => [
    ...elementAddress(C, m, rowB, n),
    ...set(pc),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...[0, 1].flatMap((half) => perHalf(ACC[2 * r + half], half)),
      ...add(pc, get(rowB)),
    ]),
  ];
  // Per row k of the panel: acc[2r + h] += a[k, m + r] · b[k, n + 4h … n + 4h + 3].
  const multiplyAdd = (offsetA: number, offsetB: number) => [
    ...get(pa),
    ...load(offsetA),
    ...set(AV),
    ...get(pb),
    ...load(offsetB),
    ...set(B0),
    ...get(pb),
    ...load(offsetB + 16),
    ...set(B1),
    ...[0, 1, 2, 3].flatMap((r) =>
      [0, 1].flatMap((half) => [
        ...get(ACC[2 * r + half]),
        ...get(AV),
        ...get(AV),
        ...splatLane(r),
        ...get(half === 0 ? B0 : B1),
        ...MUL,
        ...ADD,
        ...set(ACC[2 * r + half]),
      ]),
    ),
  ];
  const body = [
    ...times4(LDA),
    ...set(rowA),
    ...times4(N),
    ...set(rowB),
    ...BLOCK,
    ...LOOP, // over panels of k
    ...loopUntil(k0, K),
    ...minimum([...get(k0), ...get(KP), ...I32_ADD], get(K)),
    ...set(kEnd),
    ...i32(0),
    ...set(m),
    ...BLOCK,
    ...LOOP, // over tiles' rows m
    ...loopUntil(m, M),
    ...i32(0),
    ...set(n),
    ...BLOCK,
    ...LOOP, // over tiles' columns n
    ...loopUntil(n, N),
    // The tile's sums so far: +0 on the first panel, else what the last panel left in c.
    ...get(k0),
    ...I32_EQZ,
    ...IF,
    ...ACC.flatMap((acc) => [...ZERO, ...set(acc)]),
    ...ELSE,
    ...tileRows((acc, half) => [...get(pc), ...load(16 * half), ...set(acc)]),
    ...END,
    // pa = a + k0·rowA + 4m, pb = b + k0·rowB + 4n
    ...elementAddress(A, k0, rowA, m),
    ...set(pa),
    ...elementAddress(B, k0, rowB, n),
    ...set(pb),
    ...get(kEnd),
    ...get(k0),
    ...I32_SUB,
    ...set(count),
    ...BLOCK,
    ...LOOP, // two rows of the panel at a time
    ...get(count),
    ...i32(2),
    ...I32_LT_U,
    ...brIf(1),
    ...multiplyAdd(0, 0),
    ...add(pa, get(rowA)),
    ...add(pb, get(rowB)),
    ...multiplyAdd(0, 0),
    ...add(pa, get(rowA)),
    ...add(pb, get(rowB)),
    ...add(count, i32(-2)),
    ...br(0),
    ...END,
    ...END,
    ...get(count),
    ...IF, // the panel's last row when its count is odd
    ...multiplyAdd(0, 0),
    ...END,
    ...tileRows((acc, half) => [...get(pc), ...get(acc), ...store(16 * half)]),
    ...add(n, i32(TILE_COLUMNS)),
    ...br(0),
    ...END,
    ...END,
    ...add(m, i32(TILE_ROWS)),
    ...br(0),
    ...END,
    ...END,
    ...get(kEnd),
    ...set(k0),
    ...br(0),
    ...END,
    ...END,
  ];
  return moduleBytes(
    "atb",
    Array(8).fill(I32),
    [
      [10, I32],
      [11, V128],
    ],
    body,
  );
}

const atb = new OwnWasmFunction("BatchMatMul (aᵀ·b)", "atb", atbModuleBytes);

// pack(a, lda, out, K, width): the K × width floats a[k, 0 … width) (rows lda floats apart) into out, rows width
// floats apart; width a multiple of 4.
function packModuleBytes(): Uint8Array {
  const [A, LDA, OUT, K, WIDTH] = [0, 1, 2, 3, 4];
  const [k, i, rowA, rowOut] = [5, 6, 7, 8];
  const body = [
    ...bytesOf(LDA),
    ...set(rowA),
    ...bytesOf(WIDTH),
    ...set(rowOut),
    ...BLOCK,
    ...LOOP, // over rows
    ...exitWhenAtLeast(k, get(K)),
    ...i32(0),
    ...set(i),
    ...BLOCK,
    ...LOOP, // over the row's bytes, 16 at a time
    ...exitWhenAtLeast(i, get(rowOut)),
    ...get(OUT),
    ...get(i),
    ...I32_ADD,
    ...get(A),
    ...get(i),
    ...I32_ADD,
    ...load(0),
    ...store(0),
    ...increment(i, i32(16)),
    ...br(0),
    ...END,
    ...END,
    ...increment(A, get(rowA)),
    ...increment(OUT, get(rowOut)),
    ...increment(k, i32(1)),
    ...br(0),
    ...END,
    ...END,
  ];
  return moduleBytes("pack", Array(5).fill(I32), [[4, I32]], body);
}

const pack = new OwnWasmFunction("BatchMatMul (aᵀ·b)", "pack", packModuleBytes);

/** Whether aᵀ·b of these operands can be computed here: single float32 matrices a [(1,) K, M], b [(1,) K, N] with M
 *  a multiple of 4 and N of 8, none of K, M, N 0, and an engine with WebAssembly SIMD. */
export function transposedLeftSupported(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  const single = (x: tf.TensorInfo) => x.shape.length >= 2 && x.shape.slice(0, -2).every((d) => d === 1);
  if (!single(a) || !single(b) || a.dtype !== "float32" || b.dtype !== "float32") return false;
  const [k, m] = a.shape.slice(-2);
  const [kb, n] = b.shape.slice(-2);
  return (
    k === kb &&
    k > 0 &&
    m > 0 &&
    n > 0 &&
    m % TILE_ROWS === 0 &&
    n % TILE_COLUMNS === 0 &&
    atb.supported() &&
    pack.supported()
  );
}

/** Above this many columns, a is read from packed copies of that many columns at a time. */
const MAX_IN_PLACE_COLUMNS = 256;
const PACKED_COLUMNS = 64;

/** Floats of b in one panel of rows: 128 KiB, which stays in a core's cache beside a's panel and c's tiles. */
const PANEL_ELEMENTS = 2 ** 15;

/** aᵀ·b as a [..., M, N] tensor (a's leading 1s), each element summed in the order of k; with `rowsPerBlock` below
 *  K, as the sum over blocks of that many rows, each block's sum from +0 and added to the result in block order. */
export function transposedLeftProduct(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  rowsPerBlock: number,
  wasm: WasmBackend,
): tf.TensorInfo {
  const [k, m] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const shape = [...a.shape.slice(0, -2), m, n];
  const panelRows = Math.max(2, Math.floor(PANEL_ELEMENTS / n));
  const rows = Math.max(1, Math.min(rowsPerBlock, k));
  const out = wasm.makeOutput(shape, "float32");
  const block = rows < k ? wasm.makeOutput(shape, "float32") : out;
  // A wide a is read a column block at a time from a packed copy: in place, each tile's rows of a would be a page
  // apart or more, and the tile loop would miss the TLB on every row.
  const width = m > MAX_IN_PLACE_COLUMNS ? PACKED_COLUMNS : m;
  const packed = width < m ? wasm.makeOutput([Math.min(rows, k), width], "float32") : null;
  const [runAtb, runPack] = [atb.on(wasm), pack.on(wasm)];
  for (let start = 0; start < k; start += rows) {
    const size = Math.min(rows, k - start);
    const target = start === 0 ? out : block;
    // Offsets read after every allocation above: they do not move, but views would.
    const [aAt, bAt, targetAt] = [a, b, target].map((t) => wasm.getMemoryOffset(t.dataId));
    for (let column = 0; column < m; column += width) {
      const columns = Math.min(width, m - column);
      let left = aAt + 4 * (start * m + column);
      if (packed !== null) {
        const packedAt = wasm.getMemoryOffset(packed.dataId);
        runPack(left, m, packedAt, size, columns);
        left = packedAt;
      }
      runAtb(left, bAt + 4 * start * n, targetAt + 4 * column * n, size, columns, n, panelRows, packed ? columns : m);
    }
    if (start > 0) {
      const sum = wasm.typedArrayFromHeap(out);
      const part = wasm.typedArrayFromHeap(block);
      for (let i = 0; i < sum.length; i++) sum[i] += part[i]; // float32 stores: one rounding per add
    }
  }
  if (packed !== null) wasm.disposeData(packed.dataId);
  if (block !== out) wasm.disposeData(block.dataId);
  return out;
}
