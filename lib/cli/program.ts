// The `sessionrec` program: one commander Command per module of ./commands, and the exit-code rule
// (0 done, 1 failed, 2 wrong usage) with one line of error on stderr.
import { Command, CommanderError } from "commander";
import * as fs from "fs";
import * as path from "path";
import { isUsageError } from "./errors";
import { COMMANDS } from "./commands/index";

export const PROGRAM_NAME = "sessionrec";

/** The version in sessionrec's package.json: one folder up from dist/cli.js, two from lib/cli/program.ts (found from
 *  the working directory under tsx, where a module cannot locate itself; see lib/compute/backend.ts). */
function packageVersion(): string {
  const here = typeof __dirname === "string" ? __dirname : path.join(process.cwd(), "lib", "cli");
  for (const up of ["..", path.join("..", "..")]) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(here, up, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === PROGRAM_NAME && manifest.version !== undefined) return manifest.version;
    } catch {
      // not this folder
    }
  }
  return "unknown";
}

export function createProgram(): Command {
  const program = new Command(PROGRAM_NAME)
    .description("Session-based recommendation: event log → prepared data → trained model folder → served top-k")
    .version(packageVersion(), "-V, --version", "print the version")
    .exitOverride();
  for (const create of COMMANDS) program.addCommand(create().exitOverride());
  return program;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code; never throws. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed its message already; help and version are not failures.
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
      )
        return 0;
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${PROGRAM_NAME}: ${message}\n`);
    if (process.env.SESSIONREC_DEBUG === "1" && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    return isUsageError(error) ? 2 : 1;
  }
}
