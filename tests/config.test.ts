// Run config files: every config in configs/ parses; a wrong key, a wrong type, an unknown recipe, a setting of
// another protocol and a name used twice each give one line naming the file and the key; `sessionrec check` says
// "ok" or that line, with exit code 0 or 2.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, parseRunConfig, readRunConfig } from "../lib/config";
import { runCliCaptured } from "./helpers/cli-capture";

const REPO_ROOT = join(import.meta.dirname, "..");
const CONFIGS = join(REPO_ROOT, "configs");
const dir = mkdtempSync(join(tmpdir(), "sessionrec-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const valid = {
  data: { folder: "build/data/x" },
  models: [{ kind: "mlp" }, { kind: "gru", training: { epochs: 3 } }],
  evaluation: { protocol: "last" },
};

/** The message parseRunConfig throws for `json`, checked to be a ConfigError marked as the user's. */
function problem(json: unknown): string {
  try {
    parseRunConfig(json, "configs/x.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).usage).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected parseRunConfig to throw");
}

describe("the configs of configs/", () => {
  // models.json is no run config: the model sections the real-data configs share.
  const files = readdirSync(CONFIGS).filter((f) => f.endsWith(".json") && f !== "models.json");

  it("include course, yoochoose, games and an example", () => {
    expect(files.sort()).toEqual(
      expect.arrayContaining(["course.json", "example.json", "games.json", "yoochoose.json"]),
    );
  });

  it.each(files)("%s parses", async (file) => {
    const config = await readRunConfig(join(CONFIGS, file));
    expect(config.models.length).toBeGreaterThan(0);
  });

  it("course.json holds npm start's settings", async () => {
    const config = await readRunConfig(join(CONFIGS, "course.json"));
    expect(config.evaluation).toEqual({ protocol: "last", ks: [4, 10], split: "valid" });
    expect(
      config.models.map((m) => [m.kind, m.training?.batchSize, m.training?.epochs, m.training?.learningRate]),
    ).toEqual([
      ["mlp", 64, 3, 0.005],
      ["gru", 256, 3, 0.005],
      ["transformer", 512, 3, 0.003],
    ]);
  });
});

describe("parseRunConfig", () => {
  it("accepts a valid config and gives models [] when it names none", () => {
    expect(parseRunConfig(valid, "x").models).toHaveLength(2);
    expect(parseRunConfig({ ...valid, models: undefined }, "x").models).toEqual([]);
  });

  it("accepts the srgnn kind with its steps; refuses a step count of 0 and keys it does not have", () => {
    const models = [{ kind: "srgnn", model: { steps: 2, inputs: { itemDim: 32 } } }];
    expect(parseRunConfig({ ...valid, models }, "x").models.map((m) => m.kind)).toEqual(["srgnn"]);
    expect(problem({ ...valid, models: [{ kind: "srgnn", model: { steps: 0 } }] })).toMatch(
      /models\[0\]\.model\.steps/,
    );
    expect(problem({ ...valid, models: [{ kind: "srgnn", model: { heads: 2 } }] })).toMatch(/heads/);
  });

  it("accepts the attention readout, the core kind and the cosine head; refuses an unknown readout", () => {
    const models = [
      { kind: "gru", model: { readout: "attention" } },
      { kind: "transformer", model: { readout: "none" } },
      {
        kind: "core",
        model: { weights: "uniform", inputDropout: 0.1, temperature: 0.1, output: "pooled" },
        head: { cosine: true },
      },
    ];
    expect(parseRunConfig({ ...valid, models }, "x").models.map((m) => m.kind)).toEqual(["gru", "transformer", "core"]);
    expect(problem({ ...valid, models: [{ kind: "gru", model: { readout: "mean" } }] })).toBe(
      'configs/x.json: models[0].model.readout: expected one of "none", "attention", got "mean"',
    );
    expect(problem({ ...valid, models: [{ kind: "core", model: { inputs: { projection: 8 } } }] })).toBe(
      'configs/x.json: models[0].model.inputs: unknown key "projection"',
    );
    expect(
      parseRunConfig({ ...valid, models: [{ kind: "core", head: { itemDropout: 0.2 } }] }, "x").models[0].head,
    ).toEqual({
      itemDropout: 0.2,
    });
    expect(problem({ ...valid, models: [{ kind: "core", head: { itemDropout: 1 } }] })).toBe(
      "configs/x.json: models[0].head.itemDropout: expected a number in [0, 1), got 1",
    );
    for (const reminderBonus of [0, 2.5, "validation"])
      expect(
        parseRunConfig({ ...valid, models: [{ kind: "gru", head: { reminderBonus } }] }, "x").models[0].head,
      ).toEqual({ reminderBonus });
    expect(
      parseRunConfig({ ...valid, baselines: [{ name: "vstan", reminderBonus: "validation" }] }, "x").baselines,
    ).toEqual([{ name: "vstan", reminderBonus: "validation" }]);
    for (const [reminderBonus, shown] of [
      [-1, "-1"],
      ["best", '"best"'],
    ])
      expect(problem({ ...valid, models: [{ kind: "gru", head: { reminderBonus } }] })).toBe(
        `configs/x.json: models[0].head.reminderBonus: expected a number >= 0 or "validation", got ${shown}`,
      );
  });

  it("names the key and what was expected for a wrong type", () => {
    const json = { ...valid, models: [{ kind: "mlp" }, { kind: "gru", training: { epochs: "3" } }] };
    expect(problem(json)).toBe('configs/x.json: models[1].training.epochs: expected a positive integer, got "3"');
  });

  it("refuses an unknown key (a misspelt one would be ignored otherwise)", () => {
    const json = { ...valid, models: [{ kind: "mlp", training: { epoch: 3 } }] };
    expect(problem(json)).toBe('configs/x.json: models[0].training: unknown key "epoch"');
    expect(problem({ ...valid, extra: 1 })).toBe('configs/x.json: (top level): unknown key "extra"');
  });

  it("names the recipes when the recipe is unknown", () => {
    const json = { ...valid, data: { folder: "x", prepare: { recipe: "csv" } } };
    expect(problem(json)).toBe(
      'configs/x.json: data.prepare.recipe: expected one of "booking", "yoochoose", "sequences", "events", got "csv"',
    );
  });

  it("checks each recipe's own options", () => {
    const json = { ...valid, data: { folder: "x", prepare: { recipe: "booking", splitDate: "1 Jan 2017" } } };
    expect(problem(json)).toBe('configs/x.json: data.prepare.splitDate: expected a date YYYY-MM-DD, got "1 Jan 2017"');
  });

  it("says what is missing", () => {
    expect(problem({ data: { folder: "x" }, evaluation: {} })).toBe(
      'configs/x.json: evaluation.protocol: missing (expected one of "last", "every-next", "sampled-last")',
    );
    expect(problem({ evaluation: { protocol: "last" } })).toBe("configs/x.json: data: missing (expected object)");
  });

  it("refuses a model kind or model option it does not know", () => {
    expect(problem({ ...valid, models: [{ kind: "cnn" }] })).toBe(
      'configs/x.json: models[0].kind: expected one of "mlp", "gru", "lstm", "transformer", "core", "srgnn", got "cnn"',
    );
    expect(problem({ ...valid, models: [{ kind: "gru", model: { dModel: 64 } }] })).toBe(
      'configs/x.json: models[0].model: unknown key "dModel"',
    );
  });

  it("refuses settings of another protocol and two models of one name", () => {
    expect(problem({ ...valid, evaluation: { protocol: "last", negatives: 100 } })).toBe(
      'configs/x.json: evaluation.negatives: applies to the protocol "sampled-last" only, not "last"',
    );
    expect(problem({ ...valid, models: [{ kind: "gru" }, { kind: "gru" }] })).toMatch(
      /^configs\/x\.json: models\[1\]: a second model named "gru"/,
    );
  });
});

describe("one default configuration per model (issue 19)", () => {
  const SETS = ["yoochoose.json", "tmall.json", "nowplaying.json"];
  const raw = (file: string) => JSON.parse(readFileSync(join(CONFIGS, file), "utf8")) as Record<string, unknown>;

  it("the real-data configs name the same models file, and read the same model sections", async () => {
    const all = [...SETS, "games.json"];
    for (const file of all) expect({ file, models: raw(file).models }).toEqual({ file, models: "models.json" });
    const shared = JSON.parse(readFileSync(join(CONFIGS, "models.json"), "utf8")) as unknown[];
    for (const file of all) {
      const config = await readRunConfig(join(CONFIGS, file));
      expect({ file, models: config.models }).toEqual({ file, models: shared });
    }
    expect(shared.map((m) => (m as { name?: string; kind: string }).name ?? (m as { kind: string }).kind)).toEqual([
      "gru",
      "gru-readout",
      "transformer",
      "core",
      "core-global",
    ]);
  });

  it("and each carves a validation split from train by time, with the kNN baselines' reminders chosen on it, and refits", async () => {
    for (const file of SETS) {
      const config = await readRunConfig(join(CONFIGS, file));
      expect({ file, validation: config.data.validation, baselines: config.baselines }).toEqual({
        file,
        validation: { fraction: 0.1, refit: true },
        baselines: [
          "most-popular",
          "successor-counts",
          { name: "v-sknn", reminderBonus: "validation" },
          { name: "vstan", reminderBonus: "validation" },
        ],
      });
    }
  });

  it("a models file that is missing or holds no array is named in the error", async () => {
    const config = join(dir, "shared.json");
    writeFileSync(config, JSON.stringify({ ...valid, models: "shared-models.json" }));
    await expect(readRunConfig(config)).rejects.toThrow(
      `${config}: models: cannot read ${join(dir, "shared-models.json")}`,
    );
    writeFileSync(join(dir, "shared-models.json"), JSON.stringify({ kind: "gru" }));
    await expect(readRunConfig(config)).rejects.toThrow(
      `${config}: models: ${join(dir, "shared-models.json")} holds no array of models`,
    );
    writeFileSync(join(dir, "shared-models.json"), JSON.stringify([{ kind: "gru", training: { epochs: "3" } }]));
    await expect(readRunConfig(config)).rejects.toThrow(
      `${config}: models[0].training.epochs: expected a positive integer, got "3"`,
    );
    writeFileSync(join(dir, "shared-models.json"), JSON.stringify([{ kind: "gru" }]));
    expect((await readRunConfig(config)).models).toEqual([{ kind: "gru" }]);
  });
});

describe("readRunConfig", () => {
  it("names the file when it is missing or not JSON", async () => {
    await expect(readRunConfig(join(dir, "none.json"))).rejects.toThrow(`${join(dir, "none.json")}: no such file`);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, '{ "data": ');
    await expect(readRunConfig(broken)).rejects.toThrow(
      new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not valid JSON`),
    );
  });
});

describe("sessionrec check", () => {
  it("prints ok and what the config runs", async () => {
    const run = await runCliCaptured(["check", join(CONFIGS, "course.json")]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `ok: ${join(CONFIGS, "course.json")}: booking recipe → build/data/booking; baselines: most-popular, successor-counts, v-sknn; models: mlp, gru, transformer; protocol last @4,10 on valid\n`,
    );
    expect(run.stderr).toBe("");
  });

  it("prints the one-line error and exits with 2 for a wrong key, and for a missing file", async () => {
    const file = join(dir, "wrong.json");
    writeFileSync(file, JSON.stringify({ ...valid, models: [{ kind: "gru", training: { epochs: "3" } }] }));
    const run = await runCliCaptured(["check", file]);
    expect(run).toEqual({
      code: 2,
      stdout: "",
      stderr: `sessionrec: ${file}: models[0].training.epochs: expected a positive integer, got "3"\n`,
    });
    const missing = await runCliCaptured(["check", join(dir, "missing.json")]);
    expect(missing).toEqual({
      code: 2,
      stdout: "",
      stderr: `sessionrec: ${join(dir, "missing.json")}: no such file\n`,
    });
  });
});
