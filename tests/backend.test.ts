// Backend choice (pure logic) and starting the wasm backend for real.
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it, vi } from "vitest";
import { backendOverride, chooseBackend, initBackend, type BackendName } from "../lib/compute/index";

/** An availability predicate over a fixed set that records what it was asked, in order. */
function availability(present: BackendName[]) {
  const asked: BackendName[] = [];
  const available = (name: BackendName) => {
    asked.push(name);
    return present.includes(name);
  };
  return { asked, available };
}

const env = (value: string) => ({ value, source: "SESSIONREC_BACKEND" });

describe("chooseBackend without override", () => {
  it("prefers tensorflow and asks about nothing else once it is found", () => {
    const probe = availability(["tensorflow", "webgpu", "wasm"]);
    expect(chooseBackend(probe)).toBe("tensorflow");
    expect(probe.asked).toEqual(["tensorflow"]);
  });

  it("takes webgpu when tensorflow is missing", () => {
    const probe = availability(["webgpu", "wasm"]);
    expect(chooseBackend(probe)).toBe("webgpu");
    expect(probe.asked).toEqual(["tensorflow", "webgpu"]);
  });

  it("takes wasm when neither tensorflow nor webgpu is available", () => {
    const probe = availability(["wasm"]);
    expect(chooseBackend(probe)).toBe("wasm");
    expect(probe.asked).toEqual(["tensorflow", "webgpu", "wasm"]);
  });

  it("falls back to cpu without asking about it", () => {
    const probe = availability([]);
    expect(chooseBackend(probe)).toBe("cpu");
    expect(probe.asked).toEqual(["tensorflow", "webgpu", "wasm"]);
  });

  it("treats an empty override as none", () => {
    expect(chooseBackend({ ...availability(["wasm"]), override: env("") })).toBe("wasm");
  });
});

describe("chooseBackend with override", () => {
  it("returns an available override and probes only it", () => {
    const probe = availability(["tensorflow", "wasm"]);
    expect(chooseBackend({ ...probe, override: env("wasm") })).toBe("wasm");
    expect(probe.asked).toEqual(["wasm"]);
  });

  it("accepts cpu without probing", () => {
    const probe = availability([]);
    expect(chooseBackend({ ...probe, override: env("cpu") })).toBe("cpu");
    expect(probe.asked).toEqual([]);
  });

  it("rejects an unknown name, listing the valid ones", () => {
    expect(() => chooseBackend({ ...availability(["wasm"]), override: env("gpu") })).toThrow(
      'SESSIONREC_BACKEND="gpu" is not a backend; valid values: tensorflow, webgpu, wasm, cpu',
    );
  });

  it("rejects an unavailable backend, saying how to get it", () => {
    const choose = (name: string) => () => chooseBackend({ ...availability(["wasm"]), override: env(name) });
    expect(choose("tensorflow")).toThrow(
      /SESSIONREC_BACKEND="tensorflow" but .* not available here: install @tensorflow\/tfjs-node/,
    );
    expect(choose("webgpu")).toThrow(/not available here: .*`webgpu` npm package and a GPU driver/);
  });
});

describe("a software WebGPU adapter (lavapipe)", () => {
  // webgpu is available only when asked for by name, as isBackendAvailable answers for a software adapter.
  const softwareWebGpu = (name: BackendName, forced: boolean) => name === "wasm" || (name === "webgpu" && forced);

  it("is skipped by the automatic choice", () => {
    expect(chooseBackend({ available: softwareWebGpu })).toBe("wasm");
  });

  it("is used when webgpu is forced", () => {
    expect(chooseBackend({ available: softwareWebGpu, override: env("webgpu") })).toBe("webgpu");
  });
});

describe("backendOverride", () => {
  it("lets the initBackend argument win over SESSIONREC_BACKEND", () => {
    expect(backendOverride("cpu", { SESSIONREC_BACKEND: "wasm" })).toEqual({
      value: "cpu",
      source: "initBackend({ backend })",
    });
  });

  it("reads SESSIONREC_BACKEND otherwise, and is absent when neither is set", () => {
    expect(backendOverride(undefined, { SESSIONREC_BACKEND: "webgpu" })).toEqual(env("webgpu"));
    expect(backendOverride(undefined, {})).toBeUndefined();
  });
});

describe("initBackend on wasm", () => {
  it("selects wasm, prints nothing when quiet, and returns the same info on later calls", async () => {
    const log = vi.spyOn(console, "log");
    const info = await initBackend({ backend: "wasm", quiet: true });
    expect(tf.getBackend()).toBe("wasm");
    expect(info.name).toBe("wasm");
    expect(info.detail).toMatch(/^(no )?SIMD, \d+ threads?; tfjs 4\.22\.0$/);
    expect(await initBackend()).toBe(info);
    expect(await initBackend({ backend: "wasm" })).toBe(info);
    expect(log).not.toHaveBeenCalled();
    log.mockRestore();
  });

  it("refuses to switch to another backend in the same process", async () => {
    await expect(initBackend({ backend: "cpu" })).rejects.toThrow(
      /wasm backend is already running; cannot switch to cpu/,
    );
  });

  it("trains an embedding table one SGD step (gather gradient)", async () => {
    await initBackend({ backend: "wasm", quiet: true });
    const table = tf.variable(
      tf.tensor2d([
        [0, 0],
        [1, 1],
        [2, 2],
      ]),
    );
    const ids = tf.tensor1d([2, 2, 0], "int32");
    // loss = sum(gather(table, ids)): row 2 is used twice, row 0 once, row 1 never.
    tf.train.sgd(0.5).minimize(() => tf.sum(tf.gather(table, ids)), false, [table]);
    expect(Array.from(table.dataSync())).toEqual([0 - 0.5, 0 - 0.5, 1, 1, 2 - 2 * 0.5, 2 - 2 * 0.5]);
  });
});
