// `sessionrec evaluate <model-folder...> --data <dataset-folder>`: scores saved models on a split of a prepared data
// set under a protocol and prints one row of metrics per folder (or JSON with --json). A model folder is scored only
// on data prepared by the same fitted workflow (the same vocabularies), which is checked first.
import { Command, Option } from "commander";
import { initBackend } from "../../compute/backend";
import { readSplit } from "../../data/loader";
import { RUN_DEFAULTS } from "../../evaluate/defaults";
import {
  PROTOCOL_NAMES,
  evaluateModelOn,
  evaluateRecommenderOn,
  protocolKs,
  type Protocol,
  type ProtocolName,
} from "../../evaluate/protocols";
import { Workflow } from "../../data/workflow";
import { loadTrained, schemaMismatch } from "../../model-folder/trained";
import { textTable } from "../../report/plot";
import * as path from "path";
import { WORKFLOW_FOLDER } from "../../data/dataset";
import { checkDatasetFolder, loadDatasetWorkflow, workflowDifference } from "../dataset";
import { UsageError } from "../errors";

interface EvaluateOptions {
  data: string;
  protocol: ProtocolName;
  k?: number[];
  split: string;
  json?: boolean;
}

export interface FolderScore {
  folder: string;
  name: string;
  kind: string;
  metrics: Record<string, number>;
}

/** `--k 10,20` → [10, 20]. */
export function parseCutoffs(value: string): number[] {
  const ks = value.split(",").map((part) => Number(part.trim()));
  if (value.trim() === "" || ks.some((k) => !Number.isInteger(k) || k < 1))
    throw new UsageError(`--k ${value}: expected positive integers separated by commas, e.g. 10,20`);
  return ks;
}

async function evaluate(folders: string[], options: EvaluateOptions): Promise<void> {
  checkDatasetFolder(options.data, options.split, "--data");
  const protocol: Protocol = { name: options.protocol, ks: options.k ?? RUN_DEFAULTS.ks[options.protocol] };
  await initBackend();
  const [table, dataWorkflow] = await Promise.all([
    readSplit(options.data, options.split),
    loadDatasetWorkflow(options.data),
  ]);
  const scores: FolderScore[] = [];
  for (const folder of folders) {
    const trained = loadTrained(folder);
    try {
      const modelWorkflow = await Workflow.load(path.join(folder, WORKFLOW_FOLDER));
      const difference =
        workflowDifference(modelWorkflow, dataWorkflow) ?? schemaMismatch(trained.manifest.schema, table.schema);
      if (difference !== null) {
        throw new UsageError(
          `${folder}: not trained on data prepared like ${options.data}: ${difference}; evaluate it on the data set it was trained on (the same workflow), or train it on this one`,
        );
      }
      const { values } =
        "baseline" in trained
          ? evaluateRecommenderOn(trained.baseline, table, protocol)
          : await evaluateModelOn(trained.model, trained.head, table, protocol);
      scores.push({ folder, name: trained.manifest.name, kind: trained.manifest.kind, metrics: values });
    } finally {
      if (!("baseline" in trained)) trained.dispose();
    }
  }
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ data: options.data, split: options.split, protocol, results: scores }, null, 2)}\n`,
    );
    return;
  }
  const keys = protocolKs(protocol).flatMap((k) => ["recall", "mrr", "ndcg"].map((m) => `${m}@${k}`));
  const present = keys.filter((key) => scores.some((s) => s.metrics[key] !== undefined));
  process.stdout.write(
    `${options.data} (${options.split}, ${table.numSessions} sessions), protocol ${protocol.name}\n` +
      `${textTable({ columns: ["model", "kind", ...present, "folder"], rows: scores.map((s) => [s.name, s.kind, ...present.map((k) => (s.metrics[k] ?? NaN).toFixed(4)), s.folder]) })}\n`,
  );
}

export function evaluateCommand(): Command {
  return new Command("evaluate")
    .description("score saved model folders on a split of a prepared data set: one row of metrics per folder")
    .argument("<model-folder...>", "model folders (saved by train or compare)")
    .requiredOption("--data <folder>", "prepared data set, prepared by the same workflow as the models were trained on")
    .addOption(
      new Option(
        "--protocol <name>",
        'what is predicted: "last" item of each session, "every-next" item, or the last against sampled items ("sampled-last")',
      )
        .choices(PROTOCOL_NAMES)
        .default("last"),
    )
    .option("--k <list>", "cut-offs, e.g. 10,20 (default: the protocol's)", parseCutoffs)
    .option("--split <name>", "split of the data set to score", "test")
    .option("--json", "print JSON instead of a table")
    .addHelpText(
      "after",
      "\nExample:\n  sessionrec evaluate build/models/gru build/models/transformer --data build/data/booking --split valid --k 4,10\n",
    )
    .action(async (folders: string[], opts: EvaluateOptions) => {
      await evaluate(folders, opts);
    });
}
