// Shared notebook helpers for the runner, the strip command and the tests: where notebooks live,
// how to read them, what a committed notebook must look like, and how to normalise one.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const NOTEBOOK_DIR = path.join(REPO_ROOT, "notebooks");
/** Debian's nbconvert; the pip one may pair with a different nbclient and behave differently. */
export const NBCONVERT = "/usr/bin/jupyter-nbconvert";
export const NBCONVERT_INSTALL_HINT = "apt-get install -y --no-install-recommends jupyter-nbconvert";

/** The in-repo kernel (jupyter/kernels/tslab); every notebook must name it so nbconvert finds it via JUPYTER_PATH. */
export const KERNEL_SPEC = {
  name: "tslab",
  display_name: "TypeScript (sessionrec)",
  language: "typescript",
} as const;

/** nbformat 4.5 is the first minor version with mandatory cell ids (no MissingIDFieldWarning). */
export const NBFORMAT_MINOR_WITH_IDS = 5;
const CELL_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** The subset of nbformat 4 this project reads and writes; other keys are carried through untouched. */
export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  metadata: Record<string, unknown>;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
  [key: string]: unknown;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: { kernelspec?: { name?: string; [key: string]: unknown }; [key: string]: unknown };
  cells: NotebookCell[];
}

/** `notebooks/*.ipynb` (or another folder), sorted by file name so numbered notebooks run in course order. */
export function listNotebooks(dir: string = NOTEBOOK_DIR): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".ipynb"))
    .sort()
    .map((name) => path.join(dir, name));
}

export function readNotebook(file: string): Notebook {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not valid notebook JSON (${(err as Error).message})`);
  }
  const nb = parsed as Partial<Notebook> | null;
  if (nb === null || typeof nb !== "object" || !Array.isArray(nb.cells) || typeof nb.metadata !== "object") {
    throw new Error(`${file}: expected an nbformat 4 object with "cells" (array) and "metadata" (object)`);
  }
  return nb as Notebook;
}

export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/**
 * Everything that keeps a notebook from being committable, one readable line per problem
 * (empty = clean). Committed notebooks carry no outputs: executed copies only go to build/.
 */
export function findNotebookProblems(nb: Notebook): string[] {
  const problems: string[] = [];
  if (nb.nbformat !== 4 || nb.nbformat_minor < NBFORMAT_MINOR_WITH_IDS) {
    problems.push(`nbformat is ${nb.nbformat}.${nb.nbformat_minor}, expected 4.${NBFORMAT_MINOR_WITH_IDS}+ (cell ids)`);
  }
  const kernel = nb.metadata.kernelspec?.name;
  if (kernel !== KERNEL_SPEC.name) {
    problems.push(`metadata.kernelspec.name is ${JSON.stringify(kernel)}, expected "${KERNEL_SPEC.name}"`);
  }
  const seenIds = new Set<string>();
  nb.cells.forEach((cell, index) => {
    const where = `cell ${index + 1} (${cell.cell_type})`;
    if (typeof cell.id !== "string" || !CELL_ID_PATTERN.test(cell.id)) {
      problems.push(`${where}: missing or invalid id ${JSON.stringify(cell.id)}`);
    } else if (seenIds.has(cell.id)) {
      problems.push(`${where}: duplicate id "${cell.id}"`);
    } else {
      seenIds.add(cell.id);
    }
    if (cell.cell_type !== "code") {
      // nbformat's schema rejects these keys on markdown/raw cells.
      if ("outputs" in cell || "execution_count" in cell)
        problems.push(`${where}: has code-cell fields outputs/execution_count`);
      return;
    }
    if ((cell.outputs ?? []).length > 0) problems.push(`${where}: has ${cell.outputs!.length} output(s)`);
    if (cell.execution_count != null) problems.push(`${where}: has execution_count ${cell.execution_count}`);
    if ("execution" in cell.metadata) problems.push(`${where}: has execution timing metadata`);
  });
  return problems;
}

function newCellId(taken: Set<string>): string {
  let id: string;
  do id = randomBytes(4).toString("hex");
  while (taken.has(id));
  return id;
}

/** Jupyter stores source as a list of lines, each keeping its "\n"; that keeps git diffs line-based. */
function sourceLines(source: string): string[] {
  return source.split(/(?<=\n)/).filter((line) => line.length > 0);
}

/**
 * A committable copy: outputs, execution counts and timing metadata removed, the in-repo kernelspec,
 * nbformat 4.5, and a unique valid id on every cell (existing valid ids are kept, so stripping is idempotent).
 */
export function stripNotebook(nb: Notebook): Notebook {
  const taken = new Set<string>();
  const cells = nb.cells.map((cell): NotebookCell => {
    const { execution: _timing, ...metadata } = cell.metadata;
    const keepId = typeof cell.id === "string" && CELL_ID_PATTERN.test(cell.id) && !taken.has(cell.id);
    const id = keepId ? cell.id! : newCellId(taken);
    taken.add(id);
    const { outputs: _outputs, execution_count: _count, ...rest } = cell;
    const stripped: NotebookCell = { ...rest, id, metadata, source: sourceLines(cellSource(cell)) };
    return cell.cell_type === "code" ? { ...stripped, outputs: [], execution_count: null } : stripped;
  });
  return {
    ...nb,
    nbformat: 4,
    nbformat_minor: Math.max(nb.nbformat_minor, NBFORMAT_MINOR_WITH_IDS),
    metadata: { ...nb.metadata, kernelspec: { ...KERNEL_SPEC } },
    cells,
  };
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeysDeep((value as Record<string, unknown>)[key])]),
  );
}

/** Same layout Jupyter writes (sorted keys, 1-space indent, trailing newline), so saving in Jupyter adds no noise. */
export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(sortKeysDeep(nb), null, 1) + "\n";
}
