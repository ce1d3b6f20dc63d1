// The README's API example ("Your own data in five minutes", the TypeScript block) runs as written: taken from the
// README, pointed at the hand-countable clickstream (tests/fixtures/clickstream: its time column is `timestamp`, and
// its log spans four days, so the last one is the test split) and at a temporary folder, and run with tsx with
// "sessionrec" resolved to lib/index.ts.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const FIXTURE = join(import.meta.dirname, "fixtures", "clickstream", "clicks.csv");
const work = mkdtempSync(join(tmpdir(), "sessionrec-readme-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The first ```ts block of the README. */
function readmeExample(): string {
  const block = /```ts\n([\s\S]*?)\n```/.exec(readFileSync(join(ROOT, "README.md"), "utf8"));
  if (block === null) throw new Error("README.md has no ```ts block");
  return block[1];
}

describe("the README's API example", () => {
  it("runs as written on an event log", async () => {
    const replacements: [string, string][] = [
      ['from "sessionrec"', `from ${JSON.stringify(join(ROOT, "lib", "index.ts"))}`],
      ['"events.csv"', JSON.stringify(FIXTURE)],
      ['time: "ts"', 'time: "timestamp"'],
      ["days: 7", "days: 1"],
      ["epochs: 3", "epochs: 1"],
      ['"data/mine"', JSON.stringify(join(work, "data"))],
      ['"models/gru"', JSON.stringify(join(work, "gru"))],
      ['item_id: "12", ts:', 'item_id: "shoes", timestamp:'],
      ["}], 10);", "}], 3);"], // the fixture's catalogue has 5 items
    ];
    let code = readmeExample();
    for (const [from, to] of replacements) {
      expect(code, `the README's example no longer has ${from}`).toContain(from);
      code = code.split(from).join(to);
    }
    const script = join(work, "example.mts"); // ESM: the example awaits at the top level
    writeFileSync(script, code);
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script], {
      cwd: ROOT,
      env: { ...process.env, SESSIONREC_BACKEND: "cpu" },
    });
    // console.table of the metrics, then the recommended items (of the train vocabulary) and their scores.
    expect(stdout).toContain("recall@20");
    expect(stdout).toMatch(/\[ '(gloves|shoes|hat|socks|scarf)'/);
  }, 120_000);
});
