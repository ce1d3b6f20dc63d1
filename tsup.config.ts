// `npm run build`: the published package in dist/ (ESM JavaScript + .d.ts). tsup (esbuild underneath) rather than
// plain tsc because lib/ uses extensionless relative imports (moduleResolution Bundler, as tsx, vitest and tslab
// read them), which Node's ESM loader would not resolve in tsc's one-file-per-module output; bundling each entry
// (shared code split into chunks) resolves them at build time.
import { rmSync } from "node:fs";
import { defineConfig, type Options } from "tsup";

// The two builds below write into the same folder at the same time, so neither may clean it: it is emptied once here.
rmSync("dist", { recursive: true, force: true });

const shared: Options = {
  format: "esm",
  outDir: "dist",
  clean: false,
  dts: true,
  sourcemap: false,
  // Dependencies stay imports (tsup's default); tslab is a dev dependency, required only inside a notebook kernel.
  external: ["tslab"],
};

export default defineConfig([
  {
    ...shared,
    entry: {
      index: "lib/index.ts",
      data: "lib/data/index.ts",
      models: "lib/models/index.ts",
      train: "lib/train/index.ts",
      evaluate: "lib/evaluate/index.ts",
      serve: "lib/serve/index.ts",
      cli: "lib/cli/index.ts",
      // The data-parallel training worker: lib/train/parallel/trainer.ts starts it from beside its own module.
      "train-worker": "lib/train/parallel/worker.ts",
    },
    platform: "node",
    target: "node20",
    // Every file lands in dist/ itself, entries and chunks alike, so a module finds its neighbours (the worker)
    // beside itself whichever chunk it ended up in.
    splitting: true,
    // `__dirname`/`__filename` from import.meta.url in the ESM output: lib/ cannot write import.meta (tslab compiles
    // it to CommonJS), so modules that locate files beside themselves test `typeof __dirname` instead.
    shims: true,
  },
  {
    ...shared,
    // sessionrec/browser on its own, one file: no chunk shared with the Node entries, whose shims import Node's
    // path and url modules (tests/package.test.ts checks that a page built from it has no Node built-in).
    entry: { browser: "lib/browser.ts" },
    platform: "browser",
    target: "es2022",
    splitting: false,
    shims: false,
  },
]);
