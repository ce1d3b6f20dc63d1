// The declarative steps a `Workflow` is made of: plain JSON objects (`{ op: "categorify", name: "city_id", … }`),
// each backed by one operator of lib/data. For every kind of step this module knows which columns it reads,
// how it changes the kinds of columns (for schema.json), how to fit its statistics and how to apply it.
import {
  type Vocabulary,
  type VocabularySpec,
  cardinality,
  categorify,
  checkVocabularySpec,
  dropOutOfVocabulary,
  fitVocabulary,
} from "./categorify";
import {
  type ColumnOptions,
  type DurationOptions,
  type NormalizeStats,
  type TimeFeaturesOptions,
  type TimeOrder,
  duration,
  fitNormalize,
  log1p,
  normalize,
  timeFeatures,
} from "./features";
import type { Relation } from "./relation";
import { type SessionizeOptions, sessionize } from "./sessionize";
import {
  type EventOrder,
  type FilterMinLengthOptions,
  type GroupbySessionOptions,
  type SliceLastOptions,
  filterMinLength,
  groupbySession,
  groupbySessionColumns,
  removeConsecutiveRepeats,
  sliceLast,
} from "./sessions";

export type WorkflowStep =
  | ({ op: "sessionize" } & SessionizeOptions)
  | ({ op: "timeFeatures" } & TimeFeaturesOptions)
  | ({ op: "duration" } & DurationOptions)
  | ({ op: "log1p" } & ColumnOptions)
  | ({ op: "normalize" } & ColumnOptions)
  | ({ op: "categorify" } & VocabularySpec)
  | { op: "dropOutOfVocabulary"; columns: string[] }
  | ({ op: "removeConsecutiveRepeats" } & EventOrder & { column: string })
  | ({ op: "groupbySession" } & GroupbySessionOptions)
  | ({ op: "sliceLast" } & SliceLastOptions)
  | ({ op: "filterMinLength" } & FilterMinLengthOptions);

export type StepOp = WorkflowStep["op"];

/** What fitting a step records: a vocabulary (categorify), mean/std (normalize), or nothing. */
export type StepStats = Vocabulary | NormalizeStats | null;

/** What a column holds, as far as schema.json is concerned. "raw": not (yet) a model input. */
export interface ColumnInfo {
  kind: "raw" | "session" | "categorical" | "continuous" | "count";
  list: boolean;
  vocabulary?: string;
  cardinality?: number;
}

export type ColumnInfos = Map<string, ColumnInfo>;

const RAW: ColumnInfo = { kind: "raw", list: false };

interface StepDefinition<S extends WorkflowStep> {
  /** Fields that must be present, with their JSON type. */
  fields: Record<string, "string" | "strings" | "number" | "object">;
  /** Columns of its input the step reads. */
  reads(step: S): string[];
  /** Kinds of the columns after the step (`stats`: what fitting recorded). */
  columns(step: S, before: ColumnInfos, stats: StepStats): ColumnInfos;
  fit?(relation: Relation, step: S): Promise<StepStats>;
  apply(relation: Relation, step: S, stats: StepStats): Promise<Relation>;
  /** Drops rows (skippable when serving a live session). */
  filters?: boolean;
}

type Definitions = { [K in StepOp]: StepDefinition<Extract<WorkflowStep, { op: K }>> };

function withColumns(before: ColumnInfos, changes: Record<string, ColumnInfo>): ColumnInfos {
  const after = new Map(before);
  for (const [name, info] of Object.entries(changes)) after.set(name, info);
  return after;
}

const orderReads = (step: EventOrder): string[] => [step.session, step.time, ...(step.tieBreak ?? [])];

const DEFINITIONS: Definitions = {
  sessionize: {
    fields: {},
    reads: (step) => ("sessionColumn" in step ? [step.sessionColumn] : [step.user, step.time]),
    columns: (step, before) => withColumns(before, { [step.output ?? "session_id"]: RAW }),
    apply: (relation, step) => sessionize(relation, step),
  },
  timeFeatures: {
    fields: { column: "string", features: "object" },
    reads: (step) => [step.column],
    columns: (step, before) => withColumns(before, Object.fromEntries(Object.keys(step.features).map((name) => [name, RAW]))),
    apply: (relation, step) => timeFeatures(relation, step),
  },
  duration: {
    fields: { start: "string", end: "string", output: "string" },
    reads: (step) => [step.start, step.end],
    columns: (step, before) => withColumns(before, { [step.output]: RAW }),
    apply: (relation, step) => duration(relation, step),
  },
  log1p: {
    fields: { column: "string" },
    reads: (step) => [step.column],
    columns: (step, before) => withColumns(before, { [step.output ?? step.column]: { kind: "continuous", list: false } }),
    apply: (relation, step) => log1p(relation, step),
  },
  normalize: {
    fields: { column: "string" },
    reads: (step) => [step.column],
    columns: (step, before) => withColumns(before, { [step.output ?? step.column]: { kind: "continuous", list: false } }),
    fit: (relation, step) => fitNormalize(relation, step.column),
    apply: (relation, step, stats) => normalize(relation, { ...step, stats: stats as NormalizeStats }),
  },
  categorify: {
    fields: { name: "string", columns: "strings" },
    reads: (step) => step.columns,
    columns: (step, before, stats) =>
      withColumns(
        before,
        Object.fromEntries(
          step.columns.map((c) => [c, { kind: "categorical", list: false, vocabulary: step.name, cardinality: cardinality(stats as Vocabulary) }]),
        ),
      ),
    fit: (relation, step) => fitVocabulary(relation, step),
    apply: (relation, _step, stats) => categorify(relation, [stats as Vocabulary]),
  },
  dropOutOfVocabulary: {
    fields: { columns: "strings" },
    reads: (step) => step.columns,
    columns: (_step, before) => before,
    apply: (relation, step) => dropOutOfVocabulary(relation, step.columns),
    filters: true,
  },
  removeConsecutiveRepeats: {
    fields: { session: "string", time: "string", column: "string" },
    reads: (step) => [...orderReads(step), step.column],
    columns: (_step, before) => before,
    apply: (relation, step) => removeConsecutiveRepeats(relation, step),
  },
  groupbySession: {
    fields: { session: "string", time: "string", lists: "strings" },
    reads: (step) => [...orderReads(step), ...step.lists, ...(step.first ?? []), ...(step.last ?? [])],
    columns: (step, before) => {
      const [session, ...rest] = groupbySessionColumns(step);
      const info = (column: string): ColumnInfo => before.get(column) ?? RAW;
      const sources = [...step.lists, ...(step.first ?? []), ...(step.last ?? [])];
      const after: ColumnInfos = new Map([[session, { kind: "session", list: false }]]);
      sources.forEach((column, i) => after.set(rest[i], { ...info(column), list: i < step.lists.length }));
      after.set(rest[rest.length - 1], { kind: "count", list: false });
      return after;
    },
    apply: (relation, step) => groupbySession(relation, step),
  },
  sliceLast: {
    fields: { n: "number" },
    reads: (step) => step.columns ?? [],
    columns: (_step, before) => before,
    apply: (relation, step) => sliceLast(relation, step),
  },
  filterMinLength: {
    fields: { column: "string", min: "number" },
    reads: (step) => [step.column],
    columns: (_step, before) => before,
    apply: (relation, step) => filterMinLength(relation, step),
    filters: true,
  },
};

// One cast through `unknown` instead of at every call: TypeScript cannot pair a step with its own definition.
function definitionOf(step: WorkflowStep): StepDefinition<WorkflowStep> {
  return DEFINITIONS[step.op] as unknown as StepDefinition<WorkflowStep>;
}

export const STEP_OPS = Object.keys(DEFINITIONS) as StepOp[];

/** Checks a step's shape (used for steps given in code and read from workflow.json); `where` starts errors. */
export function checkStep(value: unknown, where: string): WorkflowStep {
  if (typeof value !== "object" || value === null) throw new Error(`${where}: a step must be an object`);
  const op = (value as { op?: unknown }).op;
  if (typeof op !== "string" || !(op in DEFINITIONS)) {
    throw new Error(`${where}: unknown op ${JSON.stringify(op)} (known: ${STEP_OPS.join(", ")})`);
  }
  const step = value as WorkflowStep;
  for (const [field, type] of Object.entries(definitionOf(step).fields)) {
    const v = (step as unknown as Record<string, unknown>)[field];
    const ok =
      type === "strings"
        ? Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === "string")
        : type === "object"
          ? typeof v === "object" && v !== null && !Array.isArray(v)
          : typeof v === type;
    if (!ok) throw new Error(`${where} (${op}): "${field}" must be ${type === "strings" ? "a non-empty array of column names" : `a ${type}`}`);
  }
  if (step.op === "sessionize" && !("sessionColumn" in step) && !("gapSeconds" in step)) {
    throw new Error(`${where} (sessionize): give either "sessionColumn" or "user", "time" and "gapSeconds"`);
  }
  if (step.op === "categorify") checkVocabularySpec(step, `${where} (categorify)`);
  return step;
}

/** A short description for progress messages and errors: `categorify "country" (booker_country, hotel_country)`. */
export function describeStep(step: WorkflowStep): string {
  switch (step.op) {
    case "categorify":
      return `categorify "${step.name}" (${step.columns.join(", ")})`;
    case "groupbySession":
      return `groupbySession by ${step.session}`;
    case "sliceLast":
      return `sliceLast ${step.n}`;
    case "filterMinLength":
      return `filterMinLength ${step.column} >= ${step.min}`;
    default:
      return `${step.op} ${definitionOf(step).reads(step).join(", ")}`.trim();
  }
}

/**
 * The one rule the steps set on raw events: a `duration` between two input columns (a stay from check-in to
 * check-out) may not be negative. Readers of events (preparation, live sessions) refuse an event breaking it.
 */
export function inputTimeOrders(steps: readonly WorkflowStep[], inputs: readonly string[]): TimeOrder[] {
  return steps.flatMap((step) => (step.op === "duration" && inputs.includes(step.start) && inputs.includes(step.end) ? [{ start: step.start, end: step.end }] : []));
}

export const stepReads = (step: WorkflowStep): string[] => definitionOf(step).reads(step);
export const stepColumns = (step: WorkflowStep, before: ColumnInfos, stats: StepStats): ColumnInfos => definitionOf(step).columns(step, before, stats);
export const stepFilters = (step: WorkflowStep): boolean => definitionOf(step).filters === true;

/** Fits the step on `relation` (the data as it reaches the step); null for steps with nothing to fit. */
export async function fitStep(relation: Relation, step: WorkflowStep): Promise<StepStats> {
  const fit = definitionOf(step).fit;
  return fit === undefined ? null : fit(relation, step);
}

export function applyStep(relation: Relation, step: WorkflowStep, stats: StepStats): Promise<Relation> {
  return definitionOf(step).apply(relation, step, stats);
}
