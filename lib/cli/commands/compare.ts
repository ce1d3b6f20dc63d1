// `sessionrec compare <config.json>`: the whole run a config describes — prepare the data (reused while current),
// fit the baselines, train each model, print one comparison table, write the HTML report and save each baseline and
// model as a folder that `npm run serve -- --model <folder>` serves. `npm start` is `sessionrec compare configs/course.json`.
import * as path from "path";
import { Command } from "commander";
import { initBackend } from "../../compute/backend";
import { loadRunData, prepareData, protocolOf } from "../../config/prepare";
import { readRunConfig } from "../../config/read";
import type { RunConfig } from "../../config/schema";
import { RUN_DEFAULTS } from "../../evaluate/defaults";
import { headlineMetrics, metricLabel, protocolKs, type Protocol } from "../../evaluate/protocols";
import type { RunResult } from "../../evaluate/run";
import { barChart, lineChart, textTable, writeReport } from "../../report/plot";
import { fitAndSaveBaselines, trainAndSaveModel } from "../saved-runs";

/** Where `compare` writes when neither --out nor the config's `output` says: npm start's places. */
export const DEFAULT_MODELS_DIR = path.join("build", "models");
export const DEFAULT_REPORT_FILE = path.join("build", "report.html");

/** Recall, MRR and NDCG at each cut-off, training seconds and backend ("js" for the baselines). */
export function comparisonText(rows: readonly RunResult[], ks: readonly number[], backend: string): string {
  const keys = ks.flatMap((k) => ["recall", "mrr", "ndcg"].map((m) => `${m}@${k}`));
  return textTable({
    columns: ["model", ...keys, "train s", "backend"],
    rows: rows.map((r) => [
      r.name,
      ...keys.map((k) => (r.metrics[k] ?? NaN).toFixed(4)),
      r.trainSeconds.toFixed(1),
      r.history ? backend : "js",
    ]),
  });
}

export interface CompareOptions {
  /** Folder for models/<name> and report.html instead of the config's `output` (default build/models, build/report.html). */
  out?: string;
  log?: (line: string) => void;
}

/** Runs `config` (read from `source`) and returns every result, baselines first. */
export async function runComparison(
  config: RunConfig,
  source: string,
  options: CompareOptions = {},
): Promise<RunResult[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const modelsDir =
    options.out !== undefined ? path.join(options.out, "models") : (config.output?.models ?? DEFAULT_MODELS_DIR);
  const reportFile = path.resolve(
    options.out !== undefined ? path.join(options.out, "report.html") : (config.output?.report ?? DEFAULT_REPORT_FILE),
  );
  const protocol: Protocol = protocolOf(config.evaluation);
  const backend = await initBackend();
  const prepared = await prepareData(config.data, (m) => log(`data: ${m}`));
  const data = await loadRunData(prepared.dir, config.evaluation.split ?? RUN_DEFAULTS.split, config.data.validation);
  const counts = [
    `${data.train.numSessions} train`,
    ...(data.valid
      ? [`${data.valid.numSessions} valid${data.validSource === "carved" ? " (the latest of train)" : ""}`]
      : []),
    `${data.test.numSessions} ${data.split}`,
  ];
  log(`data: ${counts.join(" and ")} sessions ${prepared.reused ? "reused from" : "→"} ${data.dir}`);

  // Baselines are model folders too: V-SKNN is often the one to serve on a new log.
  const baselines = config.baselines ?? RUN_DEFAULTS.baselines;
  const rows: RunResult[] = await fitAndSaveBaselines(baselines, data, protocol, (name) => path.join(modelsDir, name));
  const saved = rows.map((row) => path.join(modelsDir, row.name));
  for (const entry of config.models) {
    const dir = path.join(modelsDir, entry.name ?? entry.kind);
    rows.push(await trainAndSaveModel(entry, data, protocol, dir, log));
    saved.push(dir);
  }

  const [headline] = headlineMetrics(protocol);
  const ks = protocolKs(protocol);
  log(`\n${comparisonText(rows, ks, backend.name)}\n`);
  const popular = rows.find((r) => r.name === "most-popular")?.metrics[headline];
  if (popular !== undefined) {
    for (const r of rows.filter((row) => row.history))
      log(`${r.name}: ${headline} ${(r.metrics[headline] / popular).toFixed(1)}× most-popular`);
  }

  const label = metricLabel(headline, protocol);
  const shown = [headline, ...headlineMetrics(protocol).slice(1)];
  const watched = data.valid ? "validation" : data.split;
  writeReport(reportFile, {
    title: `sessionrec: ${config.title ?? path.basename(source, ".json")}`,
    sections: [
      {
        heading: "Data",
        text: `${data.dir}: ${counts.join(" / ")} sessions${prepared.summary ? ` (${prepared.summary})` : ""}. Backend: ${backend.name} (${backend.detail}).`,
      },
      {
        heading: `Comparison (${data.split} split, protocol "${protocol.name}")`,
        table: {
          columns: ["model", ...shown, "train s"],
          rows: rows.map((r) => [
            r.name,
            ...shown.map((k) => (r.metrics[k] ?? NaN).toFixed(4)),
            r.trainSeconds.toFixed(1),
          ]),
        },
        figures: [
          barChart(
            rows.map((r) => r.name),
            rows.map((r) => r.metrics[headline]),
            { title: label },
          ),
        ],
      },
      {
        heading: "Training curves",
        figures: [
          lineChart(
            rows
              .filter((r) => r.history)
              .map((r) => ({
                name: r.name,
                x: r.history!.map((e) => e.epoch),
                y: r.history!.map((e) => e.metrics[headline]),
              })),
            { title: `${watched} ${label} per epoch` },
          ),
        ],
      },
    ],
  });
  log(`report: ${reportFile}`);
  if (saved.length > 0)
    log(`models: ${saved.join(", ")} (serve one: npm run serve -- --model ${saved[saved.length - 1]})`);
  return rows;
}

export function compareCommand(): Command {
  return new Command("compare")
    .description(
      "run a whole config: prepare its data, fit its baselines, train its models; print the comparison table, write the HTML report and save each baseline and model as a model folder",
    )
    .argument("<config>", "run config file (JSON; see docs/configuration.md)")
    .option(
      "--out <folder>",
      "write <folder>/models/<name> and <folder>/report.html (default: the config's output, else build/models and build/report.html)",
    )
    .addHelpText(
      "after",
      "\nExample:\n  sessionrec compare configs/course.json            # npm start\n  sessionrec compare configs/example.json --out build/example\n",
    )
    .action(async (file: string, opts: { out?: string }) => {
      const config = await readRunConfig(file);
      await runComparison(config, file, { out: opts.out });
    });
}
