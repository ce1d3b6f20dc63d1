// Single-matrix products read in place on the wasm heap: aᵀ·b for a [K, M] and b [K, N] (every weight gradient,
// dW = xᵀ·dy), and a·b for a [M, K], b [K, N] with few rows and a large b (the catalogue softmax's dh = dLogits·W).
// Through tfjs's path the first costs a transpose and XNNPACK's packing of an operand, the second the packing of b,
// new every step: for a tall K and a narrow result, or a large b and few rows, as much as the multiply-adds or more.
// Here each 4 × 8 tile of the result is summed in registers over panels of rows of b (sized to stay in the cache
// while every tile reads them), in one small SIMD module of our own (wasm-module.ts). Every element is summed in the
// order of k, from +0, with float32 multiplies and adds — what XNNPACK's kernels compute for the plain product — so
// the result is bit-identical to tfjs's path; with `rowsPerBlock` below K, to the sum over blocks of k that
// matmul-explicit-transpose.ts uses for a tall right operand (each block's sum from +0, added in block order).
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
  I32_MUL,
  I32_LT_U,
  I32_EQZ,
  BLOCK,
  LOOP,
  IF,
  ELSE,
  END,
  br,
  brIf,
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
  splatLane,
  ADD,
  MUL,
  moduleBytes,
  OwnWasmFunction,
} from "./wasm-module";

/** Rows and columns of the result's tile kept in registers. */
const TILE_ROWS = 4;
const TILE_COLUMNS = 8;

// product(a, b, c, K, M, N, panelRows, lda): c [M, N] = aᵀ·b (a [K, M]) or a·b (a [M, K]); byte offsets a, b, c; M a
// multiple of 4, N of 8 (both above 0); a's rows lda floats apart. The rows of b (and of a transposed) are taken in
// panels of `panelRows`; a tile's sums go to c after each panel and come back for the next one, which leaves the order
// of the additions unchanged.
function panelModuleBytes(left: "transposed" | "plain"): Uint8Array {
  const plain = left === "plain";
  const [A, B, C, K, M, N, KP, LDA] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [m, n, k0, kEnd, count, pa, pb, pc, rowA, rowB] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const PA = [18, 19, 20, 21]; // plain: a's row m + r at column k
  const ACC = [22, 23, 24, 25, 26, 27, 28, 29]; // acc[2r], acc[2r + 1]: row r of the tile, columns 0–3 and 4–7
  const [AV, B0, B1] = [30, 31, 32];
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
  // Per row k of the panel: acc[2r + h] += a[k, m + r] (plain: a[m + r, k]) · b[k, n + 4h … n + 4h + 3].
  const multiplyAdd = [
    ...(plain ? [] : [...get(pa), ...load(0), ...set(AV)]),
    ...get(pb),
    ...load(0),
    ...set(B0),
    ...get(pb),
    ...load(16),
    ...set(B1),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...(plain ? [...get(PA[r]), ...F32_LOAD, ...SPLAT, ...set(AV)] : []),
      ...[0, 1].flatMap((half) => [
        ...get(ACC[2 * r + half]),
        ...get(AV),
        ...(plain ? [] : [...get(AV), ...splatLane(r)]),
        ...get(half === 0 ? B0 : B1),
        ...MUL,
        ...ADD,
        ...set(ACC[2 * r + half]),
      ]),
    ]),
  ];
  // The next row k: a's pointers (the transposed a's next row, or each of the plain a's rows' next column), b's row.
  const nextRow = plain
    ? [...PA.flatMap((p) => add(p, i32(4))), ...add(pb, get(rowB))]
    : [...add(pa, get(rowA)), ...add(pb, get(rowB))];
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
    // transposed: pa = a + k0·rowA + 4m; plain: the rows' pointers a + (m + r)·rowA + 4·k0; pb = b + k0·rowB + 4n
    ...(plain
      ? [
          ...elementAddress(A, m, rowA, k0),
          ...set(pa),
          ...PA.flatMap((p, r) => [...get(pa), ...i32(r), ...get(rowA), ...I32_MUL, ...I32_ADD, ...set(p)]),
        ]
      : [...elementAddress(A, k0, rowA, m), ...set(pa)]),
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
    ...multiplyAdd,
    ...nextRow,
    ...multiplyAdd,
    ...nextRow,
    ...add(count, i32(-2)),
    ...br(0),
    ...END,
    ...END,
    ...get(count),
    ...IF, // the panel's last row when its count is odd
    ...multiplyAdd,
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
    "product",
    Array(8).fill(I32),
    [
      [14, I32],
      [11, V128],
    ],
    body,
  );
}

const atb = new OwnWasmFunction("BatchMatMul (aᵀ·b)", "product", () => panelModuleBytes("transposed"));
const ab = new OwnWasmFunction("BatchMatMul (a·b)", "product", () => panelModuleBytes("plain"));

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

/** Single float32 matrices (any leading 1s) whose product's result is [M, N] with M a multiple of 4 (`rowsAny`:
 *  any M) and N of 8, none of K, M, N 0, on an engine with WebAssembly SIMD. */
function supported(a: tf.TensorInfo, b: tf.TensorInfo, transposed: boolean, rowsAny: boolean): boolean {
  const single = (x: tf.TensorInfo) => x.shape.length >= 2 && x.shape.slice(0, -2).every((d) => d === 1);
  if (!single(a) || !single(b) || a.dtype !== "float32" || b.dtype !== "float32") return false;
  const [k, m] = transposed ? a.shape.slice(-2) : a.shape.slice(-2).reverse();
  const [kb, n] = b.shape.slice(-2);
  const rowsFit = rowsAny || m % TILE_ROWS === 0;
  return (
    k === kb && k > 0 && m > 0 && n > 0 && rowsFit && n % TILE_COLUMNS === 0 && atb.supported() && pack.supported()
  );
}

/** Whether aᵀ·b (a [K, M], b [K, N]) can be computed here: M a multiple of 4 and N of 8. */
export const transposedLeftSupported = (a: tf.TensorInfo, b: tf.TensorInfo): boolean => supported(a, b, true, false);

/** Whether a·b (a [M, K], b [K, N]) can be computed here: N a multiple of 8. */
export const plainInPlaceSupported = (a: tf.TensorInfo, b: tf.TensorInfo): boolean => supported(a, b, false, true);

/** Above this many columns, a transposed a is read from packed copies of that many columns at a time. */
const MAX_IN_PLACE_COLUMNS = 256;
const PACKED_COLUMNS = 64;

/** Floats of b in one panel of rows: 128 KiB, which stays in a core's cache beside a's panel and c's tiles. */
const PANEL_ELEMENTS = 2 ** 15;

/** Σ over blocks of k: `runBlock(start, size, target)` writes one block's product into `target`; the first block's goes
 *  into the result, the others are added to it in order (float32 stores: one rounding per add). */
function sumOverBlocks(
  shape: number[],
  k: number,
  rowsPerBlock: number,
  wasm: WasmBackend,
  runBlock: (start: number, size: number, target: tf.TensorInfo) => void,
): tf.TensorInfo {
  const rows = Math.max(1, Math.min(rowsPerBlock, k));
  const out = wasm.makeOutput(shape, "float32");
  const block = rows < k ? wasm.makeOutput(shape, "float32") : out;
  for (let start = 0; start < k; start += rows) {
    runBlock(start, Math.min(rows, k - start), start === 0 ? out : block);
    if (start > 0) {
      const sum = wasm.typedArrayFromHeap(out);
      const part = wasm.typedArrayFromHeap(block);
      for (let i = 0; i < sum.length; i++) sum[i] += part[i];
    }
  }
  if (block !== out) wasm.disposeData(block.dataId);
  return out;
}

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
  const panelRows = Math.max(2, Math.floor(PANEL_ELEMENTS / n));
  // A wide a is read a column block at a time from a packed copy: in place, each tile's rows of a would be a page
  // apart or more, and the tile loop would miss the TLB on every row.
  const width = m > MAX_IN_PLACE_COLUMNS ? PACKED_COLUMNS : m;
  const packed = width < m ? wasm.makeOutput([Math.min(rowsPerBlock, k), width], "float32") : null;
  const [run, runPack] = [atb.on(wasm), pack.on(wasm)];
  const out = sumOverBlocks([...a.shape.slice(0, -2), m, n], k, rowsPerBlock, wasm, (start, size, target) => {
    // Offsets read after every allocation: they do not move, but views would.
    const [aAt, bAt, targetAt] = [a, b, target].map((t) => wasm.getMemoryOffset(t.dataId));
    for (let column = 0; column < m; column += width) {
      const columns = Math.min(width, m - column);
      let left = aAt + 4 * (start * m + column);
      if (packed !== null) {
        const packedAt = wasm.getMemoryOffset(packed.dataId);
        runPack(left, m, packedAt, size, columns);
        left = packedAt;
      }
      run(left, bAt + 4 * start * n, targetAt + 4 * column * n, size, columns, n, panelRows, packed ? columns : m);
    }
  });
  if (packed !== null) wasm.disposeData(packed.dataId);
  return out;
}

/** a·b as a [..., M, N] tensor (a's leading 1s), summed as transposedLeftProduct's. The last M mod 4 rows go through
 *  a 4-row copy of a (the missing rows 0) and their rows of the result are copied out of a 4-row one. */
export function plainProductInPlace(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  rowsPerBlock: number,
  wasm: WasmBackend,
): tf.TensorInfo {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const panelRows = Math.max(2, Math.floor(PANEL_ELEMENTS / n));
  const whole = m - (m % TILE_ROWS);
  const restA = whole < m ? wasm.makeOutput([TILE_ROWS, k], "float32") : null;
  const restC = whole < m ? wasm.makeOutput([TILE_ROWS, n], "float32") : null;
  if (restA !== null) {
    const rest = wasm.typedArrayFromHeap(restA);
    rest.fill(0);
    rest.set(wasm.typedArrayFromHeap(a).subarray(whole * k, m * k));
  }
  const run = ab.on(wasm);
  const out = sumOverBlocks([...a.shape.slice(0, -2), m, n], k, rowsPerBlock, wasm, (start, size, target) => {
    const [aAt, bAt, targetAt] = [a, b, target].map((t) => wasm.getMemoryOffset(t.dataId));
    if (whole > 0) run(aAt + 4 * start, bAt + 4 * start * n, targetAt, size, whole, n, panelRows, k);
    if (restA !== null && restC !== null) {
      const [restAAt, restCAt] = [restA, restC].map((t) => wasm.getMemoryOffset(t.dataId));
      run(restAAt + 4 * start, bAt + 4 * start * n, restCAt, size, TILE_ROWS, n, panelRows, k);
      const rows = wasm.typedArrayFromHeap(restC).subarray(0, (m - whole) * n);
      wasm.typedArrayFromHeap(target).set(rows, whole * n);
    }
  });
  for (const t of [restA, restC]) if (t !== null) wasm.disposeData(t.dataId);
  return out;
}
