// Executes notebooks headlessly on the in-repo tslab kernel and exports executed copies + HTML.
//
//   npm run notebooks [-- [--out DIR] [notebook.ipynb ...]]
//
// Defaults: all notebooks/*.ipynb in name order; output dir build/notebooks (or $SESSIONREC_NOTEBOOK_OUT);
// per-cell timeout $SESSIONREC_CELL_TIMEOUT_S seconds (default 1200).
//
// Why the nbconvert config hooks: tslab reports a failing cell only as a stderr stream plus a bare error
// reply, so nbconvert's CellExecutionError reads "<Error>:". nbconvert still stops at the first failing
// cell (no --allow-errors), and the hooks below report each cell's start/end and, for the failing cell,
// its outputs (the real error text) as marker lines on nbconvert's stderr, which this script parses.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { parseArgs } from "node:util";
import {
  KERNEL_SPEC,
  NBCONVERT,
  NBCONVERT_INSTALL_HINT,
  REPO_ROOT,
  cellSource,
  listNotebooks,
  readNotebook,
  type Notebook,
} from "./notebooks";

const DEFAULT_OUT_DIR = path.join(REPO_ROOT, "build", "notebooks");
const DEFAULT_CELL_TIMEOUT_S = 1200;
/** tslab compiles its TypeScript host on start; on a loaded 2-core CI box that can take a while. */
const KERNEL_STARTUP_TIMEOUT_S = 180;
const HEARTBEAT_MS = 30_000;
const EVENT_MARKER = "@@sessionrec-notebook-event ";
const ERROR_SOURCE_LINES = 12;
const ERROR_OUTPUT_LINES = 80;
const NBCONVERT_TAIL_LINES = 25;

const HOOKS_CONFIG = `
import json, sys

def _emit(event, **fields):
    sys.stderr.write(${JSON.stringify(EVENT_MARKER)} + json.dumps(dict(event=event, **fields)) + "\\n")
    sys.stderr.flush()

def _on_cell_execute(cell, cell_index, **_):
    _emit("start", index=cell_index)

def _on_cell_executed(cell, cell_index, execute_reply, **_):
    status = ((execute_reply or {}).get("content") or {}).get("status", "no reply")
    _emit("done", index=cell_index, status=status, outputs=cell.outputs if status != "ok" else [])

c.ExecutePreprocessor.on_cell_execute = _on_cell_execute
c.ExecutePreprocessor.on_cell_executed = _on_cell_executed
`;

type CellEvent =
  { event: "start"; index: number } | { event: "done"; index: number; status: string; outputs: NotebookOutput[] };

interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

function fail(message: string, exitCode = 2): never {
  console.error(`run-notebooks: ${message}`);
  process.exit(exitCode);
}

function joinText(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join("") : (text ?? "");
}

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

function head(lines: string[], count: number): string[] {
  return lines.length <= count ? lines : [...lines.slice(0, count), `... (${lines.length - count} more lines)`];
}

function tail(lines: string[], count: number): string[] {
  return lines.length <= count ? lines : [`... (${lines.length - count} earlier lines)`, ...lines.slice(-count)];
}

/** Stack frames inside tslab/node:vm say nothing about the notebook and bury the useful frames. */
function isKernelInternalFrame(line: string): boolean {
  return /^\s+at .*(node_modules[\\/]tslab[\\/]|node:vm|sigintHandlersWrap)/.test(line);
}

function formatOutputs(outputs: NotebookOutput[]): string[] {
  const lines: string[] = [];
  for (const output of outputs) {
    if (output.output_type === "stream") {
      lines.push(`[${output.name}]`, ...joinText(output.text).split("\n"));
    } else if (output.output_type === "error") {
      lines.push(
        `[error] ${output.ename}: ${output.evalue}`,
        ...(output.traceback ?? []).flatMap((t) => t.split("\n")),
      );
    }
  }
  return tail(
    lines.map(stripAnsi).filter((line) => !isKernelInternalFrame(line)),
    ERROR_OUTPUT_LINES,
  );
}

function firstLine(source: string, width = 60): string {
  const line = source.split("\n").find((l) => l.trim().length > 0) ?? "";
  return line.length > width ? `${line.slice(0, width - 3)}...` : line;
}

/** Code cells nbclient will actually send to the kernel, by cell index -> 1-based ordinal. */
function executableCellOrdinals(nb: Notebook): Map<number, number> {
  const ordinals = new Map<number, number>();
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type === "code" && cellSource(cell).trim().length > 0) ordinals.set(index, ordinals.size + 1);
  });
  return ordinals;
}

/** Runs nbconvert with inherited env + `env`; calls onLine for every stdout/stderr line; resolves the exit code. */
function runNbconvert(args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(NBCONVERT, args, { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    readline.createInterface({ input: child.stdout }).on("line", onLine);
    readline.createInterface({ input: child.stderr }).on("line", onLine);
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function printBlock(title: string, lines: string[]): void {
  console.log(`  ── ${title}`);
  for (const line of lines) console.log(`  | ${line}`);
}

async function exportHtml(executedCopy: string, outDir: string): Promise<boolean> {
  const lines: string[] = [];
  const exitCode = await runNbconvert(["--to=html", `--output-dir=${outDir}`, executedCopy], {}, (l) => lines.push(l));
  if (exitCode !== 0)
    printBlock(`HTML export of ${path.basename(executedCopy)} failed:`, tail(lines, NBCONVERT_TAIL_LINES));
  return exitCode === 0;
}

/** Executes one notebook into outDir, streaming one line per finished cell; true when every cell passed. */
async function executeNotebook(
  file: string,
  outDir: string,
  hooksConfig: string,
  cellTimeoutS: number,
): Promise<boolean> {
  const name = path.basename(file);
  const executedCopy = path.join(outDir, name);
  // A failed run writes nothing, so a copy from an earlier run would pass for this run's result.
  for (const stale of [executedCopy, executedCopy.replace(/\.ipynb$/, ".html")]) rmSync(stale, { force: true });
  const nb = readNotebook(file);
  const ordinals = executableCellOrdinals(nb);
  const started = Date.now();
  const label = (index: number) => `cell ${ordinals.get(index) ?? "?"}/${ordinals.size}`;
  console.log(`▶ ${name} (${ordinals.size} code cells)`);

  const otherLines: string[] = [];
  let cellsStarted = 0;
  let running: { index: number; since: number } | undefined;
  let failedCell: { index: number; status: string; outputs: NotebookOutput[] } | undefined;

  const heartbeat = setInterval(() => {
    if (running) {
      console.log(`  ${label(running.index)} still running (${Math.round((Date.now() - running.since) / 1000)}s)`);
    } else if (cellsStarted === 0) {
      console.log(`  starting the kernel (${Math.round((Date.now() - started) / 1000)}s)`);
    }
  }, HEARTBEAT_MS);
  const onLine = (line: string) => {
    if (!line.startsWith(EVENT_MARKER)) {
      otherLines.push(line);
      return;
    }
    const event = JSON.parse(line.slice(EVENT_MARKER.length)) as CellEvent;
    if (event.event === "start") {
      cellsStarted++;
      running = { index: event.index, since: Date.now() };
      return;
    }
    const seconds = running ? (Date.now() - running.since) / 1000 : 0;
    running = undefined;
    const mark = event.status === "ok" ? " " : "✗";
    console.log(
      `  ${label(event.index).padEnd(10)} ${seconds.toFixed(1).padStart(6)}s ${mark} ${firstLine(cellSource(nb.cells[event.index]!))}`,
    );
    failedCell ??= event.status === "ok" ? undefined : event;
  };

  let exitCode: number;
  try {
    exitCode = await runNbconvert(
      [
        `--config=${hooksConfig}`,
        "--to=notebook",
        "--execute",
        `--ExecutePreprocessor.kernel_name=${KERNEL_SPEC.name}`,
        `--ExecutePreprocessor.timeout=${cellTimeoutS}`,
        `--ExecutePreprocessor.startup_timeout=${KERNEL_STARTUP_TIMEOUT_S}`,
        `--output-dir=${outDir}`,
        file,
      ],
      { JUPYTER_PATH: path.join(REPO_ROOT, "jupyter") },
      onLine,
    );
  } finally {
    clearInterval(heartbeat);
  }

  if (failedCell) {
    const where = `${name}: ${label(failedCell.index)} failed (status: ${failedCell.status})`;
    printBlock(`${where}; source:`, head(cellSource(nb.cells[failedCell.index]!).split("\n"), ERROR_SOURCE_LINES));
    printBlock("its output:", formatOutputs(failedCell.outputs));
    return false;
  }
  if (exitCode !== 0) {
    // No failing cell reported: the kernel did not start, died, or a cell timed out; nbconvert says which.
    const during = running ? ` during ${label(running.index)}` : "";
    printBlock(`${name}: nbconvert exited with ${exitCode}${during}:`, tail(otherLines, NBCONVERT_TAIL_LINES));
    return false;
  }
  return exportHtml(executedCopy, outDir);
}

function parseCellTimeout(): number {
  const raw = process.env.SESSIONREC_CELL_TIMEOUT_S;
  if (raw === undefined || raw === "") return DEFAULT_CELL_TIMEOUT_S;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds <= 0)
    fail(`SESSIONREC_CELL_TIMEOUT_S must be a positive integer, got "${raw}"`);
  return seconds;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log("usage: tsx scripts/run-notebooks.ts [--out DIR] [notebook.ipynb ...]");
    return;
  }
  if (!existsSync(NBCONVERT)) fail(`${NBCONVERT} not found; install it with: ${NBCONVERT_INSTALL_HINT}`);

  const notebooks = positionals.length > 0 ? positionals.map((p) => path.resolve(p)) : listNotebooks();
  const missing = notebooks.filter((file) => !existsSync(file));
  if (missing.length > 0) fail(`notebook(s) not found: ${missing.join(", ")}`);
  if (notebooks.length === 0) fail("no notebooks to run");

  const outDir = path.resolve(values.out ?? process.env.SESSIONREC_NOTEBOOK_OUT ?? DEFAULT_OUT_DIR);
  const cellTimeoutS = parseCellTimeout();
  mkdirSync(outDir, { recursive: true });
  const hooksDir = mkdtempSync(path.join(os.tmpdir(), "sessionrec-nbconvert-"));
  const hooksConfig = path.join(hooksDir, "nbconvert_hooks.py");
  writeFileSync(hooksConfig, HOOKS_CONFIG);

  let passed = 0;
  let failed = 0;
  try {
    for (const file of notebooks) {
      const started = Date.now();
      let ok: boolean;
      try {
        ok = await executeNotebook(file, outDir, hooksConfig, cellTimeoutS);
      } catch (err) {
        console.log(`  ── ${(err as Error).message}`);
        ok = false;
      }
      if (ok) passed++;
      else failed++;
      console.log(`${ok ? "PASS" : "FAIL"} ${path.basename(file)} ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }
  } finally {
    rmSync(hooksDir, { recursive: true, force: true });
  }
  const shownOutDir = path.relative(process.cwd(), outDir);
  console.log(`executed copies and HTML in ${shownOutDir.startsWith("..") ? outDir : shownOutDir || "."}`);
  console.log(`notebooks: ${passed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}

await main();
