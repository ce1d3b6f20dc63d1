import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The demo's modules import the package's browser entry by its published name (see demo/vite.config.ts).
  resolve: { alias: { "sessionrec/browser": fileURLToPath(new URL("./lib/browser.ts", import.meta.url)) } },
  test: {
    include: ["tests/**/*.test.ts"],
    // tfjs backends and DuckDB hold native/wasm state per process: isolate test files in forks.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
