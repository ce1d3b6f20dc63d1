// `sessionrec train <dataset-folder> --config <config.json> [--model <name>] --out <model-folder>`: trains the
// config's model(s) and fits its baselines on a prepared data set and saves each as a model folder (weights or
// fitted state, model.json, the data's fitted workflow). The scored split is the config's evaluation.split, else
// test, valid or train, the first the folder has. A model's best epoch is chosen on the folder's valid split (or, when
// it has none, on the validation the config's data.validation carves from train) and the scored split is read once,
// after training; without a validation split (or when valid is the scored one) the last epoch is kept.
import * as path from "path";
import { Command } from "commander";
import { initBackend } from "../../compute/backend";
import { hasSplit, loadRunData, protocolOf } from "../../config/prepare";
import { readRunConfig } from "../../config/read";
import type { ModelEntry } from "../../config/schema";
import { BASELINE_KINDS } from "../../baselines/index";
import { RUN_DEFAULTS } from "../../evaluate/defaults";
import { headlineMetrics } from "../../evaluate/protocols";
import type { BaselineConfig } from "../../evaluate/run";
import { checkDatasetFolder } from "../dataset";
import { fitAndSaveBaselines, trainAndSaveModel } from "../saved-runs";
import { UsageError } from "../errors";

interface TrainOptions {
  config: string;
  model?: string;
  out: string;
}

/** A model or a baseline of the config, by the name --model picks it by. */
type Entry = { name: string; model: ModelEntry } | { name: string; baseline: BaselineConfig };

/** The config's models and baselines that --model picks (all when not given). */
function pickEntries(
  models: readonly ModelEntry[],
  baselines: readonly BaselineConfig[],
  wanted: string | undefined,
  file: string,
): Entry[] {
  const entries: Entry[] = [
    ...models.map((model) => ({ name: model.name ?? model.kind, model })),
    ...baselines.map((baseline) => ({ name: typeof baseline === "string" ? baseline : baseline.name, baseline })),
  ];
  if (entries.length === 0) throw new UsageError(`${file}: the config names no models and no baselines`);
  if (wanted === undefined) return entries;
  const picked = entries.filter((entry) => entry.name === wanted);
  if (picked.length === 0)
    throw new UsageError(
      `--model ${wanted}: ${file} has no model or baseline of that name (it has: ${entries.map((e) => e.name).join(", ")})`,
    );
  return picked;
}

async function train(datasetDir: string, options: TrainOptions): Promise<void> {
  const config = await readRunConfig(options.config);
  // Baselines are fitted when the config lists them, or when --model names one (with its default settings).
  const baselines = config.baselines ?? (options.model !== undefined ? BASELINE_KINDS : []);
  const entries = pickEntries(config.models, baselines, options.model, options.config);
  checkDatasetFolder(datasetDir, "train", "<dataset>");
  const split = config.evaluation.split ?? ["test", "valid", "train"].find((name) => hasSplit(datasetDir, name))!;
  checkDatasetFolder(datasetDir, split, "<dataset>");
  const protocol = protocolOf(config.evaluation);
  await initBackend();
  // The folder's valid split, else the config's data.validation carved from train: the best epoch is chosen on it.
  const validation = hasSplit(datasetDir, RUN_DEFAULTS.selectionSplit) ? undefined : config.data.validation;
  const data = await loadRunData(datasetDir, split, validation);
  const [headline] = headlineMetrics(protocol);
  const dirOf = (name: string) => (entries.length === 1 ? options.out : path.join(options.out, name));
  for (const entry of entries) {
    const dir = dirOf(entry.name);
    let metrics: Record<string, number>;
    let how: string;
    if ("baseline" in entry) {
      const [run] = await fitAndSaveBaselines([entry.baseline], data, protocol, () => dir);
      [metrics, how] = [run.metrics, `fitted in ${run.trainSeconds.toFixed(1)} s`];
    } else {
      // No learning curve on the scored split unless asked: nothing is chosen on it, and it costs an evaluation an epoch.
      const model = {
        ...entry.model,
        training: { ...entry.model.training, curve: entry.model.training?.curve ?? false },
      };
      const run = await trainAndSaveModel(model, data, protocol, dir);
      const chosen =
        data.valid === undefined
          ? ""
          : `, best ${run.bestEpoch} on ${data.validSource === "carved" ? "the validation carved from train" : "valid"}`;
      const reminders = run.reminderTrials === undefined ? "" : `, reminder bonus ${run.reminderBonus} chosen there`;
      const refit =
        run.refitSeconds === undefined ? "" : `, then ${run.bestEpoch} epoch(s) on the whole train split (refit)`;
      [metrics, how] = [
        run.metrics,
        `${run.epochs} epochs${chosen}${reminders}${refit}, ${run.trainSeconds.toFixed(1)} s`,
      ];
    }
    const value = metrics[headline];
    process.stdout.write(
      `${entry.name}: ${headline} ${value === undefined ? "n/a" : value.toFixed(4)} on ${data.split} (${how}) → ${dir}\n`,
    );
  }
}

export function trainCommand(): Command {
  return new Command("train")
    .description(
      "train the model(s) and fit the baselines of a run config on a prepared data set; save each as a model folder",
    )
    .argument(
      "<dataset>",
      "prepared data set folder (train.parquet, schema.json, workflow/; valid.parquet picks the scored split)",
    )
    .requiredOption(
      "--config <file>",
      "run config whose models (kind, model, head, training) and evaluation protocol to use",
    )
    .option(
      "--model <name>",
      "train only the config's model or baseline of this name, e.g. gru or v-sknn (default: all of them)",
    )
    .requiredOption("--out <folder>", "model folder to write (with several models: <folder>/<name> each)")
    .addHelpText(
      "after",
      "\nExample:\n  sessionrec train build/data/booking --config configs/course.json --model gru --out build/models/gru\n",
    )
    .action(async (dataset: string, opts: TrainOptions) => {
      await train(dataset, opts);
    });
}
