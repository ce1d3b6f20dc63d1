// Reading a run config file: JSON → the zod schema of schema.ts → a RunConfig, or one line saying which file, which
// key and what was expected, e.g. `configs/x.json: models[1].training.epochs: expected a positive integer, got "3"`.
// Such errors are the user's (`usage: true`): the CLI exits with 2.
import * as fs from "fs";
import * as path from "path";
import type { z } from "zod";
import { type RunConfig, runConfigSchema } from "./schema";

/** A config file that cannot be used as it is: names the file and the key. */
export class ConfigError extends Error {
  readonly usage = true;
}

/** `models[1].training.epochs` */
export function keyPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${String(key)}`)).join("");
}

function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** One issue of zod as `key: what was expected, got what`. */
function describeIssue(issue: z.core.$ZodIssue & { input?: unknown }): string {
  const where = issue.path.length === 0 ? "(top level)" : keyPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => JSON.stringify(k)).join(", ");
    return `${where}: unknown key${issue.keys.length > 1 ? "s" : ""} ${keys}`;
  }
  if (issue.code === "invalid_union" && "discriminator" in issue && typeof issue.discriminator === "string") {
    const options = ((issue as { options?: unknown[] }).options ?? []).map((o) => JSON.stringify(o)).join(", ");
    const got = (issue.input as Record<string, unknown> | undefined)?.[issue.discriminator];
    return `${where}: expected one of ${options}, got ${shown(got)}`;
  }
  const message = issue.message.startsWith("Invalid input: ")
    ? issue.message.slice("Invalid input: ".length).replace(/, received \w+$/, "")
    : issue.message;
  if (issue.input === undefined) return `${where}: missing (${message})`;
  return `${where}: ${message}, got ${shown(issue.input)}`;
}

/** What the schema cannot say key by key: settings that apply to one protocol only, and names used twice. */
function checkAcross(config: RunConfig): string | null {
  const { evaluation } = config;
  if (evaluation.protocol !== "sampled-last") {
    for (const key of ["negatives", "seed"] as const) {
      if (evaluation[key] !== undefined)
        return `evaluation.${key}: applies to the protocol "sampled-last" only, not "${evaluation.protocol}"`;
    }
  }
  const seen = new Set<string>();
  for (const [i, entry] of config.models.entries()) {
    const name = entry.name ?? entry.kind;
    if (seen.has(name))
      return `models[${i}]: a second model named "${name}" (its folder would replace the first's; give it a "name")`;
    seen.add(name);
  }
  return null;
}

/** `json` (already parsed) as a RunConfig; `source` names it in errors (usually the file). */
export function parseRunConfig(json: unknown, source: string): RunConfig {
  const result = runConfigSchema.safeParse(json, { reportInput: true });
  if (!result.success) throw new ConfigError(`${source}: ${describeIssue(result.error.issues[0])}`);
  const problem = checkAcross(result.data);
  if (problem !== null) throw new ConfigError(`${source}: ${problem}`);
  return result.data;
}

/** Reads and checks the config file `file`. */
export async function readRunConfig(file: string): Promise<RunConfig> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === "ENOENT"
        ? `${file}: no such file`
        : code === "EISDIR"
          ? `${file}: a folder, not a config file`
          : `${file}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  return parseRunConfig(await withModelsFile(json, file), file);
}

/**
 * A config whose `models` is a file name (relative to the config file, e.g. "models.json") with that file's array
 * in its place: several configs then share one set of model sections (configs/models.json: one default
 * configuration per model, the same on every data set).
 */
async function withModelsFile(json: unknown, file: string): Promise<unknown> {
  if (typeof json !== "object" || json === null || typeof (json as { models?: unknown }).models !== "string")
    return json;
  const modelsFile = path.join(path.dirname(file), (json as { models: string }).models);
  let models: unknown;
  try {
    models = JSON.parse(await fs.promises.readFile(modelsFile, "utf8"));
  } catch (error) {
    throw new ConfigError(`${file}: models: cannot read ${modelsFile}: ${(error as Error).message}`);
  }
  if (!Array.isArray(models)) throw new ConfigError(`${file}: models: ${modelsFile} holds no array of models`);
  return { ...json, models };
}
