// The runs of `train` and `compare`: fit a baseline or train a model on a run's data, score it, save it as a model
// folder (fitted state or weights, model.json, the data's workflow). With a validation split a model's best epoch is
// chosen on it and the scored split is read once, after training (lib/evaluate/run.ts); with `data.validation.refit`
// what is scored and saved was fitted again on the whole train split with those choices.
import type { RunData } from "../config/prepare";
import type { ModelEntry } from "../config/schema";
import type { Protocol } from "../evaluate/protocols";
import {
  type BaselineConfig,
  type ModelAndHead,
  type ProtocolRunResult,
  type RunResult,
  createRunBaseline,
  createRunModel,
  itemCount,
  runBaselinesOn,
  runScheme,
  trainRunModel,
} from "../evaluate/run";
import { saveModelFolder } from "../model-folder/node";
import { disposeModel, formatSummary, summarizeModel } from "../models/index";

/** Fits each baseline on `data.train`, scores it on `data.test` and saves it in `dirOf(name)`; the results in the
 *  configs' order. */
export async function fitAndSaveBaselines(
  configs: readonly BaselineConfig[],
  data: RunData,
  protocol: Protocol,
  dirOf: (name: string) => string,
): Promise<RunResult[]> {
  const baselines = configs.map((config) => createRunBaseline(config, itemCount(data.train.schema)));
  const results = runBaselinesOn(data, protocol, baselines);
  for (const [i, baseline] of baselines.entries()) {
    await saveModelFolder(dirOf(baseline.name), {
      name: baseline.name,
      baseline,
      workflow: data.workflow,
      schema: data.train.schema,
      metrics: results[i].metrics,
    });
  }
  return results;
}

/** Creates the model of `entry`, trains and scores it (`trainRunModel`), saves it in `dir` and frees it. `log`, when
 *  given, receives the model's summary before training. */
export async function trainAndSaveModel(
  entry: ModelEntry,
  data: RunData,
  protocol: Protocol,
  dir: string,
  log?: (line: string) => void,
): Promise<ProtocolRunResult> {
  const name = entry.name ?? entry.kind;
  const created = createRunModel(entry, data.train.schema);
  log?.(`train: ${name}\n${formatSummary(summarizeModel(created.model, created.head))}`);
  // With data.refit the model scored and saved is a new one, trained on the whole train split (the first is freed).
  let held: ModelAndHead = created;
  try {
    const { model, head, ...result } = await trainRunModel(created.model, created.head, entry, data, protocol);
    held = { model, head };
    await saveModelFolder(dir, {
      name,
      model,
      head,
      workflow: data.workflow,
      schema: data.train.schema,
      metrics: result.metrics,
      scheme: runScheme(model),
    });
    return result;
  } finally {
    disposeModel(held);
  }
}
