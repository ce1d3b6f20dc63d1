// Every command of the CLI, in the order `sessionrec --help` lists them. Each module exports a function that
// returns its commander Command.
import type { Command } from "commander";
import { prepareCommand } from "./prepare";
import { recommendCommand } from "./recommend";
import { serveCommand } from "./serve";

export const COMMANDS: ReadonlyArray<() => Command> = [prepareCommand, recommendCommand, serveCommand];
