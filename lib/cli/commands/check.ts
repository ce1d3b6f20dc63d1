// `sessionrec check <config.json>`: reads a run config and says "ok" with what it describes, or the one line of
// what is wrong (the file, the key, what was expected; exit code 2). Nothing is prepared or trained.
import { Command } from "commander";
import { readRunConfig } from "../../config/read";
import type { RunConfig } from "../../config/schema";
import { RUN_DEFAULTS } from "../../evaluate/defaults";

/** One line: the data, the baselines, the models and the protocol of `config`. */
export function summarizeRunConfig(config: RunConfig): string {
  const folder = config.data.prepare
    ? `${config.data.prepare.recipe} recipe → ${config.data.folder}`
    : `prepared data in ${config.data.folder}`;
  const validation = config.data.validation;
  const data =
    validation === undefined ? folder : `${folder} (validation: the last ${100 * validation.fraction}% of train)`;
  const baselines = config.baselines ?? RUN_DEFAULTS.baselines;
  const models = config.models.map((m) => (m.name && m.name !== m.kind ? `${m.name} (${m.kind})` : m.kind));
  const { protocol, ks, split } = config.evaluation;
  const cutoffs = ks ?? RUN_DEFAULTS.ks[protocol];
  return [
    data,
    `baselines: ${baselines.length === 0 ? "none" : baselines.map((b) => (typeof b === "string" ? b : b.name)).join(", ")}`,
    `models: ${models.length === 0 ? "none" : models.join(", ")}`,
    `protocol ${protocol} @${cutoffs.join(",")} on ${split ?? RUN_DEFAULTS.split}`,
  ].join("; ");
}

export function checkCommand(): Command {
  return new Command("check")
    .description('check a run config file: print "ok: <what it runs>", or the key at fault (exit code 2)')
    .argument("<config>", "run config file (JSON; see docs/configuration.md)")
    .addHelpText("after", "\nExample:\n  sessionrec check configs/course.json\n")
    .action(async (file: string) => {
      const config = await readRunConfig(file);
      process.stdout.write(`ok: ${file}: ${summarizeRunConfig(config)}\n`);
    });
}
