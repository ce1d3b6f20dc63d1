// Small WebAssembly modules of our own that work on the wasm backend's memory (Adam's update, the matmul of a
// weight gradient): an assembler for their few instructions, and their instances, one per backend memory. The
// functions are short, so they are assembled here rather than built by a toolchain that would become a dependency.
import type { WasmBackend } from "./wasm-backend";

export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
/** Signed LEB128 of a 32-bit integer (i32.const's immediate). */
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
};
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (text: string): number[] => [...uleb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

// Instructions.
export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const tee = (i: number) => [0x22, ...uleb(i)];
export const i32 = (value: number) => [0x41, ...sleb(value)];
export const I32_ADD = [0x6a];
export const I32_SUB = [0x6b];
export const I32_MUL = [0x6c];
export const I32_LT_U = [0x49];
export const I32_GE_U = [0x4f];
export const I32_EQZ = [0x45];
/** block … end and loop … end (no result); `br_if 1` inside the loop leaves the block, `br 0` repeats the loop. */
export const BLOCK = [0x02, 0x40];
export const LOOP = [0x03, 0x40];
export const IF = [0x04, 0x40];
export const ELSE = [0x05];
export const END = [0x0b];
export const br = (depth: number) => [0x0c, ...uleb(depth)];
export const brIf = (depth: number) => [0x0d, ...uleb(depth)];
export const SELECT = [0x1b];
export const F32_LOAD = [0x2a, 2, 0]; // f32.load align=4 offset=0
/** `local += value` (i32). */
export const increment = (local: number, value: number[]) => [...get(local), ...value, ...I32_ADD, ...set(local)];
/** local · 4: a count of floats as bytes. */
export const bytesOf = (local: number) => [...get(local), ...i32(4), ...I32_MUL];
/** base + row·rowBytes + 4·column: the byte address of a float in a row-major matrix (all four i32 locals). */
export const elementAddress = (base: number, row: number, rowBytes: number, column: number) => [
  ...get(base),
  ...get(row),
  ...get(rowBytes),
  ...I32_MUL,
  ...I32_ADD,
  ...bytesOf(column),
  ...I32_ADD,
];
/** Leaves the enclosing block (the loop's `br_if 1`) once `counter` ≥ `limit` (unsigned). */
export const exitWhenAtLeast = (counter: number, limit: number[]) => [
  ...get(counter),
  ...limit,
  ...I32_GE_U,
  ...brIf(1),
];
/** min(x, y), unsigned: x when x < y, else y. */
export const minimum = (x: number[], y: number[]) => [...x, ...y, ...x, ...y, ...I32_LT_U, ...SELECT];
const simd = (op: number, ...immediates: number[]) => [0xfd, ...uleb(op), ...immediates];
/** v128.load / v128.store with alignment hint 1 byte (any address) and a constant byte offset. */
export const load = (offset = 0) => simd(0x00, 0, ...uleb(offset));
export const store = (offset = 0) => simd(0x0b, 0, ...uleb(offset));
/** v128.load / v128.store whose address is a multiple of 16. */
export const LOAD_ALIGNED = simd(0x00, 4, 0);
export const STORE_ALIGNED = simd(0x0b, 4, 0);
export const ZERO = simd(0x0c, ...Array(16).fill(0)); // v128.const 0
export const SPLAT = simd(0x13); // f32x4.splat
/** i8x16.shuffle of a vector with itself that repeats its float lane `lane` (0–3) in all four lanes. */
export const splatLane = (lane: number) =>
  simd(0x0d, ...[0, 1, 2, 3].flatMap(() => [0, 1, 2, 3].map((b) => lane * 4 + b)));
export const SQRT = simd(0xe3);
export const ADD = simd(0xe4);
export const MUL = simd(0xe6);
export const DIV = simd(0xe7);

/** A module of one exported function `exported` with parameters `params`, locals `locals` (counts by type), and
 *  body `body` (without its final `end`), importing the memory as env.memory. */
export function moduleBytes(
  exported: string,
  params: number[],
  locals: Array<[count: number, type: number]>,
  body: number[],
): Uint8Array {
  const code = [...vector(locals.map(([count, type]) => [...uleb(count), type])), ...body, ...END];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([[0x60, ...vector(params.map((type) => [type])), 0]])), // type: params → ()
    ...section(2, vector([[...name("env"), ...name("memory"), 0x02, 0x00, 0x00]])), // import memory, min 0 pages
    ...section(3, vector([[0]])), // one function of type 0
    ...section(7, vector([[...name(exported), 0x00, 0]])), // export it
    ...section(10, vector([[...uleb(code.length), ...code]])),
  ];
  return Uint8Array.from(bytes);
}

/** The part of the WebAssembly API used here, typed locally: tslab compiles notebook imports without the DOM
 *  library, where the global `WebAssembly` has no types. */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The backend's WebAssembly memory (Emscripten exports it as `asm.memory`). */
function memoryOf(backend: WasmBackend, kernel: string): object {
  const memory = (backend as unknown as { wasm: { asm?: { memory?: unknown } } }).wasm.asm?.memory;
  if (!(memory instanceof wasmApi.Memory)) throw new Error(`${kernel}: the wasm backend does not export its memory`);
  return memory;
}

/** Bytes in the backend's WebAssembly memory now (it grows; offsets below this are readable). */
export function heapBytes(backend: WasmBackend): number {
  return (memoryOf(backend, "heapBytes") as { buffer: ArrayBuffer }).buffer.byteLength;
}

export type WasmFunction = (...args: number[]) => void;

/** A module assembled once and instantiated once per backend memory; its function takes byte offsets into that
 *  memory. */
export class OwnWasmFunction {
  private bytes: Uint8Array | null = null;
  private compiled: object | null = null;
  private readonly instances = new WeakMap<object, WasmFunction>();

  constructor(
    private readonly kernel: string,
    private readonly exported: string,
    private readonly assemble: () => Uint8Array,
  ) {}

  private moduleBytes(): Uint8Array {
    return (this.bytes ??= this.assemble());
  }

  /** Whether this JavaScript engine runs the module (it needs WebAssembly SIMD, as tfjs's SIMD wasm build does). */
  supported(): boolean {
    return wasmApi.validate(this.moduleBytes());
  }

  /** The function, on the memory of `backend`. */
  on(backend: WasmBackend): WasmFunction {
    const memory = memoryOf(backend, this.kernel);
    let f = this.instances.get(memory);
    if (f === undefined) {
      this.compiled ??= new wasmApi.Module(this.moduleBytes());
      f = new wasmApi.Instance(this.compiled, { env: { memory } }).exports[this.exported] as WasmFunction;
      this.instances.set(memory, f);
    }
    return f;
  }
}
