// Keeps the documentation true to the repository: every relative link of README.md, docs/*.md and the folders'
// READMEs leads to a file (and heading) that exists, and every repository path that README.md and docs/ name exists.
// Cheap: no network.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  brokenLink,
  headingAnchors,
  headingSlug,
  isExternal,
  markdownLinks,
  repositoryPaths,
} from "./helpers/markdown";

const ROOT = path.resolve(import.meta.dirname, "..");
const DOCS = [
  "README.md",
  ...readdirSync(path.join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];
/** The folders' READMEs: their links are checked too (docker/README.md names files of npm packages, such as
 *  scripts/install.js, so its paths are not). */
const PAGES = [...DOCS, "data/README.md", "docker/README.md"];
/** Folders whose paths the pages name as they are in the repository (not data/ or build/, where the pages name
 *  outputs such as data/mine and build/models/gru). */
const CHECKED_FOLDERS = ["lib", "tests", "bench", "scripts", "notebooks", "demo", "docker", "jupyter"];

const read = (page: string) => readFileSync(path.join(ROOT, page), "utf8");

describe("the README's first lines", () => {
  it("are the two commands, npm start then npm test, and package.json has both", () => {
    const firstBlock = /^# sessionrec\n\n```sh\n([\s\S]*?)\n```/.exec(read("README.md"));
    expect(firstBlock, "README.md must open with its title and the commands' code block").not.toBeNull();
    const commands = firstBlock![1].split("\n").map((line) => line.replace(/#.*/, "").trim());
    expect(commands).toEqual(["npm ci && npm start", "npm test"]);
    const scripts = JSON.parse(read("package.json")).scripts;
    expect(scripts.start).toBeDefined();
    expect(scripts.test).toBeDefined();
  });

  it("the README stays a five-minute read (at most 150 lines)", () => {
    expect(read("README.md").split("\n").length).toBeLessThanOrEqual(150);
  });
});

describe("links and paths of the documentation", () => {
  it.each(PAGES)("%s: every relative link leads to a file (and heading) that exists", (page) => {
    const broken = markdownLinks(read(page))
      .filter((link) => !isExternal(link.target))
      .map((link) => ({ link, why: brokenLink(path.join(ROOT, page), link.target) }))
      .filter(({ why }) => why !== null)
      .map(({ link, why }) => `${page}:${link.line}: (${link.target}) ${why}`);
    expect(broken).toEqual([]);
  });

  it.each(DOCS)("%s: every path it names under lib/, tests/, bench/, … exists", (page) => {
    const missing = repositoryPaths(read(page), CHECKED_FOLDERS).filter(
      (mentioned) => !existsSync(path.join(ROOT, mentioned)),
    );
    expect(missing.map((mentioned) => `${page} names ${mentioned}, which does not exist`)).toEqual([]);
  });
});

describe("the checks themselves (hand-made pages)", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sessionrec-docs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds links outside code, with their lines, and tells external ones", () => {
    const text =
      'see [a](docs/a.md) and ![img](b.png "title")\n```sh\n[not](a/link.md)\n```\n[x](https://example.com) [y](#here)';
    expect(markdownLinks(text)).toEqual([
      { target: "docs/a.md", line: 1 },
      { target: "b.png", line: 1 },
      { target: "https://example.com", line: 5 },
      { target: "#here", line: 5 },
    ]);
    expect(["https://example.com", "mailto:a@b.c", "docs/a.md", "#here"].map(isExternal)).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it("makes GitHub's anchors, numbering repeated headings", () => {
    expect(headingSlug("Load test (`npm run bench:serve`)")).toBe("load-test-npm-run-benchserve");
    expect(headingSlug("Results of `npm start` (bundled data, validation = last city)")).toBe(
      "results-of-npm-start-bundled-data-validation--last-city",
    );
    expect(headingSlug("The peer's BLAS, and how to get OpenBLAS")).toBe("the-peers-blas-and-how-to-get-openblas");
    expect([...headingAnchors("# Top\n## Part\n```\n# not a heading\n```\n## Part\n")]).toEqual([
      "top",
      "part",
      "part-1",
    ]);
  });

  it("reports a missing file and a missing heading, and accepts what exists", () => {
    writeFileSync(path.join(dir, "a.md"), "# A page\n\n## Its part\n");
    const page = path.join(dir, "index.md");
    writeFileSync(page, "# Index\n");
    expect(brokenLink(page, "a.md")).toBeNull();
    expect(brokenLink(page, "a.md#its-part")).toBeNull();
    expect(brokenLink(page, "#index")).toBeNull();
    expect(brokenLink(page, "b.md")).toBe("b.md does not exist");
    expect(brokenLink(page, "a.md#no-part")).toBe("a.md has no heading #no-part");
    expect(brokenLink(page, "#nowhere")).toBe("index.md has no heading #nowhere");
  });

  it("finds repository paths in prose and code, not inside other paths", () => {
    const text =
      "`lib/compute/kernels/` and lib/train/fit.ts. Also ../lib/x.ts, ./lib/y.ts, /usr/lib/z, data/mine, `lib/...`";
    expect(repositoryPaths(text, ["lib"])).toEqual(["lib/compute/kernels/", "lib/train/fit.ts"]);
  });
});
