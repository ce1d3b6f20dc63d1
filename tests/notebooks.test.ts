import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  NBCONVERT,
  NBCONVERT_INSTALL_HINT,
  REPO_ROOT,
  cellSource,
  findNotebookProblems,
  listNotebooks,
  readNotebook,
  serializeNotebook,
  stripNotebook,
  type Notebook,
  type NotebookCell,
} from "../scripts/notebooks";

const FIXTURE_DIR = path.join(REPO_ROOT, "tests", "fixtures", "notebooks");
const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const RUNNER = path.join(REPO_ROOT, "scripts", "run-notebooks.ts");
/** Kernel start-up dominates (~4 s idle); a shared 2-core box can make it several times slower. */
const RUNNER_TIMEOUT_MS = 240_000;

describe("committed notebooks", () => {
  it("notebooks/ starts with the course introduction", () => {
    expect(listNotebooks().map((file) => path.basename(file))[0]).toBe("00-introduction.ipynb");
  });

  it.each([...listNotebooks(), ...listNotebooks(FIXTURE_DIR)].map((file) => [path.relative(REPO_ROOT, file), file]))(
    "%s has no outputs, nbformat 4.5 cell ids and the tslab kernel (fix: npm run notebooks:strip)",
    (_name, file) => {
      expect(findNotebookProblems(readNotebook(file))).toEqual([]);
    },
  );
});

describe("model notebooks 03–05", () => {
  it.each(["03-mlp.ipynb", "04-rnn.ipynb", "05-transformer.ipynb"])(
    "%s composes its model from blocks in one cell of ≤ 15 lines and prints its summary",
    (name) => {
      const cells = readNotebook(path.join(REPO_ROOT, "notebooks", name))
        .cells.filter((cell) => cell.cell_type === "code")
        .map(cellSource);
      const modelCells = cells.filter((source) => source.includes("composeModel("));
      expect(modelCells).toHaveLength(1);
      const [cell] = modelCells;
      expect(cell.trimEnd().split("\n").length).toBeLessThanOrEqual(15);
      expect(cell).toContain("createHeadFor(model)");
      expect(cell).toContain("summarizeModel(model, head)");
      expect(cells.some((source) => source.includes("trainRunModel(model, head,"))).toBe(true);
    },
  );
});

describe("findNotebookProblems and stripNotebook", () => {
  const dirty = (): Notebook => ({
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: "python3", display_name: "Python 3" } },
    cells: [
      { cell_type: "markdown", id: "intro", metadata: {}, source: "# Title\ntext" },
      {
        cell_type: "code",
        metadata: { execution: { "iopub.status.busy": "2024-01-01T00:00:00Z" }, tags: ["keep"] },
        source: ["const a = 1;\n", "a"],
        outputs: [{ output_type: "execute_result", data: { "text/plain": "1" } }],
        execution_count: 3,
      },
      { cell_type: "code", id: "intro", metadata: {}, source: "", outputs: [], execution_count: null },
    ],
  });

  it("lists every problem of a dirty notebook", () => {
    expect(findNotebookProblems(dirty())).toEqual([
      "nbformat is 4.4, expected 4.5+ (cell ids)",
      'metadata.kernelspec.name is "python3", expected "tslab"',
      "cell 2 (code): missing or invalid id undefined",
      "cell 2 (code): has 1 output(s)",
      "cell 2 (code): has execution_count 3",
      "cell 2 (code): has execution timing metadata",
      'cell 3 (code): duplicate id "intro"',
    ]);
  });

  it("strips to a clean notebook, keeping sources, tags and valid ids, and is idempotent", () => {
    const stripped = stripNotebook(dirty());
    expect(findNotebookProblems(stripped)).toEqual([]);
    expect(stripped.cells.map(cellSource)).toEqual(["# Title\ntext", "const a = 1;\na", ""]);
    expect(stripped.cells[0]!.source).toEqual(["# Title\n", "text"]);
    expect(stripped.cells[0]!.id).toBe("intro");
    expect(stripped.cells[1]!.metadata).toEqual({ tags: ["keep"] });
    expect(stripped.cells[2]!.id).not.toBe("intro");
    expect(stripped.metadata.kernelspec?.name).toBe("tslab");
    const once = serializeNotebook(stripped);
    expect(serializeNotebook(stripNotebook(JSON.parse(once) as Notebook))).toBe(once);
  });
});

const hasNbconvert = existsSync(NBCONVERT);
if (!hasNbconvert) {
  console.warn(`notebooks.test: skipping runner tests, ${NBCONVERT} is missing (${NBCONVERT_INSTALL_HINT})`);
}

function streamText(cell: NotebookCell): string {
  return ((cell.outputs ?? []) as { output_type: string; text?: string | string[] }[])
    .filter((output) => output.output_type === "stream")
    .map((output) => (Array.isArray(output.text) ? output.text.join("") : (output.text ?? "")))
    .join("");
}

describe.skipIf(!hasNbconvert)("scripts/run-notebooks.ts on the tslab kernel", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "sessionrec-notebooks-test-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function runRunner(fixture: string, outDir: string, env: NodeJS.ProcessEnv = {}) {
    const result = spawnSync(TSX, [RUNNER, "--out", outDir, path.join(FIXTURE_DIR, fixture)], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: RUNNER_TIMEOUT_MS,
    });
    return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
  }

  it(
    "passes a clean notebook and writes the executed copy and HTML",
    () => {
      const outDir = path.join(tmp, "passing");
      const { status, output } = runRunner("passing.ipynb", outDir);
      expect(output).toMatch(/^notebooks: 1 passed, 0 failed$/m);
      expect(status).toBe(0);
      const executed = readNotebook(path.join(outDir, "passing.ipynb"));
      // tslab displays a cell's last value like console.log does: on stdout.
      expect(executed.cells.map(streamText)).toEqual(["", "best item: 1\n", "2\n"]);
      expect(readFileSync(path.join(outDir, "passing.html"), "utf8")).toContain("best item: 1");
    },
    RUNNER_TIMEOUT_MS,
  );

  it(
    "stops at the first failing cell, prints the kernel's real error and exits non-zero",
    () => {
      const marker = path.join(tmp, "later-cell-ran");
      const { status, output } = runRunner("failing.ipynb", path.join(tmp, "failing"), {
        SESSIONREC_TEST_MARKER: marker,
      });
      expect(status).toBe(1);
      // The cell source also contains the message; "Error: <message>" only appears in the kernel's stderr.
      expect(output).toContain("Error: sessionrec-test-boom-123");
      expect(output).toMatch(/cell\s+1\/3 .*const before = 40 \+ 2;/);
      expect(output).toMatch(/cell\s+2\/3 failed/);
      expect(output).not.toMatch(/cell\s+3\/3/);
      expect(existsSync(marker)).toBe(false);
      expect(output).toMatch(/^FAIL failing\.ipynb \d+\.\ds$/m);
      expect(output).toMatch(/^notebooks: 0 passed, 1 failed$/m);
    },
    RUNNER_TIMEOUT_MS,
  );
});
