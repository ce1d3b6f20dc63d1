// The shape of one raw event in a request: the input columns of the model's fitted workflow (names and DuckDB
// types as recorded in workflow.json when fitting), turned into a JSON schema. It checks what JSON alone can tell —
// a missing field, an object where a value belongs — so that such a request is a 400 naming the field before it
// reaches the model; the values themselves are read by the model's live encoder as DuckDB reads them in training
// ("8183" is a fine INTEGER there), whose error on a bad one names the event and the field.
import { promises as fs } from "fs";
import * as path from "path";
import { type SavedWorkflow, WORKFLOW_FILE } from "../data/fitted";
import { positionOnlyColumns } from "../data/live";
import type { WorkflowStep } from "../data/steps";

export interface EventColumn {
  name: string;
  /** DuckDB type the workflow reads the column as, e.g. "INTEGER", "DATE", "VARCHAR". */
  type: string;
  /** false for a column that identifies the session (its id, its user): a request's session is one list of
   *  events, so the encoder fills it in when absent; false too for a column that only breaks ties (a row number),
   *  for which the event's position stands in. */
  required: boolean;
}

/** Step fields naming a column that identifies a session (the live encoder fills such a column in). */
const IDENTITY_FIELDS = ["session", "sessionColumn", "user"] as const;

/** The event columns of the workflow saved in `workflowDir`; errors name the file. */
export async function readEventColumns(workflowDir: string): Promise<EventColumn[]> {
  const file = path.join(workflowDir, WORKFLOW_FILE);
  let saved: Partial<SavedWorkflow>;
  try {
    saved = JSON.parse(await fs.readFile(file, "utf8")) as Partial<SavedWorkflow>;
  } catch (error) {
    throw new Error(`${file}: cannot read the workflow: ${(error as Error).message}`);
  }
  return eventColumnsOf(saved, file);
}

/** The event columns of a parsed workflow.json (`source` names it in errors). */
export function eventColumnsOf(saved: Partial<SavedWorkflow>, source: string): EventColumn[] {
  const inputs = saved?.inputs;
  if (typeof inputs !== "object" || inputs === null || Object.values(inputs).some((type) => typeof type !== "string")) {
    throw new Error(`${source}: "inputs" must map each input column to its type`);
  }
  const identity = new Set<string>();
  for (const step of Array.isArray(saved.steps) ? saved.steps : []) {
    for (const field of IDENTITY_FIELDS) {
      const column = (step as unknown as Record<string, unknown>)[field];
      if (typeof column === "string") identity.add(column);
    }
  }
  const positions = positionOnlyColumns(
    Array.isArray(saved.steps) ? (saved.steps as WorkflowStep[]) : [],
    inputs as Record<string, string>,
  );
  return Object.entries(inputs).map(([name, type]) => ({
    name,
    type,
    required: !identity.has(name) && !positions.has(name),
  }));
}

/** JSON kinds a raw value of DuckDB `type` may have: dates and times are text; anything else text or a number. */
export function valueSchema(type: string): { type: string[] } {
  const base = type.toUpperCase();
  const temporal = base === "DATE" || base.startsWith("TIME");
  return { type: temporal ? ["string", "null"] : ["string", "number", "null"] };
}

/** JSON schema of one event: an object with the required columns (others are allowed and ignored by the encoder). */
export function eventSchema(columns: readonly EventColumn[] | undefined): Record<string, unknown> {
  if (columns === undefined) return { type: "object", minProperties: 1 };
  return {
    type: "object",
    properties: Object.fromEntries(columns.map((column) => [column.name, valueSchema(column.type)])),
    required: columns.filter((column) => column.required).map((column) => column.name),
  };
}
