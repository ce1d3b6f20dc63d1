// Interrupted preparations, with real processes: `scripts/data-booking.ts` on a generated ~540k-booking file is
// stopped while it writes its output (its "writing train.parquet" line: the hidden temporary folder exists then).
// Killed outright (SIGKILL) it leaves the temporary, which the next preparation into the same folder removes;
// stopped by SIGTERM or SIGINT it removes the temporary itself. An earlier output stays intact either way.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../lib/data/index";
import { removeStaleTemporaries } from "../lib/data/index";
import { prepareBooking } from "../lib/data/index";
import { writeBookingsCsv } from "../lib/data/index";

const ROOT = join(import.meta.dirname, "..");
const FIXTURE = join(ROOT, "tests", "fixtures", "booking", "train_set.csv");

let dir: string;
let big: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sessionrec-interrupted-"));
  big = join(dir, "train_set.csv");
  await writeBookingsCsv(big, { trips: 100_000 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Preparation {
  child: ChildProcess;
  /** Resolves once the child says it writes train.parquet, with the names in `out`'s parent folder then. */
  writing: Promise<string[]>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The preparation script in its own process (node itself, not a launcher, so that a signal reaches it). */
function startPreparation(out: string): Preparation {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "data-booking.ts"), "--out", out], {
    cwd: ROOT,
    env: { ...process.env, SESSIONREC_DATA: big },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const writing = new Promise<string[]>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("writing train.parquet")) resolve(readdirSync(join(out, "..")));
    });
    child.on("exit", () => reject(new Error(`the preparation ended before writing:\n${output}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, writing, exited };
}

const hidden = (folder: string): string[] => readdirSync(folder).filter((name) => name.startsWith("."));

/** A process id no process has now: one of a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  await new Promise((resolve) => child.on("exit", resolve));
  return child.pid as number;
}

describe("an interrupted preparation", () => {
  it("killed outright leaves its temporary folder, which the next preparation into the same folder removes", async () => {
    const parent = join(dir, "kill");
    const out = join(parent, "prepared");
    await prepareBooking({ input: FIXTURE, outDir: out });
    const before = readFileSync(join(out, "schema.json"), "utf8");

    const run = startPreparation(out);
    const during = await run.writing;
    run.child.kill("SIGKILL");
    expect(await run.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(during).toContain(`.prepared.tmp-${run.child.pid}-0`);
    expect(hidden(parent)).toEqual([`.prepared.tmp-${run.child.pid}-0`]); // what the killed process left
    expect(readFileSync(join(out, "schema.json"), "utf8")).toBe(before);

    await prepareBooking({ input: FIXTURE, outDir: out });
    expect(readdirSync(parent)).toEqual(["prepared"]);
    expect(readdirSync(out).sort()).toEqual(["schema.json", "train.parquet", "valid.parquet", "workflow"]);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`stopped by ${signal} removes its temporary folder before it ends`, async () => {
      const parent = join(dir, signal);
      const out = join(parent, "prepared");
      const run = startPreparation(out);
      expect(await run.writing).toEqual([`.prepared.tmp-${run.child.pid}-0`]);
      run.child.kill(signal);
      expect(await run.exited).toEqual({ code: null, signal }); // ended by the signal, as without the clean-up
      expect(readdirSync(parent)).toEqual([]);
    });
  }
});

describe("removeStaleTemporaries", () => {
  it("removes the temporaries of processes that are gone, puts back an output moved aside, keeps running ones", async () => {
    const parent = join(dir, "stale");
    const target = join(parent, "data");
    const gone = await deadPid();
    const running = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    try {
      const make = (name: string, content: string): void => {
        mkdirSync(join(parent, name), { recursive: true });
        writeFileSync(join(parent, name, "file.txt"), content);
      };
      make(`.data.tmp-${gone}-3`, "half-written");
      make(`.data.old-${gone}-4`, "the previous output");
      make(`.data.tmp-${running.pid}-0`, "in progress");
      make(`.other.tmp-${gone}-0`, "another target's");
      make(`.data.tmp-x-0`, "not a name this module makes");
      removeStaleTemporaries(target);
      expect(readdirSync(parent).sort()).toEqual([
        `.data.tmp-${running.pid}-0`,
        ".data.tmp-x-0",
        `.other.tmp-${gone}-0`,
        "data",
      ]);
      expect(readFileSync(join(target, "file.txt"), "utf8")).toBe("the previous output"); // killed between its two renames

      make(`.data.old-${gone}-5`, "older");
      removeStaleTemporaries(target); // the output is in place: the one moved aside is stale
      expect(existsSync(join(parent, `.data.old-${gone}-5`))).toBe(false);
      expect(readFileSync(join(target, "file.txt"), "utf8")).toBe("the previous output");
    } finally {
      running.kill("SIGKILL");
    }
  });

  it("Database.open removes the spill folders of killed processes", async () => {
    const spill = join(tmpdir(), `sessionrec-duckdb-${await deadPid()}-0`);
    mkdirSync(spill);
    const db = await Database.open({ threads: 1 });
    db.close();
    expect(existsSync(spill)).toBe(false);
  });
});
