// Builds the demo page: `npx vite build demo` (Vite takes this folder as its root and finds this file) writes
// build/demo/ (index.html + assets/), which the service serves at / (`npm run serve -- --static build/demo`).
// `--outDir DIR` builds elsewhere (the end-to-end test builds into a temporary folder).
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const demoDir = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: demoDir,
  // Relative asset URLs: the page works wherever it is mounted.
  base: "./",
  // The page imports the package's browser entry by its published name (as an app would); here, its source.
  resolve: { alias: { "sessionrec/browser": path.resolve(demoDir, "../lib/browser.ts") } },
  // Keep Vite's cache out of node_modules/.vite, which other tools share.
  cacheDir: path.resolve(demoDir, "../build/.vite-demo"),
  build: {
    outDir: path.resolve(demoDir, "../build/demo"),
    emptyOutDir: true,
    target: "es2022",
    // tfjs (with its webgl and cpu backends) is most of the bundle, ~1.5 MB minified: expected, not a warning.
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
  logLevel: "warn",
});
