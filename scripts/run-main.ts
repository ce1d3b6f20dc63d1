// The entry-point tail of the command-line scripts: run `main` when the module is the program (not when a test
// imports it), exit with its code, and print only the message of an error (the stack says nothing to a user).
import * as path from "path";
import { pathToFileURL } from "url";

export function runMain(moduleUrl: string, main: () => Promise<number>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(path.resolve(process.argv[1])).href) return;
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
