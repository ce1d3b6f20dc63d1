// The package as others get it: `npm pack` (its prepack builds dist/), the tarball installed offline into a project
// in the system's temporary folder (outside the repository, so nothing resolves from the repository's node_modules
// or lib/), then what a consumer does: type-check a file importing the root and subpaths under Node16 resolution
// (which honours `exports`), run `npx sessionrec --help`, run a script that starts the wasm backend and trains with
// two workers from the installed files, and build a page importing sessionrec/browser with Vite, whose bundle must
// hold no Node built-in or DuckDB module. publint and attw check the tarball. Skipped, with a message, without npm.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consumerProject } from "./helpers/consumer-lock";

const REPO_ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(REPO_ROOT, "node_modules", ".bin");
const TSC = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
const FIXTURE = path.join(REPO_ROOT, "tests", "fixtures", "booking", "train_set.csv");
/** npm pack (a tsup build with declarations) and an offline install, on a busy 2-core box. */
const SETUP_TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 180_000;

const hasNpm = spawnSync("npm", ["--version"], { encoding: "utf8" }).status === 0;
if (!hasNpm) console.warn("package.test: skipping the pack-and-install test, `npm` is not on the PATH");

/** Runs a command; throws with its output when it fails (unless `allowFailure`). */
function run(command: string, args: string[], cwd: string, allowFailure = false): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: SETUP_TIMEOUT_MS });
  if (!allowFailure && result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} (in ${cwd}) failed with status ${result.status}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/**
 * What a Vite browser build holds that a page cannot run: Node built-ins that no package maps away for browsers (Vite
 * stubs them and warns; tfjs's own, which its package.json maps to `false`, are not among them), DuckDB, and
 * imports Vite could not bundle at all.
 */
function nodeOnlyModules(build: PageBuild): string[] {
  const found = new Set<string>();
  for (const warning of build.warnings) {
    const plain = warning.replace(/\u001b\[[0-9;]*m/g, "");
    const stubbed = /Module "([^"]+)" has been externalized for browser compatibility, imported by "([^"]+)"/.exec(
      plain,
    );
    if (stubbed) found.add(`${stubbed[1]} (imported by ${stubbed[2]})`);
  }
  for (const chunk of build.chunks) {
    for (const imported of chunk.imports) found.add(`import "${imported}"`);
    for (const id of chunk.moduleIds) if (/@duckdb|apache-arrow/.test(id)) found.add(id);
  }
  return [...found];
}

/** What build-page.mjs reports of a Vite build. */
interface PageBuild {
  warnings: string[];
  chunks: { imports: string[]; moduleIds: string[] }[];
}

/**
 * A consumer's production build of a page with the repository's Vite, in its own process: Vite warns about stubbed
 * Node built-ins only with NODE_ENV=production, and vitest sets "test".
 */
const BUILD_PAGE_SCRIPT = `import { build, createLogger } from ${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, "node_modules", "vite", "dist", "node", "index.js")).href)};
const root = process.argv[2];
const warnings = [];
const logger = createLogger("warn");
const output = await build({
  root,
  configFile: false,
  customLogger: { ...logger, info: () => {}, warn: (message) => warnings.push(message), warnOnce: (message) => warnings.push(message) },
  cacheDir: root + "/.vite",
  build: { write: false, target: "es2022", reportCompressedSize: false, chunkSizeWarningLimit: 8192 },
});
const chunks = output.output.filter((part) => part.type === "chunk").map((chunk) => ({ imports: [...chunk.imports, ...chunk.dynamicImports], moduleIds: chunk.moduleIds }));
process.stdout.write("\\n" + JSON.stringify({ warnings, chunks }) + "\\n");
`;

describe.skipIf(!hasNpm)("the packed package, installed into a project outside the repository", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "sessionrec-package-"));
  const project = path.join(tmp, "consumer");
  let tarball = "";

  beforeAll(() => {
    run("npm", ["pack", "--pack-destination", tmp], REPO_ROOT);
    const packed = readdirSync(tmp).filter((file) => file.endsWith(".tgz"));
    expect(packed).toHaveLength(1);
    tarball = path.join(tmp, packed[0]);
    mkdirSync(project);
    const spec = `../${packed[0]}`;
    const { manifest, lock } = consumerProject(
      "consumer",
      { spec, file: tarball },
      { manifestFile: path.join(REPO_ROOT, "package.json"), lockFile: path.join(REPO_ROOT, "package-lock.json") },
    );
    writeFileSync(path.join(project, "package.json"), JSON.stringify(manifest, null, 2));
    writeFileSync(path.join(project, "package-lock.json"), JSON.stringify(lock, null, 2));
    run("npm", ["install", "--offline", "--no-audit", "--no-fund", spec], project);
  }, SETUP_TIMEOUT_MS);

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("ships the built files and README, not the sources", () => {
    const files = run("tar", ["-tzf", tarball], tmp).stdout.split("\n").filter(Boolean);
    for (const file of [
      "index.js",
      "index.d.ts",
      "browser.js",
      "browser.d.ts",
      "cli.js",
      "train-worker.js",
      "serve.d.ts",
    ]) {
      expect(files).toContain(`package/dist/${file}`);
    }
    expect(
      files.filter((file) => !file.startsWith("package/dist/") && !file.startsWith("package/configs/")).sort(),
    ).toEqual(["package/README.md", "package/package.json"]);
    expect(files).toContain("package/configs/example.json"); // the run config the README's CLI example starts from
    const installed = JSON.parse(
      readFileSync(path.join(project, "node_modules", "sessionrec", "package.json"), "utf8"),
    );
    expect(installed.private).toBeUndefined();
    // Jupyter's kernel (tslab, with zeromq) is for the notebooks only.
    expect(existsSync(path.join(project, "node_modules", "tslab"))).toBe(false);
  });

  it("passes publint", async () => {
    const data = readFileSync(tarball);
    const { messages, pkg } = await publint({
      pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
      level: "warning",
    });
    const described = messages.map((message) => `${message.type}: ${formatMessage(message, pkg)}`);
    expect(described.filter((line) => line.startsWith("error"))).toEqual([]);
  });

  it("passes attw (@arethetypeswrong/cli) for an ESM-only package", () => {
    // --profile esm-only: the package is ESM only, so CommonJS `require` (node16-cjs) and pre-exports resolution
    // (node10, where no subpath can resolve) are out of scope; node16 from ESM and bundlers must be clean.
    const result = run(
      path.join(BIN, "attw"),
      [tarball, "--profile", "esm-only", "--format", "table-flipped"],
      tmp,
      true,
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it("type-checks a consumer importing the root and subpaths, and rejects a wrong use", () => {
    writeFileSync(
      path.join(project, "consumer.ts"),
      [
        'import { type ModelKind, type Recommendation, MODEL_KINDS, createModel, fit, initBackend, loadModelFolder } from "sessionrec";',
        'import { GRU4REC_PROTOCOL, type Protocol } from "sessionrec/evaluate";',
        'import { type FetchedModel, fetchModel } from "sessionrec/browser";',
        'import { createServer } from "sessionrec/serve";',
        'import { readSplit } from "sessionrec/data";',
        'import { createHeadFor } from "sessionrec/models";',
        'import { createProgress } from "sessionrec/train";',
        "export const kinds: readonly ModelKind[] = MODEL_KINDS;",
        "export const protocol: Protocol = GRU4REC_PROTOCOL;",
        'export const backend: Promise<{ name: string }> = initBackend({ backend: "cpu" });',
        "export const top = async (dir: string): Promise<Recommendation> => (await loadModelFolder(dir)).recommend([], 5);",
        "export const fetched = (url: URL): Promise<FetchedModel> => fetchModel(url);",
        "export const used = [createModel, fit, createServer, readSplit, createHeadFor, createProgress];",
        "",
      ].join("\n"),
    );
    // A wrong backend name and a missing argument: the types must say so (they would not if they were `any`).
    writeFileSync(
      path.join(project, "wrong.ts"),
      [
        'import { initBackend, loadModelFolder } from "sessionrec";',
        'initBackend({ backend: "tpu" });',
        "loadModelFolder();",
        "",
      ].join("\n"),
    );
    const tsconfig = (file: string) => ({
      compilerOptions: {
        module: "node16",
        moduleResolution: "node16",
        target: "ES2022",
        strict: true,
        noEmit: true,
        // tfjs's own declarations do not all pass a full check; sessionrec's are checked through the uses above.
        skipLibCheck: true,
        types: ["node"],
        typeRoots: [path.join(REPO_ROOT, "node_modules", "@types")],
      },
      files: [file],
    });
    writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify(tsconfig("consumer.ts")));
    writeFileSync(path.join(project, "tsconfig.wrong.json"), JSON.stringify(tsconfig("wrong.ts")));
    const good = run(process.execPath, [TSC, "-p", "tsconfig.json"], project, true);
    expect(good.status, good.stdout).toBe(0);
    const wrong = run(process.execPath, [TSC, "-p", "tsconfig.wrong.json"], project, true);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.ts\(2,\d+\): error TS2322: Type '"tpu"' is not assignable/);
    expect(wrong.stdout).toMatch(/wrong\.ts\(3,\d+\): error TS2554: Expected 1 arguments?, but got 0/);
  });

  it(
    "runs `npx sessionrec --help` and `--version`",
    () => {
      const help = run("npx", ["--no-install", "sessionrec", "--help"], project, true);
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/^Usage: sessionrec/m);
      // The version comes from the installed package.json, one folder above dist/cli.js.
      const version = run("npx", ["--no-install", "sessionrec", "--version"], project, true);
      expect(version.stdout.trim()).toBe(
        JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).version,
      );
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "starts the wasm backend, trains with two workers, saves, loads and recommends, from the installed files",
    () => {
      // The first trip of the fixture as raw events, the way a caller of recommend() has them.
      const [header, ...rows] = readFileSync(FIXTURE, "utf8").trim().split("\n");
      const columns = header.split(",");
      const events = rows.map((row) => Object.fromEntries(row.split(",").map((value, i) => [columns[i], value])));
      const trip = events.filter((event) => event.utrip_id === events[0].utrip_id);
      writeFileSync(
        path.join(project, "train.mjs"),
        `import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { SessionLoader, createHeadFor, createModel, createTargetScheme, fit, initBackend, loadModelFolder, prepareBooking, saveModelFolder } from "sessionrec";
const backend = await initBackend({ backend: "wasm", quiet: true });
const dir = mkdtempSync(path.join(os.tmpdir(), "sessionrec-consumer-"));
const prepared = await prepareBooking({ input: process.argv[2], outDir: path.join(dir, "data") });
const loader = await SessionLoader.open(path.join(dir, "data"), "train");
const model = createModel("gru", { units: 8, inputs: { itemDim: 8 } }, loader.table.schema);
const head = createHeadFor(model);
const result = await fit(model, head, loader, { scheme: createTargetScheme("next"), epochs: 1, batchSize: 16, progress: "none", workers: 2 });
await saveModelFolder(path.join(dir, "model"), { name: "consumer", model, head, workflow: prepared.workflow, schema: prepared.schema });
const recommender = await loadModelFolder(path.join(dir, "model"));
const top = await recommender.recommend(JSON.parse(process.argv[3]), 5);
console.log(JSON.stringify({ backend: backend.name, epochs: result.history.length, loss: result.history[0].loss, kind: recommender.manifest.kind, top }));
`,
      );
      const script = run(process.execPath, ["train.mjs", FIXTURE, JSON.stringify(trip)], project, true);
      expect(script.status, `${script.stdout}\n${script.stderr}`).toBe(0);
      const out = JSON.parse(script.stdout.trim().split("\n").pop()!) as {
        backend: string;
        epochs: number;
        loss: number;
        kind: string;
        top: { items: unknown[]; scores: number[] };
      };
      expect(out).toMatchObject({ backend: "wasm", epochs: 1, kind: "gru" });
      expect(Number.isFinite(out.loss) && out.loss > 0).toBe(true);
      expect(out.top.items).toHaveLength(5);
      expect(new Set(out.top.items).size).toBe(5);
      // Items come back as the log's city ids.
      const cities = new Set(events.map((event) => Number(event.city_id)));
      for (const item of out.top.items) expect(cities.has(item as number)).toBe(true);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "builds a page importing sessionrec/browser with Vite, with no Node built-in or DuckDB in the bundle",
    () => {
      const page = (name: string, script: string) => {
        const dir = path.join(project, name);
        mkdirSync(dir, { recursive: true });
        writeFileSync(
          path.join(dir, "index.html"),
          '<!doctype html><html><body><script type="module" src="./main.js"></script></body></html>\n',
        );
        writeFileSync(path.join(dir, "main.js"), script);
        return dir;
      };
      writeFileSync(path.join(project, "build-page.mjs"), BUILD_PAGE_SCRIPT);
      const bundle = (root: string): PageBuild => {
        const result = spawnSync(process.execPath, ["build-page.mjs", root], {
          cwd: project,
          encoding: "utf8",
          env: { ...process.env, NODE_ENV: "production" },
          timeout: STEP_TIMEOUT_MS,
        });
        if (result.status !== 0)
          throw new Error(
            `vite build of ${root} failed (status ${result.status}):\n${result.stdout}\n${result.stderr}`,
          );
        // The report is the last line (whatever Vite prints itself comes before).
        return JSON.parse(result.stdout.trim().split("\n").pop()!) as PageBuild;
      };

      // The entry itself imports nothing but tfjs.
      const entry = readFileSync(path.join(project, "node_modules", "sessionrec", "dist", "browser.js"), "utf8");
      expect([...new Set([...entry.matchAll(/^import\b[^"]*"([^"]+)";?$/gm)].map((match) => match[1]))]).toEqual([
        "@tensorflow/tfjs",
      ]);

      const browserPage = page(
        "page",
        'import { FOLDER_FILES, fetchModel } from "sessionrec/browser";\nconsole.log(FOLDER_FILES.manifest, fetchModel);\n',
      );
      const built = bundle(browserPage);
      expect(
        built.chunks.some((chunk) =>
          chunk.moduleIds.some((id) => id.endsWith(path.join("node_modules", "sessionrec", "dist", "browser.js"))),
        ),
      ).toBe(true);
      expect(nodeOnlyModules(built)).toEqual([]);

      // The check itself: a page that does import Node built-ins is caught.
      const nodePage = page(
        "node-page",
        'import { readFileSync } from "node:fs";\nimport * as path from "path";\nconsole.log(readFileSync, path);\n',
      );
      expect(
        nodeOnlyModules(bundle(nodePage))
          .map((line) => line.split(" ")[0])
          .sort(),
      ).toEqual(["node:fs", "path"]);
    },
    STEP_TIMEOUT_MS,
  );
});
