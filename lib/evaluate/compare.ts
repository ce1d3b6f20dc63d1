// Our runs next to published reference figures: one table (for the console and the HTML report) and one grouped
// bar chart per data set. The reference figures are those of ../shared/data/*/SOURCE.md.
import type { RunResult } from "./run";
import type { Figure, ReportTable, TableCell } from "../report/plot";
import { type Protocol, headlineMetrics, metricLabel } from "./protocols";

/** A figure someone else measured, and which of our runs it is compared with. */
export interface ReferenceFigure {
  /** Who measured it and how. */
  source: string;
  /** Name of our run it stands next to (e.g. "gru", "successor-counts"). */
  counterpart: string;
  metrics: Record<string, number>;
  /** Training time in seconds, when reported. */
  trainSeconds?: number;
}

/** ../shared/data/yoochoose-100k/SOURCE.md: measured on a 2-core machine, protocol (a). */
export const YOOCHOOSE_REFERENCES: readonly ReferenceFigure[] = [
  {
    source: "official GRU4Rec (PyTorch, RSC15 cross-entropy settings, 10 epochs)",
    counterpart: "gru",
    metrics: { "recall@20": 0.679, "mrr@20": 0.358, "recall@1": 0.241, "recall@5": 0.507, "recall@10": 0.602 },
    trainSeconds: 106,
  },
  {
    source: "last-item successor counts",
    counterpart: "successor-counts",
    metrics: { "recall@20": 0.586, "mrr@20": 0.348 },
  },
  { source: "most-popular", counterpart: "most-popular", metrics: { "recall@20": 0.089, "mrr@20": 0.026 } },
];

/** ../shared/data/amazon-games/SOURCE.md: protocol (b), after ~200 epochs. */
export const GAMES_REFERENCES: readonly ReferenceFigure[] = [
  { source: "SASRec paper", counterpart: "transformer", metrics: { "recall@10": 0.741, "ndcg@10": 0.536 } },
  { source: "SASRec.pytorch (pmixer)", counterpart: "transformer", metrics: { "recall@10": 0.732, "ndcg@10": 0.531 } },
  {
    source: "SASRec.pytorch, pre-LayerNorm",
    counterpart: "transformer",
    metrics: { "recall@10": 0.744, "ndcg@10": 0.538 },
  },
];

/** ../shared/data/tmall-srgnn/SOURCE.md: GCE-GNN paper, Table 3 (P@20 = recall@20, MRR@20; every next item of each
 *  test session over all items). No run of ours is theirs: the table shows them as rows of their own. */
export const TMALL_REFERENCES: readonly ReferenceFigure[] = [
  {
    source: "SR-GNN, as reported in the GCE-GNN paper",
    counterpart: "sr-gnn",
    metrics: { "recall@20": 0.2757, "mrr@20": 0.1372 },
  },
  { source: "GCE-GNN paper, Table 3", counterpart: "gce-gnn", metrics: { "recall@20": 0.3342, "mrr@20": 0.1542 } },
];

/** ../shared/data/nowplaying-srgnn/SOURCE.md: GCE-GNN paper, Table 3 (as Tmall's). */
export const NOWPLAYING_REFERENCES: readonly ReferenceFigure[] = [
  {
    source: "SR-GNN, as reported in the GCE-GNN paper",
    counterpart: "sr-gnn",
    metrics: { "recall@20": 0.1887, "mrr@20": 0.0747 },
  },
  { source: "GCE-GNN paper, Table 3", counterpart: "gce-gnn", metrics: { "recall@20": 0.2237, "mrr@20": 0.084 } },
];

/** A run as the comparison shows it: its result plus how it was trained. */
export interface ComparedRun extends RunResult {
  /** Epochs trained (models only), and the one whose weights were scored when chosen on validation. */
  epochs?: number;
  bestEpoch?: number;
  /** Backend that trained it ("js" for the baselines). */
  backend?: string;
}

function referencesOf(run: ComparedRun, references: readonly ReferenceFigure[]): ReferenceFigure[] {
  return references.filter((r) => r.counterpart === run.name);
}

/** The reference values of a metric for a run, "0.741 / 0.732" (several sources), or "" when there is none. */
function referenceCell(figures: ReferenceFigure[], key: string): string {
  return figures
    .map((f) => f.metrics[key])
    .filter((v) => v !== undefined)
    .map((v) => String(Number(v.toFixed(4)))) // 0.741, 0.2757: as published
    .join(" / ");
}

/**
 * Columns: model, then for each headline metric ours and the reference, then the other metrics in `extra`, epochs
 * (trained, and the one chosen on validation when it differs), the reminder bonus when validation chose one for some
 * run, training seconds (ours, reference) and backend. A
 * reference whose counterpart is none of the runs (a published model we do not run, e.g. GCE-GNN) is a row of its
 * own, "<counterpart> (published)", with its figures in the reference columns.
 */
export function comparisonTable(
  runs: readonly ComparedRun[],
  references: readonly ReferenceFigure[],
  protocol: Protocol,
  extra: readonly string[] = [],
): ReportTable {
  const headline = headlineMetrics(protocol);
  // A column for the reminder bonus when validation chose one for some run (lib/models/reminders.ts,
  // lib/baselines/reminders.ts).
  const chosenReminders = runs.some((run) => run.reminderTrials !== undefined);
  const columns = [
    "model",
    ...headline.flatMap((key) => [metricLabel(key, protocol), `ref ${metricLabel(key, protocol)}`]),
    ...extra.map((key) => metricLabel(key, protocol)),
    "epochs",
    ...(chosenReminders ? ["reminder bonus"] : []),
    "train s",
    "ref train s",
    "backend",
  ];
  const rows = runs.map((run): TableCell[] => {
    const figures = referencesOf(run, references);
    const referenceSeconds = figures.find((f) => f.trainSeconds !== undefined)?.trainSeconds;
    return [
      run.name,
      ...headline.flatMap((key): TableCell[] => [run.metrics[key], referenceCell(figures, key)]),
      ...extra.map((key) => run.metrics[key]),
      run.epochs === undefined
        ? ""
        : run.bestEpoch !== undefined && run.bestEpoch !== run.epochs
          ? `${run.epochs} (best ${run.bestEpoch})`
          : run.epochs,
      ...(chosenReminders ? [run.reminderBonus ?? ""] : []),
      run.trainSeconds.toFixed(1), // a string: the table's 4 digits suit metrics, not seconds
      referenceSeconds ?? "",
      run.backend ?? "",
    ];
  });
  const names = new Set(runs.map((run) => run.name));
  const published = [...new Set(references.map((r) => r.counterpart))].filter((name) => !names.has(name));
  for (const name of published) {
    const figures = references.filter((r) => r.counterpart === name);
    rows.push([
      `${name} (published)`,
      ...headline.flatMap((key): TableCell[] => ["", referenceCell(figures, key)]),
      ...extra.map(() => ""),
      "",
      ...(chosenReminders ? [""] : []),
      "",
      figures.find((f) => f.trainSeconds !== undefined)?.trainSeconds ?? "",
      "",
    ]);
  }
  return { columns, rows, digits: 4 };
}

/** Grouped bars: each headline metric of every run, and beside it the first reference figure for that run. */
export function comparisonChart(
  runs: readonly ComparedRun[],
  references: readonly ReferenceFigure[],
  protocol: Protocol,
  title: string,
): Figure {
  const names = runs.map((r) => r.name);
  const data = headlineMetrics(protocol).flatMap((key) => {
    const label = metricLabel(key, protocol);
    const referenceValues = runs.map(
      (run) => referencesOf(run, references).find((f) => f.metrics[key] !== undefined)?.metrics[key] ?? null,
    );
    return [
      { type: "bar", name: `${label} (ours)`, x: names, y: runs.map((r) => r.metrics[key]) },
      { type: "bar", name: `${label} (reference)`, x: names, y: referenceValues, opacity: 0.55 },
    ];
  });
  return { data, layout: { title: { text: title }, barmode: "group", height: 420, yaxis: { range: [0, 1] } } };
}
