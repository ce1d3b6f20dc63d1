// All-or-nothing output: everything is written under a temporary name in the destination's own folder and renamed
// into place only once complete, so a failed or interrupted run never leaves a partial file or folder behind:
// a failure removes the temporary, SIGINT / SIGTERM remove it before the process ends, and a run killed outright
// (SIGKILL, a crash, power loss) leaves one that the next write to the same destination removes.
import * as fs from "fs";
import * as path from "path";

let temporaryCount = 0;

/** A fresh path next to `target` (same folder, so the final rename cannot cross file systems). */
export function temporarySibling(target: string, tag: "tmp" | "old" = "tmp"): string {
  const resolved = path.resolve(target);
  return path.join(path.dirname(resolved), `.${path.basename(resolved)}.${tag}-${process.pid}-${temporaryCount++}`);
}

/** Writes a file through `write(temporaryPath)`, then renames it onto `file`; on failure nothing is left. */
export async function writeFileAtomically(file: string, write: (temporaryPath: string) => Promise<void>): Promise<void> {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  removeStaleTemporaries(file);
  const temporary = temporarySibling(file);
  removeOnSignal(temporary);
  try {
    await write(temporary);
    fs.renameSync(temporary, file);
  } finally {
    fs.rmSync(temporary, { force: true });
    keepOnSignal(temporary);
  }
}

/**
 * Fills a temporary folder through `fill(temporaryDir)`, then puts it in place of `dir` (an existing `dir` is
 * replaced only after `fill` succeeded). On failure the temporary folder is removed and `dir` is untouched.
 */
export async function writeDirectoryAtomically<T>(dir: string, fill: (temporaryDir: string) => Promise<T>): Promise<T> {
  const target = path.resolve(dir);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  removeStaleTemporaries(target);
  const temporary = temporarySibling(target);
  removeOnSignal(temporary);
  fs.mkdirSync(temporary);
  try {
    const result = await fill(temporary);
    replaceDirectory(temporary, target);
    return result;
  } finally {
    fs.rmSync(temporary, { recursive: true, force: true });
    keepOnSignal(temporary);
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

/**
 * Removes the temporaries of `target` (`.<name>.tmp-<pid>-<n>`) left by processes that no longer run. A previous
 * output moved aside (`.<name>.old-<pid>-<n>`) by a process killed before its replacement was in place is put back
 * when `target` is missing, and removed otherwise. Temporaries of running processes (this one included) are kept.
 */
export function removeStaleTemporaries(target: string): void {
  const resolved = path.resolve(target);
  const folder = path.dirname(resolved);
  const prefix = `.${path.basename(resolved)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return; // no folder, nothing left in it
  }
  for (const name of names) {
    const match = /^(tmp|old)-(\d+)-\d+$/.exec(name.startsWith(prefix) ? name.slice(prefix.length) : "");
    if (match === null || isRunning(Number(match[2]))) continue;
    const stale = path.join(folder, name);
    if (match[1] === "old" && !fs.existsSync(resolved)) fs.renameSync(stale, resolved);
    else fs.rmSync(stale, { recursive: true, force: true });
  }
}

/** Whether a process with this id exists (EPERM: it does, under another user). */
export function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// Paths to remove if SIGINT or SIGTERM arrives. The handlers are installed only while there are some, so a
// program that writes nothing keeps Node's default handling.
const removeOnExit = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Removes `file` (or folder) if the process is interrupted by SIGINT or SIGTERM before `keepOnSignal(file)`. */
export function removeOnSignal(file: string): void {
  if (removeOnExit.size === 0) for (const signal of SIGNALS) process.on(signal, onSignal);
  removeOnExit.add(file);
}

/** Undoes `removeOnSignal` (the path was removed or renamed into place). */
export function keepOnSignal(file: string): void {
  if (!removeOnExit.delete(file) || removeOnExit.size > 0) return;
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function onSignal(signal: NodeJS.Signals): void {
  for (const file of removeOnExit) fs.rmSync(file, { recursive: true, force: true });
  removeOnExit.clear();
  for (const s of SIGNALS) process.off(s, onSignal);
  // With no other handler, end as the signal would have without ours (a program with its own handler decides itself).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
