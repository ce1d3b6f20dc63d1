// `npm run eval:real`: the baselines and the MLP, GRU and Transformer on the two real data sets of ../shared/data,
// each under the protocol its reference figures use, printed as one table per set with those figures beside ours,
// the training time and the backend; writes build/real-data-report.html (tables, charts, learning curves).
//
//   npm run eval:real                                   # both sets, the settings of lib/evaluate/settings.ts
//   npx tsx scripts/eval-real.ts --set yoochoose --models gru --epochs 1
//
// YOOCHOOSE (../shared/data/yoochoose-100k): protocol (a), GRU4Rec's — every next click of each test session
// ranked over all items, Recall@20 / MRR@20. Amazon Games (../shared/data/amazon-games): protocol (b), SASRec's —
// each user's last item against 100 sampled unseen items, HR@10 / NDCG@10; the best epoch is chosen on validation.
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../lib/compute/backend";
import { DEFAULT_GAMES_FILE, prepareSequences } from "../lib/data/recipes/sequences";
import { DEFAULT_YOOCHOOSE_DIR, prepareYoochoose } from "../lib/data/recipes/yoochoose";
import {
  GAMES_REFERENCES,
  GRU4REC_PROTOCOL,
  SASREC_PROTOCOL,
  YOOCHOOSE_REFERENCES,
  comparisonChart,
  comparisonTable,
  metricLabel,
  runBaselinesOn,
  runModelOn,
  type ComparedRun,
  type Protocol,
  type ProtocolRunConfig,
  type ReferenceFigure,
  type RunSplits,
} from "../lib/evaluate";
import { gamesRuns, yoochooseRuns } from "../lib/evaluate/settings";
import { readSplit } from "../lib/data/loader";
import { disposeModel } from "../lib/models";
import { lineChart, textTable, writeReport, type ReportSection } from "../lib/report/plot";
import { runMain } from "./run-main";

export const REPORT_FILE = path.join("build", "real-data-report.html");
const SET_NAMES = ["yoochoose", "games"] as const;
type SetName = (typeof SET_NAMES)[number];

export interface EvalRealOptions {
  sets: SetName[];
  /** Model kinds to train (baselines always run). Default: all of the set's. */
  models?: string[];
  /** Overrides every model's epochs (e.g. 1 for a smoke run). */
  epochs?: number;
}

const USAGE = `usage: tsx scripts/eval-real.ts [--set yoochoose|games|all] [--models mlp,gru,transformer] [--epochs N]`;

export function parseEvalRealArgs(argv: string[]): EvalRealOptions {
  const options: EvalRealOptions = { sets: [...SET_NAMES] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag}: missing value\n${USAGE}`);
    if (flag === "--set") {
      if (value !== "all" && !SET_NAMES.includes(value as SetName)) throw new Error(`--set: expected yoochoose, games or all, got ${value}\n${USAGE}`);
      options.sets = value === "all" ? [...SET_NAMES] : [value as SetName];
    } else if (flag === "--models") options.models = value.split(",");
    else if (flag === "--epochs") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--epochs: expected an integer >= 1, got ${value}`);
      options.epochs = n;
    } else throw new Error(`unknown argument ${flag}\n${USAGE}`);
  }
  return options;
}

/** What one data set needs: where it is, how to prepare it, its protocol, runs and references. */
interface DataSet {
  title: string;
  input: string;
  protocol: Protocol;
  references: readonly ReferenceFigure[];
  /** Extra metric columns of the table. */
  extra: string[];
  prepare(outDir: string): Promise<{ splits: string[]; summary: string }>;
  runs(nItems: number): ProtocolRunConfig[];
}

const DATA_SETS: Record<SetName, DataSet> = {
  yoochoose: {
    title: "YOOCHOOSE 100k clicks — protocol (a): every next click, full ranking",
    input: DEFAULT_YOOCHOOSE_DIR,
    protocol: GRU4REC_PROTOCOL,
    references: YOOCHOOSE_REFERENCES,
    extra: ["recall@1", "recall@5", "recall@10"],
    prepare: async (outDir) => {
      const { counts } = await prepareYoochoose({ inputDir: DEFAULT_YOOCHOOSE_DIR, outDir });
      return {
        splits: ["train", "test"],
        summary: `${counts.train} train sessions (${counts.trainEvents} clicks), ${counts.test} test sessions, ${counts.testPredictions} next-click predictions`,
      };
    },
    runs: () => yoochooseRuns(),
  },
  games: {
    title: "Amazon Games — protocol (b): last item vs 100 sampled unseen items",
    input: DEFAULT_GAMES_FILE,
    protocol: SASREC_PROTOCOL,
    references: GAMES_REFERENCES,
    extra: ["recall@1", "recall@5"],
    prepare: async (outDir) => {
      // SASRec's catalogue: every item of the file (its ids 1..itemnum), those never trained on included.
      const { counts } = await prepareSequences({ input: DEFAULT_GAMES_FILE, outDir, catalogue: "file" });
      return {
        splits: ["train", "valid", "test"],
        summary:
          `${counts.interactions} interactions of ${counts.users} users and ${counts.items} items (the catalogue: every item of the file, as in SASRec); ` +
          `${counts.keptUsers} users with ≥ 3: ${counts.train} train rows, ${counts.test} test users`,
      };
    },
    runs: (nItems) => gamesRuns(nItems),
  },
};

function seconds(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}

/** Prepares, trains and scores one data set; returns its report sections. */
async function evaluateSet(name: SetName, options: EvalRealOptions, backend: string): Promise<ReportSection[]> {
  const set = DATA_SETS[name];
  const started = performance.now();
  const dataDir = path.join("build", "data", name);
  const { splits: splitNames, summary } = await set.prepare(dataDir);
  const [train, ...rest] = await Promise.all(splitNames.map((split) => readSplit(dataDir, split)));
  const splits: RunSplits = rest.length === 2 ? { train, valid: rest[0], test: rest[1] } : { train, test: rest[0] };
  console.log(`\n== ${set.title}\n${name}: ${summary} (prepared in ${seconds(started)})`);

  const runs: ComparedRun[] = runBaselinesOn(splits, set.protocol).map((run) => ({ ...run, backend: "js" }));
  const nItems = train.schema.columns.find((c) => c.name === train.schema.item)?.cardinality as number;
  const configs = set.runs(nItems).filter((config) => options.models === undefined || options.models.includes(config.kind));
  for (const config of configs) {
    const epochs = options.epochs ?? config.epochs;
    console.log(`${name}: training ${config.kind} for ${epochs} epoch(s)`);
    const trained = await runModelOn({ ...config, epochs, progress: "lines" }, splits, set.protocol);
    runs.push({ ...trained, backend });
    disposeModel(trained);
  }
  const table = comparisonTable(runs, set.references, set.protocol, set.extra);
  console.log(`\n${set.title}\n${textTable(table)}\nreferences: ${set.references.map((r) => `${r.counterpart} ← ${r.source}`).join("; ")}`);
  console.log(`${name}: done in ${seconds(started)}`);

  const [, curveMetric] = set.protocol.name === "every-next" ? ["", "recall@20"] : ["", "ndcg@10"];
  const curves = runs.filter((r) => r.history !== undefined && r.history.length > 0);
  return [
    {
      heading: set.title,
      text: `${summary}. Backend: ${backend}. Reference figures: ${set.references.map((r) => `${r.counterpart}: ${r.source}`).join("; ")}.`,
      table,
      figures: [comparisonChart(runs, set.references, set.protocol, `${name}: ours vs references`)],
    },
    {
      heading: `${name}: learning curves`,
      text: set.protocol.name === "every-next" ? "Test figures after each epoch (nothing is selected on them: the last epoch is reported)." : "Validation figures after each epoch (first 3,000 users); the best epoch is scored on test.",
      figures: [
        lineChart(
          curves.map((r) => ({ name: r.name, x: r.history!.map((e) => e.epoch), y: r.history!.map((e) => e.metrics[curveMetric]) })),
          { title: `${metricLabel(curveMetric, set.protocol)} per epoch`, xTitle: "epoch", markers: true },
        ),
      ],
    },
  ];
}

async function main(): Promise<number> {
  const options = parseEvalRealArgs(process.argv.slice(2));
  const missing = options.sets.map((name) => DATA_SETS[name].input).filter((input) => !fs.existsSync(input));
  if (missing.length > 0) {
    console.error(`eval:real needs the real data sets, not found: ${missing.join(", ")}\n(they are read from ../shared/data relative to the repository root; see README "Real data")`);
    return 1;
  }
  const started = performance.now();
  const backend = await initBackend();
  const sections: ReportSection[] = [];
  for (const name of options.sets) sections.push(...(await evaluateSet(name, options, backend.name)));
  writeReport(REPORT_FILE, { title: "sessionrec on real data", sections });
  console.log(`\nreport: ${path.resolve(REPORT_FILE)}\neval:real: ${seconds(started)} in all (backend ${backend.name}: ${backend.detail})`);
  return 0;
}

runMain(import.meta.url, main);
