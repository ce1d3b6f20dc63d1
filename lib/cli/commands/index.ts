// Every command of the CLI, in the order `sessionrec --help` lists them. Each module exports a function that
// returns its commander Command.
import type { Command } from "commander";
import { checkCommand } from "./check";
import { compareCommand } from "./compare";
import { evaluateCommand } from "./evaluate";
import { trainCommand } from "./train";

export const COMMANDS: ReadonlyArray<() => Command> = [
  checkCommand,
  trainCommand,
  evaluateCommand,
  compareCommand,
];
