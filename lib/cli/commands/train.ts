// `sessionrec train <dataset-folder> --config <config.json> [--model <name>] --out <model-folder>`: trains the
// config's model(s) on a prepared data set and saves each as a model folder (weights, model.json, the data's fitted
// workflow). The best epoch is picked on the "valid" split when the data set has one and it is scored there;
// otherwise the last epoch is kept and scored on "test" (nothing is chosen on it) or, lacking that, on "train".
import * as path from "path";
import { Command } from "commander";
import { initBackend } from "../../compute/backend";
import { readSplit } from "../../data/loader";
import { hasSplit, protocolOf } from "../../config/prepare";
import { readRunConfig } from "../../config/read";
import type { ModelEntry } from "../../config/schema";
import { headlineMetrics } from "../../evaluate/protocols";
import { createRunModel, runScheme, trainRunModel, type RunSplits } from "../../evaluate/run";
import { saveModelFolder } from "../../model-folder/node";
import { disposeModel } from "../../models/index";
import { checkDatasetFolder, loadDatasetWorkflow } from "../dataset";
import { UsageError } from "../errors";

interface TrainOptions {
  config: string;
  model?: string;
  out: string;
}

/** The config's models that --model picks (all when not given). */
function pickModels(models: readonly ModelEntry[], wanted: string | undefined, file: string): ModelEntry[] {
  const names = models.map((m) => m.name ?? m.kind);
  if (models.length === 0) throw new UsageError(`${file}: the config names no models`);
  if (wanted === undefined) return [...models];
  const picked = models.filter((m) => (m.name ?? m.kind) === wanted);
  if (picked.length === 0) throw new UsageError(`--model ${wanted}: ${file} has no model of that name (it has: ${names.join(", ")})`);
  return picked;
}

async function train(datasetDir: string, options: TrainOptions): Promise<void> {
  const config = await readRunConfig(options.config);
  const models = pickModels(config.models, options.model, options.config);
  checkDatasetFolder(datasetDir, "train", "<dataset>");
  const scored = ["valid", "test", "train"].find((split) => hasSplit(datasetDir, split)) as string;
  const protocol = protocolOf(config.evaluation);
  await initBackend();
  const [trainTable, scoredTable, workflow] = await Promise.all([readSplit(datasetDir, "train"), readSplit(datasetDir, scored), loadDatasetWorkflow(datasetDir)]);
  // Scored on valid: its last epoch's figures are the result (nothing else to choose on); see the top of this file.
  const splits: RunSplits = { train: trainTable, test: scoredTable };
  const [headline] = headlineMetrics(protocol);
  for (const entry of models) {
    const name = entry.name ?? entry.kind;
    const dir = models.length === 1 ? options.out : path.join(options.out, name);
    const { model, head } = createRunModel(entry, trainTable.schema);
    try {
      const run = await trainRunModel(model, head, { ...entry, training: { ...entry.training, curve: entry.training?.curve ?? scored === "valid" } }, splits, protocol);
      await saveModelFolder(dir, { name, model, head, workflow, schema: trainTable.schema, metrics: run.metrics, scheme: runScheme(model) });
      const value = run.metrics[headline];
      process.stdout.write(`${name}: ${headline} ${value === undefined ? "n/a" : value.toFixed(4)} on ${scored} (${run.epochs} epochs, ${run.trainSeconds.toFixed(1)} s) → ${dir}\n`);
    } finally {
      disposeModel({ model, head });
    }
  }
}

export function trainCommand(): Command {
  return new Command("train")
    .description("train the model(s) of a run config on a prepared data set and save each as a model folder")
    .argument("<dataset>", "prepared data set folder (train.parquet, schema.json, workflow/; valid.parquet picks the scored split)")
    .requiredOption("--config <file>", "run config whose models (kind, model, head, training) and evaluation protocol to use")
    .option("--model <name>", "train only the config's model of this name (default: all of them)")
    .requiredOption("--out <folder>", "model folder to write (with several models: <folder>/<name> each)")
    .addHelpText("after", "\nExample:\n  sessionrec train build/data/booking --config configs/course.json --model gru --out build/models/gru\n")
    .action(async (dataset: string, opts: TrainOptions) => {
      await train(dataset, opts);
    });
}
