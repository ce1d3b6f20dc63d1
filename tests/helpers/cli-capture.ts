// Runs the CLI in-process (runCli) with a given stdin, and collects what it writes to stdout and stderr (console
// included).
import { Readable } from "node:stream";
import { vi } from "vitest";
import { runCli } from "../../lib/cli/program";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `sessionrec <argv>` in process, reading `stdin` (none: a terminal with nothing typed). */
export async function runCliCaptured(argv: string[], stdin?: string): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const toText = (chunk: unknown): string =>
    typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
  const spies = [
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => ((stdout += toText(chunk)), true)),
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: unknown) => ((stderr += toText(chunk)), true)),
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void (stdout += `${args.join(" ")}\n`)),
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void (stderr += `${args.join(" ")}\n`)),
    vi
      .spyOn(process, "stdin", "get")
      .mockReturnValue(
        (stdin === undefined
          ? Object.assign(Readable.from([]), { isTTY: true })
          : Readable.from([Buffer.from(stdin)])) as unknown as typeof process.stdin,
      ),
  ];
  try {
    const code = await runCli(argv);
    return { code, stdout, stderr };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
