// `sessionrec prepare` through runCli on the hand-countable clickstream (numbers from tests/helpers/clickstream.ts),
// its bad uses, and an interrupted run in its own process.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../lib/cli/program";
import { withDatabase } from "../lib/data";
import { readSchema } from "../lib/data/index";
import { BY_DATE, BY_DATE_WITH_VALIDATION, CLEANING, SESSIONS_AT_GAP } from "./helpers/clickstream";
import { splitRows } from "./helpers/tables-fixtures";

const ROOT = join(import.meta.dirname, "..");
const FIXTURE = join(import.meta.dirname, "fixtures", "clickstream", "clicks.csv");
const MAPPING = ["--item", "item_id", "--time", "timestamp", "--user", "user_id", "--categorical", "device"];
const work = mkdtempSync(join(tmpdir(), "sessionrec-cli-prepare-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let out = "";
let err = "";
beforeEach(() => {
  out = "";
  err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((err += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

/** The lines runCli wrote on stderr that are not progress ("prepare: …") or commander's help hint. */
const errorLines = (): string[] =>
  err.split("\n").filter((line) => line !== "" && !line.startsWith("prepare: ") && !line.startsWith("("));

describe("sessionrec prepare", () => {
  it("prepares the clickstream from flags and prints the counts", async () => {
    const dir = join(work, "flags");
    const code = await runCli([
      "prepare",
      FIXTURE,
      "--out",
      dir,
      ...MAPPING,
      "--split-date",
      "2024-03-04",
      "--valid-date",
      "2024-03-03",
    ]);
    expect(errorLines()).toEqual([]);
    expect(code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([
      "schema.json",
      "test.parquet",
      "train.parquet",
      "valid.parquet",
      "workflow",
    ]);
    expect((await readSchema(dir)).item).toBe("item_id_list");
    expect(await splitRows(dir, "test")).toEqual(BY_DATE_WITH_VALIDATION.test);
    expect(out).toContain(
      `kept:    ${CLEANING.kept.events} events, ${CLEANING.kept.sessions} sessions, ${CLEANING.kept.items} items`,
    );
    const { train, valid, test } = BY_DATE_WITH_VALIDATION.splits;
    expect(out).toContain(`written: train ${train}, valid ${valid}, test ${test} sessions`);
    expect(err).toContain("prepare: writing train.parquet"); // progress, as lines when stderr is not a terminal
  });

  it("takes the gap as a duration", async () => {
    expect(
      await runCli([
        "prepare",
        FIXTURE,
        "--out",
        join(work, "gap"),
        ...MAPPING,
        "--gap",
        "1740s",
        "--split-date",
        "2024-03-04",
      ]),
    ).toBe(0);
    expect(out).toContain(`read:    43 events, ${SESSIONS_AT_GAP[29]} sessions`); // 1740 s = 29 minutes
    expect(
      await runCli([
        "prepare",
        FIXTURE,
        "--out",
        join(work, "gap"),
        ...MAPPING,
        "--gap",
        "half an hour",
        "--split-date",
        "2024-03-04",
      ]),
    ).toBe(2);
    expect(errorLines()).toEqual([
      `error: option '--gap <duration>' argument 'half an hour' is invalid. expected a duration like 30m, 90s or 1h, got "half an hour"`,
    ]);
  });

  it("has --help with a description and an example", async () => {
    expect(await runCli(["prepare", "--help"])).toBe(0);
    expect(out).toContain("Usage: sessionrec prepare [options] [events-file]");
    expect(out).toContain(
      "$ sessionrec prepare clicks.csv --out data/clicks --item item_id --time timestamp --user user_id",
    );
  });

  it("reads the recipe from --config, its input relative to the config file", async () => {
    const folder = join(work, "config");
    mkdirSync(folder);
    copyFileSync(FIXTURE, join(folder, "clicks.csv"));
    const config = join(folder, "events.json");
    const recipe = {
      recipe: "events",
      input: "clicks.csv",
      columns: { item: "item_id", time: "timestamp", user: "user_id", categorical: ["device"] },
      split: BY_DATE.split,
    };
    writeFileSync(config, JSON.stringify(recipe));
    const dir = join(work, "from-config");
    expect(await runCli(["prepare", "--config", config, "--out", dir])).toBe(0);
    expect(await splitRows(dir, "train")).toEqual(BY_DATE.train);
    expect(out).toContain(`written: train ${BY_DATE.splits.train}, test ${BY_DATE.splits.test} sessions`);
  });

  it("exits 2 with one line on bad usage, 1 with one line naming a mapped column the file lacks", async () => {
    const dir = join(work, "bad");
    expect(await runCli(["prepare", FIXTURE, "--out", dir, ...MAPPING, "--split-date", "2024-03-04", "--bogus"])).toBe(
      2,
    );
    expect(errorLines()).toEqual(["error: unknown option '--bogus'"]);
    err = "";
    expect(await runCli(["prepare", FIXTURE, "--out", dir, ...MAPPING])).toBe(2);
    expect(errorLines()).toEqual([
      'sessionrec: give a split: --split-date D, --split-last-days N, --split-fraction F or --leave-one-out (or "split" in --config)',
    ]);
    err = "";
    expect(
      await runCli(["prepare", join(work, "nope.csv"), "--out", dir, ...MAPPING, "--split-date", "2024-03-04"]),
    ).toBe(2);
    expect(errorLines()).toEqual([`sessionrec: ${join(work, "nope.csv")}: no such file`]);
    err = "";
    const config = join(work, "wrong-key.json");
    writeFileSync(
      config,
      JSON.stringify({
        input: FIXTURE,
        columns: { item: "item_id", time: "timestamp", user: "user_id" },
        split: BY_DATE.split,
        filter: {},
      }),
    );
    expect(await runCli(["prepare", "--config", config, "--out", dir])).toBe(2);
    expect(errorLines()).toEqual([`sessionrec: ${config}: filter: unknown key`]);
    err = "";
    expect(
      await runCli([
        "prepare",
        FIXTURE,
        "--out",
        dir,
        "--item",
        "sku",
        "--time",
        "timestamp",
        "--user",
        "user_id",
        "--split-date",
        "2024-03-04",
      ]),
    ).toBe(1);
    expect(errorLines()).toEqual([
      `sessionrec: ${FIXTURE}: missing column "sku" (the file has: user_id, timestamp, item_id, device)`,
    ]);
    expect(readdirSync(work)).not.toContain("bad");
  });

  it("stopped by SIGTERM while writing leaves nothing behind", async () => {
    // A clickstream large enough to still be writing when the signal comes: 400,000 clicks: 40,000 users of 10 clicks a second apart.
    const input = join(work, "big.csv");
    await withDatabase((db) =>
      db.run(
        `COPY (SELECT 'u' || (i // 10) AS user_id, TIMESTAMPTZ '2024-03-01 00:00:00+00' + to_seconds(i) AS "timestamp",
                      'item' || ((i * 7919) % 3000) AS item_id FROM range(400000) AS t(i)) TO '${input}' (FORMAT csv, HEADER)`,
      ),
    );
    const parent = join(work, "interrupted");
    const dir = join(parent, "prepared");
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "lib", "cli", "index.ts"),
        "prepare",
        input,
        "--out",
        dir,
        "--item",
        "item_id",
        "--time",
        "timestamp",
        "--user",
        "user_id",
        "--split-fraction",
        "0.2",
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    const writing = new Promise<string[]>((resolve, reject) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("writing train.parquet")) resolve(readdirSync(parent));
      });
      child.on("exit", () => reject(new Error(`prepare ended before writing:\n${output}`)));
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    expect(await writing).toEqual([`.prepared.tmp-${child.pid}-0`]);
    child.kill("SIGTERM");
    expect(await exited).toBe("SIGTERM");
    expect(readdirSync(parent)).toEqual([]);
  }, 120_000);
});
