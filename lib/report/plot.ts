// Plotly charts that draw with no internet: the plotly.js-dist-min bundle is read from node_modules and
// inlined into the output (once per notebook kernel, once per report file) instead of loaded from a CDN.
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { notebookDisplay } from "./notebook";

/** One Plotly trace (`{ type: "bar", x, y, name, ... }`), loosely typed: see plotly.com/javascript/reference. */
export type Trace = Record<string, unknown>;
/** Plotly layout. Titles are objects in plotly.js 3+: `{ title: { text: "..." } }`, not plain strings. */
export type Layout = Record<string, unknown>;
export interface Figure {
  data: Trace[];
  layout?: Layout;
}

/** Options shared by the chart builders. */
export interface ChartOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Chart height in pixels. Default 420. */
  height?: number;
}

const DEFAULT_HEIGHT_PX = 420;
/** More bars than this cannot be told apart on a screen; it usually means a binWidth in the wrong unit. */
const MAX_HISTOGRAM_BINS = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// Chart builders

/** Bar chart of one value per label; `horizontal: true` puts labels on the y axis (long item names read better). */
export function barChart(
  labels: ArrayLike<string | number>,
  values: ArrayLike<number>,
  opts: ChartOptions & { horizontal?: boolean; name?: string } = {},
): Figure {
  if (labels.length !== values.length) {
    throw new Error(`barChart: ${labels.length} labels but ${values.length} values; expected one value per label`);
  }
  const x = Array.from(labels);
  const y = Array.from(values);
  const trace: Trace = opts.horizontal ? { type: "bar", orientation: "h", x: y, y: x } : { type: "bar", x, y };
  if (opts.name !== undefined) trace.name = opts.name;
  return { data: [trace], layout: baseLayout(opts) };
}

/** One line of a line chart. `x` defaults to 0..n-1. */
export interface LineSeries {
  name: string;
  y: ArrayLike<number>;
  x?: ArrayLike<number | string>;
}

/** Line chart with one trace per series (e.g. train and validation loss per epoch). */
export function lineChart(series: LineSeries[], opts: ChartOptions & { markers?: boolean } = {}): Figure {
  const data = series.map((s): Trace => {
    if (s.x !== undefined && s.x.length !== s.y.length) {
      throw new Error(`lineChart: series "${s.name}" has ${s.x.length} x values but ${s.y.length} y values`);
    }
    return {
      type: "scatter",
      mode: opts.markers ? "lines+markers" : "lines",
      name: s.name,
      x: s.x === undefined ? Array.from({ length: s.y.length }, (_, i) => i) : Array.from(s.x),
      y: Array.from(s.y),
    };
  });
  return { data, layout: baseLayout(opts) };
}

export interface HistogramOptions extends ChartOptions {
  /** Number of equal-width bins over [min, max]. Default 30. Ignored when `binWidth` is given. */
  bins?: number;
  /** Bin width; bins start at the minimum value. Default: 1 for integer data spanning at most 50 values
   *  (one bar per value, e.g. session lengths), else (max - min) / bins. */
  binWidth?: number;
}

/**
 * Histogram binned here, not in the browser, so a million session lengths become a few dozen bars in the
 * notebook file instead of a million numbers. Bins are [lo, lo + width); the last bin also holds the maximum.
 */
export function histogram(values: ArrayLike<number>, opts: HistogramOptions = {}): Figure {
  if (values.length === 0) throw new Error("histogram: no values to bin");
  let min = Infinity;
  let max = -Infinity;
  let allIntegers = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new Error(`histogram: value at index ${i} is ${v}; expected a finite number`);
    if (v < min) min = v;
    if (v > max) max = v;
    if (!Number.isInteger(v)) allIntegers = false;
  }
  if (opts.binWidth !== undefined && !(opts.binWidth > 0)) {
    throw new Error(`histogram: binWidth must be > 0, got ${opts.binWidth}`);
  }
  if (opts.bins !== undefined && !(Number.isInteger(opts.bins) && opts.bins > 0)) {
    throw new Error(`histogram: bins must be a positive integer, got ${opts.bins}`);
  }
  const onePerInteger = opts.binWidth === undefined && allIntegers && max - min + 1 <= 50;
  // Integer data is binned as [k - 0.5, k + 0.5) so each bar is centred on its value.
  const start = onePerInteger ? min - 0.5 : min;
  const width = opts.binWidth ?? (onePerInteger ? 1 : (max - min) / (opts.bins ?? 30) || 1);
  // The epsilon keeps float error in (max - start) / width from adding an empty bin.
  const binCount = Math.max(1, Math.ceil((max - start) / width - 1e-9));
  if (binCount > MAX_HISTOGRAM_BINS) {
    throw new Error(
      `histogram: bin width ${width} over [${min}, ${max}] makes ${binCount} bins, more than ${MAX_HISTOGRAM_BINS}`,
    );
  }
  const counts = new Array<number>(binCount).fill(0);
  for (let i = 0; i < values.length; i++) {
    counts[Math.min(binCount - 1, Math.floor((values[i] - start) / width))]++;
  }
  const centers = counts.map((_, b) => start + (b + 0.5) * width);
  return {
    data: [{ type: "bar", x: centers, y: counts, width, marker: { line: { width: 0 } } }],
    layout: { ...baseLayout({ yTitle: "count", ...opts }), bargap: 0.05 },
  };
}

function baseLayout(opts: ChartOptions): Layout {
  const layout: Layout = { height: opts.height ?? DEFAULT_HEIGHT_PX, margin: { t: opts.title ? 50 : 20 } };
  if (opts.title) layout.title = { text: opts.title };
  if (opts.xTitle) layout.xaxis = { title: { text: opts.xTitle } };
  if (opts.yTitle) layout.yaxis = { title: { text: opts.yTitle } };
  return layout;
}

// ---------------------------------------------------------------------------------------------------------------
// HTML rendering

let bundleCache: string | undefined;

/** The plotly.js bundle as a string, ready to inline in a `<script>` element (read once per process). */
export function plotlyBundle(): string {
  if (bundleCache !== undefined) return bundleCache;
  const bundle = readFileSync(resolveBundlePath(), "utf8");
  // A `</script` would end the element early; `<\/script` means the same in any JS string, regex or comment.
  // `<!--` followed later by `<script` would also change how HTML parses script text: refuse such a bundle
  // rather than emit a page that breaks in confusing ways.
  if (/<!--[\s\S]*<script/i.test(bundle)) {
    throw new Error("plotly.js-dist-min bundle contains '<!--' ... '<script', which cannot be inlined safely");
  }
  bundleCache = bundle.replace(/<\/script/gi, "<\\/script");
  return bundleCache;
}

function resolveBundlePath(): string {
  // From this module's own file where the runtime names it (`__filename`: tslab's CommonJS, vitest, and the built
  // package through tsup's shim); under tsx (ESM, where import.meta is off limits because tslab compiles this file
  // too) from the working directory.
  const from = typeof __filename === "string" ? __filename : join(process.cwd(), "noop.js");
  try {
    return createRequire(from).resolve("plotly.js-dist-min");
  } catch (err) {
    throw new Error(
      `plotly.js-dist-min is not installed (searched from ${dirname(from)}): run "npm ci" in the sessionrec ` +
        `repository root, and run notebooks/scripts from there`,
      { cause: err },
    );
  }
}

/** JSON that is safe inside a `<script>`: `<` only occurs in strings, where `\u003c` means the same. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v,
  ).replace(/</g, "\\u003c");
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** How long a chart waits for its element and for `window.Plotly` before it explains what is missing. */
const WAIT_FOR_PLOTLY_MS = 60_000;

const NO_SCRIPT_MESSAGE =
  "Interactive Plotly chart: it draws when JavaScript runs (in Jupyter: run the cell, or trust the notebook).";
const NO_PLOTLY_MESSAGE =
  "Plotly is not loaded in this page: only the first chart of a kernel session carries the plotly.js bundle. " +
  "Re-run this cell with showPlot(fig, { includeBundle: true }), or restart the kernel and run all cells.";

/**
 * HTML for one chart: a div, a fallback message, and a script that draws into the div.
 * With `includeBundle`, the plotly.js bundle comes first in its own `<script>`.
 *
 * The script polls for both its div and `window.Plotly` because classic Notebook runs output scripts before it
 * attaches the output to the page, and JupyterLab may render a later output before the one carrying the bundle.
 */
export function figureHtml(fig: Figure, opts: { includeBundle?: boolean } = {}): string {
  const id = `sessionrec-plot-${randomUUID()}`;
  const layoutHeight = fig.layout?.height;
  const height = typeof layoutHeight === "number" ? layoutHeight : DEFAULT_HEIGHT_PX;
  const bundle = opts.includeBundle ? `<script>\n${plotlyBundle()}\n</script>\n` : "";
  const script = `(function () {
  var id = ${scriptJson(id)};
  var figure = ${scriptJson({ data: fig.data, layout: fig.layout ?? {} })};
  var waitedMs = 0;
  function say(text) { var msg = document.getElementById(id + "-msg"); if (msg) msg.textContent = text; }
  function draw() {
    var host = document.getElementById(id);
    if (!host || !window.Plotly) {
      if (waitedMs >= ${WAIT_FOR_PLOTLY_MS}) { if (!window.Plotly) say(${scriptJson(NO_PLOTLY_MESSAGE)}); return; }
      waitedMs += 100;
      setTimeout(draw, 100);
      return;
    }
    Promise.resolve()
      .then(function () { return window.Plotly.newPlot(host, figure.data, figure.layout, { responsive: true }); })
      .then(function () { var msg = document.getElementById(id + "-msg"); if (msg) msg.remove(); })
      .catch(function (err) { say("Plotly could not draw this chart: " + err); });
  }
  draw();
})();`;
  return (
    bundle +
    `<div class="sessionrec-plot">\n` +
    `<div id="${id}" style="width:100%;height:${height}px"></div>\n` +
    `<div id="${id}-msg" style="color:#666;font:12px sans-serif">${escapeHtml(NO_SCRIPT_MESSAGE)}</div>\n` +
    `</div>\n<script>\n${script}\n</script>`
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Notebook display (tslab)

// On globalThis rather than in a module variable so a notebook that re-imports this module after an edit does
// not resend the 4.8 MB bundle.
const BUNDLE_SENT = Symbol.for("sessionrec.plot.bundleSent");
type BundleFlag = { [BUNDLE_SENT]?: boolean };

/**
 * Displays a figure in a tslab notebook. The first chart of the kernel process carries the plotly.js bundle;
 * later ones reuse `window.Plotly` from the page. `includeBundle: true` forces the bundle again (e.g. after the
 * output that carried it was cleared).
 */
export function showPlot(fig: Figure, opts: { includeBundle?: boolean } = {}): void {
  const flag = globalThis as BundleFlag;
  const includeBundle = opts.includeBundle ?? !flag[BUNDLE_SENT];
  try {
    notebookDisplay().html(figureHtml(fig, { includeBundle }));
  } catch (err) {
    throw new Error(
      "showPlot: cannot display, this only works inside a tslab notebook kernel; from scripts use writeReport()",
      { cause: err },
    );
  }
  if (includeBundle) flag[BUNDLE_SENT] = true;
}

// ---------------------------------------------------------------------------------------------------------------
// Standalone HTML report (CLI)

export type TableCell = string | number | boolean | null | undefined;

export interface ReportTable {
  columns: string[];
  rows: ReadonlyArray<ReadonlyArray<TableCell>>;
  /** Decimal places for non-integer numbers. Default 4. */
  digits?: number;
}

/** The table as aligned plain text (numbers with the table's digits, right-aligned). */
export function textTable(table: ReportTable): string {
  const digits = table.digits ?? 4;
  const cell = (value: TableCell): string =>
    typeof value === "number"
      ? Number.isInteger(value)
        ? String(value)
        : value.toFixed(digits)
      : value == null
        ? ""
        : String(value);
  const body = table.rows.map((row) => row.map(cell));
  const widths = table.columns.map((c, i) => Math.max(c.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(table.columns), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export interface ReportSection {
  heading: string;
  /** Plain text (not HTML); blank lines separate paragraphs. */
  text?: string;
  figures?: Figure[];
  table?: ReportTable;
}

export interface Report {
  title: string;
  sections: ReportSection[];
}

const REPORT_STYLE = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 10px}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}`;

/** The report as one standalone HTML page: the plotly.js bundle once in `<head>`, then each section. */
export function reportHtml(report: Report): string {
  const sections = report.sections.map((section) => {
    const parts = [`<h2>${escapeHtml(section.heading)}</h2>`];
    for (const paragraph of (section.text ?? "").split(/\n\s*\n/)) {
      if (paragraph.trim()) parts.push(`<p>${escapeHtml(paragraph.trim())}</p>`);
    }
    for (const fig of section.figures ?? []) parts.push(figureHtml(fig));
    if (section.table) parts.push(tableHtml(section.table, section.heading));
    return `<section>\n${parts.join("\n")}\n</section>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<style>${REPORT_STYLE}</style>
<script>
${plotlyBundle()}
</script>
</head>
<body>
<h1>${escapeHtml(report.title)}</h1>
${sections.join("\n")}
</body>
</html>
`;
}

function tableHtml(table: ReportTable, heading: string): string {
  const digits = table.digits ?? 4;
  const header = table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const rows = table.rows.map((row, r) => {
    if (row.length !== table.columns.length) {
      throw new Error(
        `report section "${heading}": table row ${r} has ${row.length} cells, expected ${table.columns.length} ` +
          `(columns: ${table.columns.join(", ")})`,
      );
    }
    const cells = row.map((cell) =>
      typeof cell === "number"
        ? `<td class="num">${escapeHtml(Number.isInteger(cell) ? String(cell) : cell.toFixed(digits))}</td>`
        : `<td>${escapeHtml(cell == null ? "" : String(cell))}</td>`,
    );
    return `<tr>${cells.join("")}</tr>`;
  });
  return `<table>\n<thead><tr>${header}</tr></thead>\n<tbody>\n${rows.join("\n")}\n</tbody>\n</table>`;
}

/**
 * Writes the report to `path` atomically (temp file in the same folder, then rename), creating parent folders,
 * so a reader never sees a half-written file.
 */
export function writeReport(path: string, report: Report): void {
  const html = reportHtml(report);
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(tmp, html);
    renameSync(tmp, target);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The folder itself could not be made, so there is no temp file to remove.
    }
    throw new Error(`writeReport: cannot write ${target}: ${(err as Error).message}`, { cause: err });
  }
}
