// The raw events of a demo session: the page and its end-to-end test both turn the clicked items into events here,
// so the browser, the service and the Node check all score the very same session.
// Only the item is chosen by the user; every other input column of the fitted workflow gets a fixed, plausible
// value: dates one stay after another from DEMO_START_DATE (an end date, e.g. a checkout, STAY_DAYS after its
// start), text and integer columns that a vocabulary encodes its most frequent value, other numbers 0. The session
// id column is left out: the encoder and the service fill it in.
import { type DatasetSchema, type FittedWorkflow, type Vocabulary, fittedVocabularies } from "sessionrec/browser";

/** Date of the first event of every demo session (UTC). */
export const DEMO_START_DATE = "2016-07-01";
/** Days from one event to the next. */
export const DAYS_BETWEEN_EVENTS = 3;
/** Days from a duration's start column to its end column (e.g. checkin → checkout). */
export const STAY_DAYS = 2;

export type ItemValue = string | number;
export type RawEvent = Record<string, unknown>;

/** What the page needs to know about the model's items: their input column and values, most frequent first. */
export interface ItemCatalogue {
  /** The input (raw event) column holding the item, e.g. "city_id". */
  column: string;
  /** Known items, most frequent first (the item vocabulary's id order). */
  values: readonly ItemValue[];
}

/** The item vocabulary of a model: the one the schema's item column was encoded with. */
export function itemCatalogue(workflow: FittedWorkflow, schema: DatasetSchema): ItemCatalogue {
  const item = schema.columns.find((column) => column.name === schema.item);
  const vocabulary = fittedVocabularies(workflow).find((v) => v.name === item?.vocabulary);
  if (item === undefined || vocabulary === undefined) {
    throw new Error(
      `demo: the schema's item column "${schema.item}" has no vocabulary in the workflow (have: ${fittedVocabularies(
        workflow,
      )
        .map((v) => v.name)
        .join(", ")})`,
    );
  }
  if (vocabulary.columns.length !== 1)
    throw new Error(
      `demo: item vocabulary "${vocabulary.name}" encodes ${vocabulary.columns.length} columns, expected one`,
    );
  return { column: vocabulary.columns[0], values: vocabulary.values };
}

/** `date` ("YYYY-MM-DD") plus `days`, as "YYYY-MM-DD". */
function addDays(date: string, days: number): string {
  const ms = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(ms).toISOString().slice(0, 10);
}

/** Builds the raw events of demo sessions for one fitted workflow (see the top of this file). */
export function demoSessionBuilder(
  workflow: FittedWorkflow,
  schema: DatasetSchema,
): (items: readonly ItemValue[]) => RawEvent[] {
  const catalogue = itemCatalogue(workflow, schema);
  const sessionColumns = new Set(
    workflow.steps.flatMap((step) => (step.op === "groupbySession" ? [step.session] : [])),
  );
  const durationEnds = new Set(workflow.steps.flatMap((step) => (step.op === "duration" ? [step.end] : [])));
  const vocabularyOf = new Map<string, Vocabulary>();
  for (const vocabulary of fittedVocabularies(workflow))
    for (const column of vocabulary.columns) vocabularyOf.set(column, vocabulary);

  /** Value of `column` (of DuckDB type `type`) in the event at `position`. */
  const fixedValue = (column: string, type: string, position: number): unknown => {
    const upper = type.toUpperCase();
    if (upper === "DATE" || upper.startsWith("TIMESTAMP")) {
      const day = addDays(DEMO_START_DATE, position * DAYS_BETWEEN_EVENTS + (durationEnds.has(column) ? STAY_DAYS : 0));
      return upper === "DATE" ? day : `${day} 12:00:00`;
    }
    const known = vocabularyOf.get(column)?.values[0];
    if (known !== undefined) return known;
    return upper === "VARCHAR" ? "" : 0;
  };

  return (items) =>
    items.map((item, position) => {
      const event: RawEvent = {};
      for (const [column, type] of Object.entries(workflow.inputTypes)) {
        if (sessionColumns.has(column)) continue;
        event[column] = column === catalogue.column ? item : fixedValue(column, type, position);
      }
      return event;
    });
}
