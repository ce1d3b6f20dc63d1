// Picks and starts the fastest tfjs backend this machine offers, once per process.
// Preference: tensorflow (native, via @tensorflow/tfjs-node[-gpu]) > webgpu (a real GPU adapter) > wasm > cpu.
// The environment variable SESSIONREC_BACKEND (or `initBackend({ backend })`) forces one of them; forced, webgpu
// also runs on a software adapter (Mesa's lavapipe: slow, but it tests the WebGPU path on machines without a GPU).
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "child_process";
import { createRequire } from "module";
import * as path from "path";
import { pathToFileURL } from "url";
// "./kernels/index", not "./kernels": tslab resolves no directory imports.
import { registerCpuKernels, registerWasmKernels, registerWebGpuKernels } from "./kernels/index";

export type BackendName = "tensorflow" | "webgpu" | "wasm" | "cpu";

/** Every backend, fastest first: the order `chooseBackend` tries them in. */
export const BACKEND_NAMES: readonly BackendName[] = ["tensorflow", "webgpu", "wasm", "cpu"];

export interface BackendInfo {
  name: BackendName;
  /** Human-readable specifics, e.g. "SIMD, 1 thread; tfjs 4.22.0". */
  detail: string;
}

export interface BackendOverride {
  value: string;
  /** Where the value came from, for error messages, e.g. "SESSIONREC_BACKEND". */
  source: string;
}

/** What to do when a backend is missing (used in error messages). */
const HOW_TO_GET: Record<BackendName, string> = {
  tensorflow:
    "install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA) next to @tensorflow/tfjs; " +
    "the Docker image does",
  webgpu:
    "it needs the optional `webgpu` npm package and a GPU driver Dawn can use " +
    "(Vulkan on Linux, Metal on macOS, D3D12 on Windows)",
  wasm: "reinstall @tensorflow/tfjs-backend-wasm (npm ci)",
  cpu: "it is always available",
};

/**
 * The backend to use. An override must name a known backend that is available; otherwise the first available
 * backend in preference order. `available` is called lazily, in preference order, and never for "cpu"; `forced`
 * tells it the backend was asked for by name (a software WebGPU adapter then counts).
 */
export function chooseBackend(opts: {
  override?: BackendOverride;
  available: (name: BackendName, forced: boolean) => boolean;
}): BackendName {
  const { override, available } = opts;
  if (override !== undefined && override.value !== "") {
    const name = BACKEND_NAMES.find((candidate) => candidate === override.value);
    if (name === undefined) {
      throw new Error(
        `${override.source}="${override.value}" is not a backend; valid values: ${BACKEND_NAMES.join(", ")}`,
      );
    }
    if (name !== "cpu" && !available(name, true)) {
      throw new Error(
        `${override.source}="${name}" but the ${name} backend is not available here: ${HOW_TO_GET[name]}`,
      );
    }
    return name;
  }
  return BACKEND_NAMES.find((name) => name === "cpu" || available(name, false)) ?? "cpu";
}

// Packages are resolved from this module's own file where the runtime names it (`__filename`: tslab's CommonJS,
// vitest, and the built package through tsup's shim, so an installed sessionrec finds its own dependencies), else
// from the working directory (tsx: lib/ cannot locate itself with import.meta, which tslab cannot compile).
const requireFromRoot = createRequire(
  typeof __filename === "string" ? __filename : path.join(process.cwd(), "package.json"),
);

function resolves(specifier: string): boolean {
  try {
    requireFromRoot.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/** The installed tfjs-node flavour, the GPU one first. */
function tfjsNodePackage(): string | undefined {
  return ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"].find(resolves);
}

/** Result of looking for a WebGPU adapter. */
interface AdapterProbe {
  found: boolean;
  /** A CPU implementation of WebGPU (e.g. lavapipe): used only when webgpu is forced. */
  software?: boolean;
  description?: string;
  error?: string;
}

// Runs in a child process: Dawn prints native warnings straight to stderr when no driver is found, and a
// broken driver can take the process down; neither should reach the caller's process.
const ADAPTER_PROBE_SCRIPT = `
const { create } = await import(process.argv[1]);
const adapter = await create([]).requestAdapter({ powerPreference: "high-performance" });
const info = adapter ? adapter.info ?? {} : {};
const software = adapter != null && Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
const description = [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(" ");
process.stdout.write(JSON.stringify({ found: adapter != null, software, description }));
process.exit(0);
`;

let adapterProbe: AdapterProbe | undefined;

/** Looks for a WebGPU adapter through the `webgpu` package; the answer is cached. */
function probeWebGpuAdapter(): AdapterProbe {
  if (adapterProbe !== undefined) return adapterProbe;
  if (!resolves("webgpu") || !resolves("@tensorflow/tfjs-backend-webgpu")) {
    adapterProbe = { found: false, error: "the webgpu packages are not installed" };
    return adapterProbe;
  }
  const moduleUrl = pathToFileURL(requireFromRoot.resolve("webgpu")).href;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", ADAPTER_PROBE_SCRIPT, moduleUrl], {
    encoding: "utf8",
    timeout: 30_000,
  });
  try {
    adapterProbe = JSON.parse(child.stdout) as AdapterProbe;
  } catch {
    const reason = child.error?.message || child.stderr.trim().split("\n")[0] || `exit code ${child.status}`;
    adapterProbe = { found: false, error: `adapter probe failed: ${reason}` };
  }
  return adapterProbe;
}

/** Whether `name` can be started here; a software WebGPU adapter counts only when `forced`. Cheap except for
 *  webgpu, whose adapter probe (a child process, ~0.1 s) runs once per process. */
export function isBackendAvailable(name: BackendName, forced = false): boolean {
  switch (name) {
    case "tensorflow":
      return tfjsNodePackage() !== undefined;
    case "webgpu": {
      const probe = probeWebGpuAdapter();
      return probe.found && (forced || !probe.software);
    }
    case "wasm":
      return resolves("@tensorflow/tfjs-backend-wasm");
    case "cpu":
      return true;
  }
}

const functionImport = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>;

/** A real `import()`, which tslab's CommonJS output would otherwise turn into `require()` (fails on ESM-only
 *  packages such as `webgpu`). Code compiled in a vm context without a dynamic-import hook (vitest's) cannot
 *  import from a `new Function`; there the plain `import()` is a real one. */
async function importEsm(specifier: string): Promise<unknown> {
  try {
    return await functionImport(specifier);
  } catch (error) {
    if (!String(error).includes("dynamic import callback")) throw error;
    return import(specifier);
  }
}

/** The parts of @tensorflow/tfjs-backend-wasm used here. */
interface WasmBackendModule {
  setWasmPaths(prefix: string): void;
  getThreadsCount(): number;
}

async function activate(name: BackendName): Promise<void> {
  if (!(await tf.setBackend(name))) {
    throw new Error(`tfjs could not initialise the ${name} backend (see the warning above)`);
  }
}

// The starters below run after `startBackend` has checked that their backend is available.

async function startTensorflow(): Promise<string> {
  const pkg = tfjsNodePackage()!;
  requireFromRoot(pkg); // registers the "tensorflow" backend
  if (tf.findBackendFactory("tensorflow") == null) {
    throw new Error(`${pkg} loaded but registered no backend with this copy of @tensorflow/tfjs; versions differ?`);
  }
  await activate("tensorflow");
  const { version } = requireFromRoot(`${pkg}/package.json`) as { version: string };
  return `${pkg} ${version}`;
}

async function startWebGpu(): Promise<string> {
  const probe = probeWebGpuAdapter();
  const { create, globals } = (await importEsm(pathToFileURL(requireFromRoot.resolve("webgpu")).href)) as {
    create(flags: string[]): unknown;
    globals: object;
  };
  // tfjs-backend-webgpu looks for navigator.gpu and the WebGPU classes on globalThis when it is loaded.
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const scope = globalThis as { navigator?: object };
  if (scope.navigator === undefined) scope.navigator = { gpu };
  else Object.defineProperty(scope.navigator, "gpu", { value: gpu, configurable: true });
  requireFromRoot("@tensorflow/tfjs-backend-webgpu");
  registerWebGpuKernels();
  await activate("webgpu");
  const adapter = probe.description || "GPU adapter";
  return probe.software ? `${adapter}; a software adapter, for testing only` : adapter;
}

/** Runs `action`, then removes the uncaughtException/unhandledRejection listeners it added. */
async function droppingNewProcessListeners(action: () => Promise<void>): Promise<void> {
  type Listener = (...args: unknown[]) => void;
  const emitter = process as unknown as {
    listeners(event: string): Listener[];
    removeListener(event: string, listener: Listener): void;
  };
  const events = ["uncaughtException", "unhandledRejection"];
  const before = events.map((event) => new Set(emitter.listeners(event)));
  await action();
  events.forEach((event, i) => {
    for (const listener of emitter.listeners(event)) {
      if (!before[i].has(listener)) emitter.removeListener(event, listener);
    }
  });
}

async function startWasm(): Promise<string> {
  const wasm = requireFromRoot("@tensorflow/tfjs-backend-wasm") as WasmBackendModule;
  // The .wasm binaries sit next to the package's main file; pointing there means nothing is ever fetched.
  wasm.setWasmPaths(path.dirname(requireFromRoot.resolve("@tensorflow/tfjs-backend-wasm")) + path.sep);
  registerWasmKernels();
  // The Emscripten runtime adds process listeners that rethrow every uncaught error from inside its own code,
  // so Node prints a 10 kB line of minified JavaScript above the real error. Errors do not need them.
  await droppingNewProcessListeners(() => activate("wasm"));
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = wasm.getThreadsCount();
  return `${simd ? "SIMD" : "no SIMD"}, ${threads} thread${threads === 1 ? "" : "s"}`;
}

async function startCpu(): Promise<string> {
  registerCpuKernels();
  await activate("cpu");
  // The cpu backend prints a multi-line "install tfjs-node" banner on first use; our own line says it already.
  (tf.backend() as { firstUse?: boolean }).firstUse = false;
  return "plain JS, slow";
}

const STARTERS: Record<BackendName, () => Promise<string>> = {
  tensorflow: startTensorflow,
  webgpu: startWebGpu,
  wasm: startWasm,
  cpu: startCpu,
};

/** The override for `chooseBackend`: an explicit `initBackend({ backend })` wins over SESSIONREC_BACKEND. */
export function backendOverride(
  requested: BackendName | undefined,
  env: Record<string, string | undefined>,
): BackendOverride | undefined {
  if (requested !== undefined) return { value: requested, source: "initBackend({ backend })" };
  const value = env.SESSIONREC_BACKEND;
  return value === undefined ? undefined : { value, source: "SESSIONREC_BACKEND" };
}

/**
 * Loads and selects the named backend (registering our kernels for wasm and cpu), without printing. Lower level
 * than `initBackend`: benchmarks use it to compare backends in one process. Throws when it is unavailable.
 */
export async function startBackend(name: BackendName): Promise<BackendInfo> {
  if (!isBackendAvailable(name, true))
    throw new Error(`the ${name} backend is not available here: ${HOW_TO_GET[name]}`);
  const specifics = await STARTERS[name]();
  return { name, detail: `${specifics}; tfjs ${tf.version.tfjs}` };
}

let started: Promise<BackendInfo> | undefined;

async function start(requested: BackendName | undefined, quiet: boolean): Promise<BackendInfo> {
  const name = chooseBackend({ override: backendOverride(requested, process.env), available: isBackendAvailable });
  const info = await startBackend(name);
  if (!quiet) console.log(`sessionrec: backend ${info.name} (${info.detail})`);
  return info;
}

/**
 * Chooses, loads and selects the tfjs backend (see `chooseBackend`), and prints one line saying which unless
 * `quiet`. Call it before creating tensors. Idempotent: later calls return the first call's info and print
 * nothing; asking for a different backend than the one already running is an error.
 */
export function initBackend(opts: { backend?: BackendName; quiet?: boolean } = {}): Promise<BackendInfo> {
  if (started === undefined) {
    const info = start(opts.backend, opts.quiet ?? false);
    started = info;
    // A failed start may be retried (e.g. with another backend).
    info.catch(() => {
      started = undefined;
    });
    return info;
  }
  return started.then((current) => {
    if (opts.backend !== undefined && opts.backend !== current.name) {
      throw new Error(
        `initBackend: the ${current.name} backend is already running; ` +
          `cannot switch to ${opts.backend} in this process`,
      );
    }
    return current;
  });
}
