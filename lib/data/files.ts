// All-or-nothing output: everything is written under a temporary name in the destination's own folder and renamed
// into place only once complete, so a failed or interrupted run never leaves a partial file or folder behind.
import * as fs from "fs";
import * as path from "path";

let temporaryCount = 0;

/** A fresh path next to `target` (same folder, so the final rename cannot cross file systems). */
export function temporarySibling(target: string, tag = "tmp"): string {
  const resolved = path.resolve(target);
  return path.join(path.dirname(resolved), `.${path.basename(resolved)}.${tag}-${process.pid}-${temporaryCount++}`);
}

/** Writes a file through `write(temporaryPath)`, then renames it onto `file`; on failure nothing is left. */
export async function writeFileAtomically(file: string, write: (temporaryPath: string) => Promise<void>): Promise<void> {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const temporary = temporarySibling(file);
  try {
    await write(temporary);
    fs.renameSync(temporary, file);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/**
 * Fills a temporary folder through `fill(temporaryDir)`, then puts it in place of `dir` (an existing `dir` is
 * replaced only after `fill` succeeded). On failure the temporary folder is removed and `dir` is untouched.
 */
export async function writeDirectoryAtomically<T>(dir: string, fill: (temporaryDir: string) => Promise<T>): Promise<T> {
  const target = path.resolve(dir);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temporary = temporarySibling(target);
  fs.mkdirSync(temporary);
  try {
    const result = await fill(temporary);
    replaceDirectory(temporary, target);
    return result;
  } finally {
    fs.rmSync(temporary, { recursive: true, force: true });
  }
}

/** Renames `source` onto `target`, moving an existing `target` aside first and deleting it afterwards. */
function replaceDirectory(source: string, target: string): void {
  if (!fs.existsSync(target)) {
    fs.renameSync(source, target);
    return;
  }
  const old = temporarySibling(target, "old");
  fs.renameSync(target, old);
  try {
    fs.renameSync(source, target);
  } catch (error) {
    fs.renameSync(old, target);
    throw error;
  }
  fs.rmSync(old, { recursive: true, force: true });
}
