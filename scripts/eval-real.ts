// `npm run eval:real`: the baselines and the models of each set's config on the four real data sets of
// ../shared/data, each under the protocol its reference figures use, printed as one table per set with those figures
// beside ours, the epochs (trained, and the one chosen on validation), the training time and the backend; writes
// build/real-data-report.html (tables, charts, learning curves).
//
//   npm run eval:real                                   # all four sets, configs/{yoochoose,games,tmall,nowplaying}.json
//   npx tsx scripts/eval-real.ts --set tmall,nowplaying --models gru --epochs 1
//
// Validation discipline: YOOCHOOSE, Tmall and Nowplaying carve their validation split from train by time (the
// configs' data.validation: the last 10% of train sessions); Games has its own valid split. Each model's best epoch
// is chosen on validation; test is scored once per method, at the end of its run (lib/evaluate/run.ts).
//
// The data, models, training and protocol of each set are its config file's (how they were chosen:
// docs/real-data-settings.md); what this script adds is the published figures beside ours.
//
// YOOCHOOSE (../shared/data/yoochoose-100k): protocol (a), GRU4Rec's — every next click of each test session
// ranked over all items, Recall@20 / MRR@20; Tmall and Nowplaying (../shared/data/*-srgnn): the same protocol, SR-GNN's
// and GCE-GNN's (P@20 = Recall@20, MRR@20), their published figures as rows of the table. Amazon Games (../shared/data/amazon-games): protocol (b), SASRec's —
// each user's last item against 100 sampled unseen items, HR@10 / NDCG@10; the best epoch is chosen on validation.
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../lib/compute/index";
import { loadRunData, prepareData, protocolOf, readRunConfig, type RunConfig } from "../lib/config";
import {
  GAMES_REFERENCES,
  NOWPLAYING_REFERENCES,
  TMALL_REFERENCES,
  YOOCHOOSE_REFERENCES,
  createRunBaseline,
  itemCount,
  comparisonChart,
  comparisonTable,
  headlineMetrics,
  metricLabel,
  runBaselinesOn,
  runModelOn,
  type ComparedRun,
  type Protocol,
  type ReferenceFigure,
} from "../lib/evaluate";
import { disposeModel } from "../lib/models";
import { lineChart, textTable, writeReport, type ReportSection } from "../lib/report/index";
import { runMain } from "./run-main";

export const REPORT_FILE = path.join("build", "real-data-report.html");
const SET_NAMES = ["yoochoose", "games", "tmall", "nowplaying"] as const;
type SetName = (typeof SET_NAMES)[number];

export interface EvalRealOptions {
  sets: SetName[];
  /** Models to train, by name (baselines always run). Default: all of the set's. */
  models?: string[];
  /** Overrides every model's epochs (e.g. 1 for a smoke run). */
  epochs?: number;
}

const USAGE = `usage: tsx scripts/eval-real.ts [--set yoochoose,games,tmall,nowplaying|all] [--models gru,transformer,...] [--epochs N]`;

export function parseEvalRealArgs(argv: string[]): EvalRealOptions {
  const options: EvalRealOptions = { sets: [...SET_NAMES] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag}: missing value\n${USAGE}`);
    if (flag === "--set") {
      const names = value === "all" ? [...SET_NAMES] : value.split(",");
      const unknown = names.find((name) => !SET_NAMES.includes(name as SetName));
      if (unknown !== undefined)
        throw new Error(
          `--set: expected some of ${SET_NAMES.join(", ")} (comma-separated) or all, got ${unknown}\n${USAGE}`,
        );
      options.sets = names as SetName[];
    } else if (flag === "--models") options.models = value.split(",");
    else if (flag === "--epochs") {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--epochs: expected an integer >= 1, got ${value}`);
      options.epochs = n;
    } else throw new Error(`unknown argument ${flag}\n${USAGE}`);
  }
  return options;
}

/** The validation figures of each reminder bonus a run tried, when it chose one. */
function logReminderTrials(set: string, run: ComparedRun, protocol: Protocol): void {
  if (run.reminderTrials === undefined) return;
  const [recall, rank] = headlineMetrics(protocol);
  const tried = run.reminderTrials.map(
    (t) => `${t.bonus}: ${(100 * t.metrics[recall]).toFixed(2)} / ${(100 * t.metrics[rank]).toFixed(2)}`,
  );
  console.log(
    `${set}: ${run.name} validation ${recall} / ${rank} (%) by reminder bonus: ${tried.join(", ")} → ${run.reminderBonus}`,
  );
}

/** What one data set adds to its config: the title of its table, the published figures and extra columns. */
interface DataSet {
  title: string;
  config: string;
  references: readonly ReferenceFigure[];
  /** Extra metric columns of the table. */
  extra: string[];
}

const DATA_SETS: Record<SetName, DataSet> = {
  yoochoose: {
    title: "YOOCHOOSE 100k clicks — protocol (a): every next click, full ranking",
    config: path.join("configs", "yoochoose.json"),
    references: YOOCHOOSE_REFERENCES,
    extra: ["recall@1", "recall@5", "recall@10"],
  },
  games: {
    title: "Amazon Games — protocol (b): last item vs 100 sampled unseen items",
    config: path.join("configs", "games.json"),
    references: GAMES_REFERENCES,
    extra: ["recall@1", "recall@5"],
  },
  tmall: {
    title: "Tmall (SR-GNN / GCE-GNN split) — every next item, full ranking (P@20 = Recall@20)",
    config: path.join("configs", "tmall.json"),
    references: TMALL_REFERENCES,
    extra: ["recall@10"],
  },
  nowplaying: {
    title: "Nowplaying (SR-GNN / GCE-GNN split) — every next item, full ranking (P@20 = Recall@20)",
    config: path.join("configs", "nowplaying.json"),
    references: NOWPLAYING_REFERENCES,
    extra: ["recall@10"],
  },
};

/** The input files a config's recipe reads (to say what is missing before anything runs). */
function inputsOf(config: RunConfig): string[] {
  const prepare = config.data.prepare;
  if (prepare === undefined) return [config.data.folder];
  if (prepare.recipe === "yoochoose") return prepare.inputDir === undefined ? [] : [prepare.inputDir];
  return prepare.input === undefined ? [] : [prepare.input];
}

function seconds(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}

/** Prepares, trains and scores one data set; returns its report sections. */
async function evaluateSet(
  name: SetName,
  config: RunConfig,
  options: EvalRealOptions,
  backend: string,
): Promise<ReportSection[]> {
  const set = DATA_SETS[name];
  const started = performance.now();
  const protocol = protocolOf(config.evaluation);
  const prepared = await prepareData(config.data);
  const splits = await loadRunData(prepared.dir, config.evaluation.split, config.data.validation);
  const validation =
    splits.validSource === "carved"
      ? `validation: the last ${splits.valid!.numSessions} train sessions (${100 * config.data.validation!.fraction}%), every method fitted on the first ${splits.train.numSessions}${splits.refit === undefined ? "" : ` and, with what validation chose, again on all ${splits.refit.numSessions} (refit; its seconds are in "train s") before test is scored`}`
      : splits.validSource === "folder"
        ? `validation: the data set's valid split (${splits.valid!.numSessions} sessions)`
        : "no validation split: the last epoch is scored";
  const summary = `${prepared.summary ?? `${splits.train.numSessions} train sessions`}; ${validation}`;
  console.log(
    `\n== ${set.title}\n${name}: ${summary} (${prepared.reused ? "reused" : "prepared"} in ${seconds(started)})`,
  );

  const nItems = itemCount(splits.train.schema);
  const baselines = config.baselines?.map((b) => createRunBaseline(b, nItems));
  const runs: ComparedRun[] = runBaselinesOn(splits, protocol, baselines).map((run) => ({ ...run, backend: "js" }));
  for (const run of runs) {
    console.log(`${name}: ${run.name} ${JSON.stringify(run.metrics)} (fitted in ${run.trainSeconds.toFixed(1)} s)`);
    logReminderTrials(name, run, protocol);
  }
  const configs = config.models.filter(
    (model) => options.models === undefined || options.models.includes(model.name ?? model.kind),
  );
  for (const model of configs) {
    const epochs = options.epochs ?? model.training?.epochs;
    console.log(`${name}: training ${model.name ?? model.kind} for ${epochs} epoch(s)`);
    const trained = await runModelOn({ ...model, training: { ...model.training, epochs } }, splits, protocol, {
      progress: "lines",
    });
    console.log(
      `${name}: ${trained.name} ${JSON.stringify(trained.metrics)} (epochs ${trained.epochs}, best on validation ${trained.bestEpoch}, ${trained.trainSeconds.toFixed(1)} s of training${trained.refitSeconds === undefined ? "" : ` of which ${trained.refitSeconds.toFixed(1)} s the refit`}, reminder bonus ${trained.reminderBonus})`,
    );
    logReminderTrials(name, trained, protocol);
    runs.push({ ...trained, backend });
    disposeModel(trained);
  }
  const table = comparisonTable(runs, set.references, protocol, set.extra);
  console.log(
    `\n${set.title}\n${textTable(table)}\nreferences: ${set.references.map((r) => `${r.counterpart} ← ${r.source}`).join("; ")}`,
  );
  console.log(`${name}: done in ${seconds(started)}`);

  const curveMetric = protocol.name === "every-next" ? "recall@20" : "ndcg@10";
  const curves = runs.filter((r) => r.history !== undefined && r.history.length > 0);
  return [
    {
      heading: set.title,
      text: `${summary}. Backend: ${backend}. Reference figures: ${set.references.map((r) => `${r.counterpart}: ${r.source}`).join("; ")}.`,
      table,
      figures: [comparisonChart(runs, set.references, protocol, `${name}: ours vs references`)],
    },
    {
      heading: `${name}: learning curves`,
      text:
        splits.validSource === "none"
          ? "Test figures after each epoch (nothing is selected on them: the last epoch is reported)."
          : protocol.name === "sampled-last"
            ? "Validation figures after each epoch (first 3,000 users); the best epoch is scored on test."
            : `Validation figures after each epoch (the last 10% of train); the best epoch is scored on test${splits.refit === undefined ? "" : " (after the refit: as many epochs of the same schedule on the whole train split)"}.`,
      figures: [
        lineChart(
          curves.map((r) => ({
            name: r.name,
            x: r.history!.map((e) => e.epoch),
            y: r.history!.map((e) => e.metrics[curveMetric]),
          })),
          { title: `${metricLabel(curveMetric, protocol)} per epoch`, xTitle: "epoch", markers: true },
        ),
      ],
    },
  ];
}

async function main(): Promise<number> {
  const options = parseEvalRealArgs(process.argv.slice(2));
  const configs = {} as Record<SetName, RunConfig>;
  for (const name of options.sets) configs[name] = await readRunConfig(DATA_SETS[name].config);
  const missing = options.sets.flatMap((name) => inputsOf(configs[name])).filter((input) => !fs.existsSync(input));
  if (missing.length > 0) {
    console.error(
      `eval:real needs the real data sets, not found: ${missing.join(", ")}\n(they are read from ../shared/data relative to the repository root; see docs/real-data.md)`,
    );
    return 1;
  }
  const started = performance.now();
  const backend = await initBackend();
  const sections: ReportSection[] = [];
  for (const name of options.sets) sections.push(...(await evaluateSet(name, configs[name], options, backend.name)));
  writeReport(REPORT_FILE, { title: "sessionrec on real data", sections });
  console.log(
    `\nreport: ${path.resolve(REPORT_FILE)}\neval:real: ${seconds(started)} in all (backend ${backend.name}: ${backend.detail})`,
  );
  return 0;
}

runMain(import.meta.url, main);
