// Every command of the CLI, in the order `sessionrec --help` lists them. Each module exports a function that
// returns its commander Command.
import type { Command } from "commander";

export const COMMANDS: ReadonlyArray<() => Command> = [];
