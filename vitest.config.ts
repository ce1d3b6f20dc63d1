import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // tfjs backends and DuckDB hold native/wasm state per process: isolate test files in forks.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
