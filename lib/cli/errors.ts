// How the CLI ends a failed run. An error marked `usage` (a flag, file name or config the user got wrong) ends it
// with exit code 2; any other error with 1. Both print one line, never a stack trace (SESSIONREC_DEBUG=1 shows it).

/** The user asked for something that cannot be done as asked: exit code 2. */
export class UsageError extends Error {
  readonly usage = true;
}

/** True for errors that mark themselves as the user's (`usage: true`), whatever module threw them. */
export function isUsageError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { usage?: unknown }).usage === true;
}
