// `sessionrec train <dataset-folder> --config <config.json> [--model <name>] --out <model-folder>`: trains the
// config's model(s) and fits its baselines on a prepared data set and saves each as a model folder (weights or
// fitted state, model.json, the data's fitted workflow). The best epoch is picked on the "valid" split when the data set has one and it is scored there;
// otherwise the last epoch is kept and scored on "test" (nothing is chosen on it) or, lacking that, on "train".
import * as path from "path";
import { Command } from "commander";
import { initBackend } from "../../compute/backend";
import { readSplit, type SessionTable } from "../../data/loader";
import type { Workflow } from "../../data/workflow";
import { hasSplit, protocolOf } from "../../config/prepare";
import { readRunConfig } from "../../config/read";
import type { ModelEntry } from "../../config/schema";
import { BASELINE_KINDS } from "../../baselines/index";
import { headlineMetrics, type Protocol } from "../../evaluate/protocols";
import {
  type BaselineConfig,
  createRunBaseline,
  createRunModel,
  itemCount,
  runBaselinesOn,
  runScheme,
  trainRunModel,
  type RunSplits,
} from "../../evaluate/run";
import { saveModelFolder } from "../../model-folder/node";
import { disposeModel } from "../../models/index";
import { checkDatasetFolder, loadDatasetWorkflow } from "../dataset";
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

interface Trained {
  metrics: Record<string, number>;
  /** What the summary line says after the metric. */
  how: string;
}

async function fitBaseline(
  config: BaselineConfig,
  name: string,
  splits: RunSplits,
  protocol: Protocol,
  workflow: Workflow,
  dir: string,
): Promise<Trained> {
  const baseline = createRunBaseline(config, itemCount(splits.train.schema));
  const [{ metrics, trainSeconds }] = runBaselinesOn(splits, protocol, [baseline]);
  await saveModelFolder(dir, { name, baseline, workflow, schema: splits.train.schema, metrics });
  return { metrics, how: `fitted in ${trainSeconds.toFixed(1)} s` };
}

async function trainModel(
  entry: ModelEntry,
  name: string,
  splits: RunSplits,
  scored: string,
  protocol: Protocol,
  workflow: Workflow,
  dir: string,
): Promise<Trained> {
  const schema = splits.train.schema;
  const { model, head } = createRunModel(entry, schema);
  try {
    const run = await trainRunModel(
      model,
      head,
      { ...entry, training: { ...entry.training, curve: entry.training?.curve ?? scored === "valid" } },
      splits,
      protocol,
    );
    await saveModelFolder(dir, { name, model, head, workflow, schema, metrics: run.metrics, scheme: runScheme(model) });
    return { metrics: run.metrics, how: `${run.epochs} epochs, ${run.trainSeconds.toFixed(1)} s` };
  } finally {
    disposeModel({ model, head });
  }
}

async function train(datasetDir: string, options: TrainOptions): Promise<void> {
  const config = await readRunConfig(options.config);
  // Baselines are fitted when the config lists them, or when --model names one (with its default settings).
  const baselines = config.baselines ?? (options.model !== undefined ? BASELINE_KINDS : []);
  const entries = pickEntries(config.models, baselines, options.model, options.config);
  checkDatasetFolder(datasetDir, "train", "<dataset>");
  const scored = ["valid", "test", "train"].find((split) => hasSplit(datasetDir, split)) as string;
  const protocol = protocolOf(config.evaluation);
  await initBackend();
  const [trainTable, scoredTable, workflow]: [SessionTable, SessionTable, Workflow] = await Promise.all([
    readSplit(datasetDir, "train"),
    readSplit(datasetDir, scored),
    loadDatasetWorkflow(datasetDir),
  ]);
  // Scored on valid: its last epoch's figures are the result (nothing else to choose on); see the top of this file.
  const splits: RunSplits = { train: trainTable, test: scoredTable };
  const [headline] = headlineMetrics(protocol);
  for (const entry of entries) {
    const dir = entries.length === 1 ? options.out : path.join(options.out, entry.name);
    const trained =
      "baseline" in entry
        ? await fitBaseline(entry.baseline, entry.name, splits, protocol, workflow, dir)
        : await trainModel(entry.model, entry.name, splits, scored, protocol, workflow, dir);
    const value = trained.metrics[headline];
    process.stdout.write(
      `${entry.name}: ${headline} ${value === undefined ? "n/a" : value.toFixed(4)} on ${scored} (${trained.how}) → ${dir}\n`,
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
