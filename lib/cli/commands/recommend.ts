// `sessionrec recommend <model-folder> [items...]`: the top-k next items of a session, from any model folder (a
// neural model or a baseline), as a small table or JSON. The session comes as item ids after the folder (oldest
// first) or as JSON on stdin (the forms of ../session-input.ts). Bad input is one line naming the session, event,
// field or key at fault (exit 2); a missing or corrupt folder one line naming the file (exit 1).
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { initBackend } from "../../compute/backend";
import type { SavedWorkflow } from "../../data/fitted";
import { FOLDER_FILES, loadModelFolder } from "../../model-folder/index";
import type { Recommendation, RecommenderModel } from "../../model-folder/types";
import { UsageError } from "../errors";
import { itemEventsFor, parseSessionJson, type SessionInput } from "../session-input";

const DEFAULT_K = 10;

const EXAMPLES = `
Examples:
  $ sessionrec recommend build/models/v-sknn 8183 4932 55 --k 5
  $ echo '{"session": [{"city_id": 8183, "checkin": "2016-08-13", ...}]}' | sessionrec recommend build/models/gru --json
  $ sessionrec recommend build/models/gru < sessions.json      # [{"items": [...]}, [event, ...], ...]`;

/** A commander value parser: an integer >= 1. */
export function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError("expected an integer >= 1");
  return Number(value);
}

export function recommendCommand(): Command {
  return new Command("recommend")
    .description(
      "top-k next items of a session from a model folder (a neural model or a baseline): item ids as arguments, or JSON on stdin",
    )
    .argument(
      "<model-folder>",
      "a folder written by `sessionrec train` or saveModelFolder (model.json, weights, workflow/)",
    )
    .argument(
      "[items...]",
      "the session's item ids, oldest first (without them, the session is read as JSON from stdin)",
    )
    .option(
      "-k, --k <count>",
      `how many items to recommend (default: the "k" of the JSON, else ${DEFAULT_K} or every known item when fewer)`,
      positiveInteger,
    )
    .option("--json", "print JSON: {items, scores} for one session, {results: [{items, scores}, ...]} for several")
    .addHelpText("after", EXAMPLES)
    .action(async (folder: string, items: string[], options: { k?: number; json?: boolean }) => {
      await initBackend({ quiet: true }); // stdout is the answer (--json), nothing else
      const model = await loadModelFolder(folder);
      try {
        const input =
          items.length > 0
            ? { sessions: [(await itemEvents(folder))(items, "items")], single: true }
            : parseSessionJson(await readStdin(), await itemEvents(folder));
        const k = options.k ?? input.k ?? Math.min(DEFAULT_K, knownItems(model));
        const results = await recommendAll(model, input, k);
        process.stdout.write(
          `${options.json ? JSON.stringify(input.single ? results[0] : { results }) : formatResults(results, input.single)}\n`,
        );
      } finally {
        model.dispose();
      }
    });
}

/** How item ids become events for the folder's workflow (read after loading: the file is known to be valid). */
async function itemEvents(folder: string) {
  return itemEventsFor(
    JSON.parse(await fs.readFile(path.join(folder, ...FOLDER_FILES.workflow.split("/")), "utf8")) as SavedWorkflow,
  );
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError("no session: give the item ids after the model folder, or JSON on stdin (see --help)");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "")
    throw new UsageError("no session: stdin is empty (give the item ids after the model folder, or JSON on stdin)");
  return text;
}

/** Items the model can recommend: the item column's ids less padding and OOV (as the service counts them). */
function knownItems(model: RecommenderModel): number {
  const { schema } = model.manifest;
  return (schema.columns.find((column) => column.name === schema.item)?.cardinality ?? 2) - 2;
}

/** The live encoder names a session by its index in the call ("live session 0, event 2, …"): say it as the input does. */
const ENCODER_SESSION = /^live session (\d+)(?=[:,])/;

/** The model's answers; its errors on the input (plain Errors: a bad k, a value it cannot read) become usage errors. */
async function recommendAll(model: RecommenderModel, input: SessionInput, k: number): Promise<Recommendation[]> {
  try {
    return await model.recommendBatch(input.sessions, k);
  } catch (error) {
    if (!(error instanceof Error) || error.constructor !== Error) throw error;
    const message = error.message.replace(ENCODER_SESSION, (_, s: string) =>
      input.single ? "session" : `sessions[${s}]`,
    );
    throw new UsageError(message);
  }
}

function formatResults(results: readonly Recommendation[], single: boolean): string {
  const columns = [...(single ? [] : ["session"]), "rank", "item", "score"];
  const rows = results.flatMap((result, s) =>
    result.items.map((item, i) => [
      ...(single ? [] : [String(s)]),
      String(i + 1),
      String(item),
      formatScore(result.scores[i]),
    ]),
  );
  const widths = columns.map((column, c) => Math.max(column.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (columns[c] === "item" ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join("  ")
      .trimEnd();
  return [line(columns), ...rows.map(line)].join("\n");
}

/** Six significant digits: enough to tell the scores apart, short enough for a table. */
const formatScore = (score: number): string => String(Number(score.toPrecision(6)));
