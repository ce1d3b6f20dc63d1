#!/usr/bin/env node
// `sessionrec` (package.json's bin): runs the CLI and exits with its code.
import { runCli } from "./program";

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
