// `npm start`: the main job on the bundled (or SESSIONREC_DATA) Booking-shaped log — prepare the data, fit the
// baselines and the MLP, GRU and Transformer, print one comparison table and write build/report.html.
import path from "node:path";
import { initBackend } from "./backend";
import { prepareBooking } from "./data/recipes/booking";
import { resolveBookingData } from "./data/synthetic";
import { DEFAULT_KS, runBaselines, runModel, type ModelRunConfig, type RunResult } from "./experiment";
import { SessionLoader } from "./loader";
import { barChart, lineChart, writeReport } from "./plot";

// The tutorial's settings (Merlin GTC 2023), shortened only in epochs so the whole job stays in minutes on 2 cores.
const MODELS: ModelRunConfig[] = [
  { kind: "mlp", model: { inputs: { itemDim: 16 } }, learningRate: 0.005, batchSize: 512, epochs: 3 },
  { kind: "gru", learningRate: 0.005, batchSize: 1024, epochs: 3 },
  { kind: "transformer", model: { dModel: 64, heads: 4, layers: 2 }, learningRate: 0.003, batchSize: 512, epochs: 3 },
];

function formatTable(rows: RunResult[], backend: string): string {
  const keys = DEFAULT_KS.flatMap((k) => ["recall", "mrr", "ndcg"].map((m) => `${m}@${k}`));
  const header = ["model", ...keys, "train s", "backend"];
  const body = rows.map((r) => [r.name, ...keys.map((k) => (r.metrics[k] ?? NaN).toFixed(4)), r.trainSeconds.toFixed(1), r.history ? backend : "js"]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const input = await resolveBookingData();
  const dataDir = path.resolve("build/data/booking");
  const prepared = await prepareBooking({ input, outDir: dataDir, onProgress: (m) => console.log(`data: ${m}`) });
  console.log(`data: ${prepared.counts.train} train and ${prepared.counts.valid} valid trips → ${dataDir}`);

  const train = await SessionLoader.open(dataDir, "train");
  const valid = await SessionLoader.open(dataDir, "valid");
  const rows = runBaselines(train.table, valid.table);
  for (const config of MODELS) {
    console.log(`train: ${config.kind}`);
    const { model, head, ...result } = await runModel(config, train, valid);
    rows.push(result);
    head.dispose();
    for (const variable of Object.values(model.variables)) variable.dispose();
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
      { heading: "Data", text: `${input}: ${prepared.counts.events} bookings, ${prepared.counts.train} train / ${prepared.counts.valid} valid trips. Backend: ${backend.name} (${backend.detail}).` },
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
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
