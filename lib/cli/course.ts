// `npm start`: the main job on the bundled (or SESSIONREC_DATA) Booking-shaped log — prepare the data (reused while
// current), fit the baselines and the MLP, GRU and Transformer, print one comparison table, write build/report.html
// and save each model as a folder in build/models/<name> that `npm run serve -- --model <folder>` serves.
import path from "node:path";
import { initBackend } from "../compute/backend";
import { COURSE_MODELS, COURSE_MODELS_DIR, prepareCourseData } from "../course/course";
import { DEFAULT_KS, createRunModel, runBaselines, trainModel, type ModelRunConfig, type RunResult } from "../experiment";
import { saveModelFolder } from "../model-folder/index";
import { disposeModel, formatSummary, summarizeModel } from "../models/index";
import { barChart, lineChart, textTable, writeReport } from "../report/plot";

// The course's settings (the tutorial's, Merlin GTC 2023: 3 epochs each; the GRU takes notebook 04's LSTM settings),
// except smaller batches for the MLP and the GRU: at the tutorial's 512 and 1024 three epochs are only ~40–80
// optimizer steps and both stay near most-popular; more steps in the same epochs put them well clear of it.
const MODELS: ModelRunConfig[] = [
  { ...COURSE_MODELS.mlp, batchSize: 64 },
  { ...COURSE_MODELS.lstm, kind: "gru", batchSize: 256 },
  COURSE_MODELS.transformer,
];

function formatTable(rows: RunResult[], backend: string): string {
  const keys = DEFAULT_KS.flatMap((k) => ["recall", "mrr", "ndcg"].map((m) => `${m}@${k}`));
  return textTable({
    columns: ["model", ...keys, "train s", "backend"],
    rows: rows.map((r) => [r.name, ...keys.map((k) => (r.metrics[k] ?? NaN).toFixed(4)), r.trainSeconds.toFixed(1), r.history ? backend : "js"]),
  });
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const data = await prepareCourseData({ onProgress: (m) => console.log(`data: ${m}`) });
  const { train, valid } = data;
  console.log(`data: ${train.numSessions} train and ${valid.numSessions} valid trips ${data.reused ? "reused from" : "→"} ${data.dir}`);

  const rows = runBaselines(train.table, valid.table);
  const saved: string[] = [];
  for (const config of MODELS) {
    const run = createRunModel(config, train.table.schema);
    console.log(`train: ${config.kind}\n${formatSummary(summarizeModel(run.model, run.head))}`);
    const { model, head, ...result } = await trainModel(run.model, run.head, config, train, valid);
    rows.push(result);
    const dir = path.join(COURSE_MODELS_DIR, config.kind);
    await saveModelFolder(dir, { name: config.kind, model, head, workflow: data.workflow, schema: train.table.schema, metrics: result.metrics, scheme: config.scheme });
    saved.push(dir);
    disposeModel({ model, head });
  }

  const popular = rows.find((r) => r.name === "most-popular")?.metrics["recall@10"] ?? NaN;
  console.log(`\n${formatTable(rows, backend.name)}\n`);
  for (const r of rows.filter((row) => row.history)) {
    console.log(`${r.name}: recall@10 ${(r.metrics["recall@10"] / popular).toFixed(1)}× most-popular`);
  }

  const report = path.resolve("build/report.html");
  await writeReport(report, {
    title: "sessionrec: next-city prediction",
    sections: [
      { heading: "Data", text: `${data.input}: ${train.numSessions} train / ${valid.numSessions} valid trips. Backend: ${backend.name} (${backend.detail}).` },
      {
        heading: "Comparison (validation, last item of each trip)",
        table: { columns: ["model", "recall@10", "mrr@10", "ndcg@10", "train s"], rows: rows.map((r) => [r.name, r.metrics["recall@10"].toFixed(4), r.metrics["mrr@10"].toFixed(4), r.metrics["ndcg@10"].toFixed(4), r.trainSeconds.toFixed(1)]) },
        figures: [barChart(rows.map((r) => r.name), rows.map((r) => r.metrics["recall@10"]), { title: "Recall@10" })],
      },
      {
        heading: "Training curves",
        figures: [lineChart(rows.filter((r) => r.history).map((r) => ({ name: r.name, x: r.history!.map((e) => e.epoch), y: r.history!.map((e) => e.metrics["recall@10"]) })), { title: "Validation Recall@10 per epoch" })],
      },
    ],
  });
  console.log(`report: ${report}`);
  console.log(`models: ${saved.join(", ")} (serve one: npm run serve -- --model ${saved[saved.length - 1]})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
