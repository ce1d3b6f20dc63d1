// What `sessionrec recommend` reads a session from: item ids given as arguments, or JSON on stdin in one of the
// forms below, turned into the raw events a model folder's workflow reads.
//   {"items": [id, …]}                        one session of item ids, oldest first
//   {"session": [event, …], "k"?: n}          one session of raw events (the service's /v1/recommend body)
//   {"sessions": [[event, …], …], "k"?: n}    several sessions (the service's /v1/recommend/batch body)
//   [session, …]                              several sessions, each [event, …], {"items": […]} or {"session": […]}
// Item ids alone become events holding the item column, plus a stand-in for each column the workflow reads only to
// order events (a time or line number: ascending, so the ids stay oldest first); a workflow that reads more of each
// event (features, dates it derives features from) needs whole events.
import type { RawSession } from "../data/live";
import { stepReads, type WorkflowStep } from "../data/steps";
import { UsageError } from "./errors";

/** The sessions read, whether the input was one session (printed as one list) and the k the JSON asked for. */
export interface SessionInput {
  sessions: RawSession[];
  single: boolean;
  k?: number;
}

/** How item ids become events for a workflow (see `itemEventsFor`). */
export type ItemEvents = (items: readonly unknown[], where: string) => RawSession;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Parses `text` (the JSON given on stdin) into sessions; errors name the key or index at fault. */
export function parseSessionJson(text: string, itemEvents: ItemEvents): SessionInput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`stdin: not valid JSON: ${(error as Error).message}`);
  }
  if (Array.isArray(json))
    return { sessions: json.map((session, s) => sessionOf(session, `stdin[${s}]`, itemEvents)), single: false };
  if (!isObject(json))
    throw new UsageError(
      `stdin: expected a JSON object ({"items": [...]}, {"session": [...]} or {"sessions": [...]}) or a list of sessions`,
    );
  const keys = Object.keys(json).filter((key) => key !== "k");
  if (keys.length !== 1 || !["items", "session", "sessions"].includes(keys[0])) {
    throw new UsageError(
      `stdin: expected one of the keys "items", "session" or "sessions" (and optionally "k"), got ${keys.map((key) => `"${key}"`).join(", ") || "none"}`,
    );
  }
  const k = json.k;
  if (k !== undefined && !(Number.isInteger(k) && (k as number) >= 1))
    throw new UsageError(`stdin: "k" must be an integer >= 1, got ${JSON.stringify(k)}`);
  const asked = k === undefined ? {} : { k: k as number };
  if (keys[0] === "sessions") {
    if (!Array.isArray(json.sessions)) throw new UsageError(`stdin: "sessions" must be a list of sessions`);
    return {
      sessions: json.sessions.map((session, s) => sessionOf(session, `stdin: "sessions"[${s}]`, itemEvents)),
      single: false,
      ...asked,
    };
  }
  return { sessions: [sessionOf({ [keys[0]]: json[keys[0]] }, "stdin", itemEvents)], single: true, ...asked };
}

/** One session: a list of events, {"items": [...]} or {"session": [...]}. */
function sessionOf(value: unknown, where: string, itemEvents: ItemEvents): RawSession {
  if (Array.isArray(value)) return value as RawSession; // events: the model's encoder checks each one
  if (isObject(value) && Array.isArray(value.items)) return itemEvents(value.items, `${where}: "items"`);
  if (isObject(value) && Array.isArray(value.session)) return value.session as RawSession;
  throw new UsageError(`${where}: expected a list of events, {"items": [...]} or {"session": [...]}`);
}

/**
 * How item ids become events for the saved workflow `saved` (its workflow.json): the item column, and an ascending
 * stand-in for each column read only to order events. A UsageError names the columns ids alone cannot fill.
 */
export function itemEventsFor(saved: {
  steps: readonly WorkflowStep[];
  inputs: Readonly<Record<string, string>>;
  item: string;
}): ItemEvents {
  const steps = saved.steps;
  const group = steps.find((step) => step.op === "groupbySession");
  const itemColumn =
    group?.op === "groupbySession" ? group.lists.find((column) => `${column}_list` === saved.item) : undefined;
  const identity = new Set(
    steps.flatMap((step) =>
      step.op === "sessionize"
        ? ["sessionColumn" in step ? step.sessionColumn : step.user]
        : "session" in step
          ? [step.session]
          : [],
    ),
  );
  const orderOnly = Object.keys(saved.inputs).filter(
    (column) => column !== itemColumn && !identity.has(column) && readsOnlyToOrder(steps, column),
  );
  const missing = Object.keys(saved.inputs).filter(
    (column) => column !== itemColumn && !identity.has(column) && !orderOnly.includes(column),
  );
  return (items, where) => {
    if (itemColumn === undefined)
      throw new UsageError(
        `${where}: the model's workflow has no input column for its items ("${saved.item}"): give whole events`,
      );
    if (missing.length > 0) {
      throw new UsageError(
        `${where}: item ids alone are not enough for this model: each event also needs ${missing.map((c) => `"${c}"`).join(", ")} ` +
          `(give the events as JSON on stdin: {"session": [{"${itemColumn}": …, ${missing.map((c) => `"${c}": …`).join(", ")}}, …]})`,
      );
    }
    if (items.length === 0) throw new UsageError(`${where}: no items (a session needs at least one)`);
    return items.map((item, i) => ({
      [itemColumn]: item,
      ...Object.fromEntries(orderOnly.map((column) => [column, orderValue(saved.inputs[column], i)])),
    }));
  };
}

/** Whether every step that reads `column` reads it only to order events (as the time or a tie-break). */
function readsOnlyToOrder(steps: readonly WorkflowStep[], column: string): boolean {
  return steps.every((step) => {
    if (!stepReads(step).includes(column)) return true;
    if (step.op === "sessionize") return !("sessionColumn" in step) && step.time === column;
    if (step.op !== "groupbySession" && step.op !== "removeConsecutiveRepeats") return false;
    const ordering = [step.time, ...(step.tieBreak ?? [])].includes(column);
    const other =
      step.op === "groupbySession" ? [...step.lists, ...(step.first ?? []), ...(step.last ?? [])] : [step.column];
    return ordering && !other.includes(column);
  });
}

/** The i-th of ascending stand-in values of a DuckDB type: i, day i or second i after 2000-01-01, or zero-padded text. */
function orderValue(type: string, i: number): string | number {
  const base = type.trim().toUpperCase();
  if (base === "DATE") return new Date(Date.UTC(2000, 0, 1 + i)).toISOString().slice(0, 10);
  if (base.startsWith("TIMESTAMP"))
    return new Date(Date.UTC(2000, 0, 1, 0, 0, i)).toISOString().slice(0, 19).replace("T", " ");
  if (base === "VARCHAR") return String(i).padStart(12, "0");
  return i;
}
