// Every command of the CLI, in the order `sessionrec --help` lists them. Each module exports a function that
// returns its commander Command.
import type { Command } from "commander";
import { checkCommand } from "./check";
import { compareCommand } from "./compare";
import { evaluateCommand } from "./evaluate";
import { prepareCommand } from "./prepare";
import { recommendCommand } from "./recommend";
import { serveCommand } from "./serve";
import { trainCommand } from "./train";

// The pipeline's order: data → check a config → train → evaluate / compare → use the model.
export const COMMANDS: ReadonlyArray<() => Command> = [
  prepareCommand,
  checkCommand,
  trainCommand,
  evaluateCommand,
  compareCommand,
  recommendCommand,
  serveCommand,
];
