// The demo page end to end: a tiny GRU trained on the Booking fixture and saved as a model folder, the page built
// with Vite, both served by the service, and headless Chromium clicking three cities. After each click the page's
// own (tfjs cpu backend) recommendations and the service's answer it shows must equal what the library computes in
// Node for the same events (demo/session.ts builds them for both): same cities in the same order, scores to 1e-4.
// Skipped, with a message, where /usr/bin/chromium is missing.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { startBackend } from "../lib/compute/backend";
import { prepareBooking } from "../lib/data/recipes/booking";
import { runModelOn } from "../lib/evaluate";
import { SessionLoader } from "../lib/data/loader";
import { loadModelFolder, saveModelFolder } from "../lib/model-folder/index";
import type { Recommendation, RecommenderModel } from "../lib/model-folder/types";
import { disposeModel } from "../lib/models";
import { listen } from "../lib/serve";
import { serveModelFolder } from "../lib/serve/load";
import { fetchModel } from "../lib/browser";
import { type ItemValue, type RawEvent, demoSessionBuilder } from "../demo/session";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const REPO_ROOT = path.resolve(import.meta.dirname, "..");
const FIXTURE = path.join(REPO_ROOT, "tests", "fixtures", "booking", "train_set.csv");
const VITE = path.join(REPO_ROOT, "node_modules", ".bin", "vite");
const K = 10;
/** Catalogue buttons clicked, by position among the popular cities shown (a repeat of the first one included). */
const CLICKS = [3, 0, 0];
/** Vite build + page load on a busy 2-core box. */
const SETUP_TIMEOUT_MS = 180_000;

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `demo-e2e.test: skipping the in-browser demo test, ${CHROMIUM} is missing (apt-get install -y chromium)`,
  );

/** "<module> (imported by <file>)" for each node built-in Vite replaced with an empty stub, from its build log. */
function nodeOnlyImports(log: string): string[] {
  const plain = log.replace(/\u001b\[[0-9;]*m/g, ""); // vitest's FORCE_COLOR makes Vite colour its log
  const found = plain.matchAll(
    /Module "([^"]+)" has been externalized for browser compatibility, imported by "([^"]+)"/g,
  );
  return [
    ...new Set([...found].map(([, module, file]) => `${module} (imported by ${path.relative(REPO_ROOT, file)})`)),
  ];
}

/** The cities and scores a recommendation list of the page shows, read from its data attributes. */
async function shownList(
  page: Page,
  list: "local-recs" | "server-recs",
): Promise<{ items: string[]; scores: number[] }> {
  return page.$$eval(`#${list} li`, (items) => ({
    items: items.map((li) => (li as HTMLElement).dataset.item as string),
    scores: items.map((li) => Number((li as HTMLElement).dataset.score)),
  }));
}

function expectSameRecommendation(
  shown: { items: string[]; scores: number[] },
  expected: Recommendation,
  where: string,
): void {
  expect(shown.items, where).toEqual(expected.items.map(String));
  shown.scores.forEach((score, rank) =>
    expect(
      Math.abs(score - expected.scores[rank]),
      `${where}, rank ${rank + 1}: ${score} vs ${expected.scores[rank]}`,
    ).toBeLessThan(1e-4),
  );
}

describe.skipIf(!hasChromium)("demo page in headless Chromium", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "sessionrec-demo-e2e-"));
  const modelDir = path.join(tmp, "model");
  const siteDir = path.join(tmp, "site");
  let app: FastifyInstance | undefined;
  let served: RecommenderModel | undefined;
  let inNode: RecommenderModel | undefined;
  let browser: BrowserContext | undefined;
  let baseUrl = "";
  let sessionOf: (items: readonly ItemValue[]) => RawEvent[];

  beforeAll(async () => {
    // Training on wasm takes seconds (the cpu backend: a minute); everything after it runs on cpu, as the page does.
    await startBackend("wasm");
    const prepared = await prepareBooking({ input: FIXTURE, outDir: path.join(tmp, "data") });
    const [train, valid] = await Promise.all([
      SessionLoader.open(path.join(tmp, "data"), "train"),
      SessionLoader.open(path.join(tmp, "data"), "valid"),
    ]);
    // A few epochs of a small GRU: trained enough that its scores are spread out, so the order is not a coin toss.
    const run = await runModelOn(
      {
        kind: "gru",
        model: { units: 16, inputs: { itemDim: 8 } },
        training: { epochs: 3, batchSize: 64, learningRate: 0.01, seed: 3, batches: "shuffled", lengthGroups: 1 },
      },
      { train: train.table, test: valid.table },
      { name: "last", ks: [4, 10] },
      { progress: "none" },
    );
    await saveModelFolder(modelDir, {
      name: "demo-e2e-gru",
      model: run.model,
      head: run.head,
      workflow: prepared.workflow,
      schema: prepared.schema,
      metrics: run.metrics,
    });
    disposeModel(run);
    await startBackend("cpu");

    // NODE_ENV=production, as `npm run demo:build` has it: vitest sets "test", which makes Vite build a dev bundle.
    const build = spawnSync(VITE, ["build", "demo", "--outDir", siteDir, "--emptyOutDir"], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_ENV: "production" },
      encoding: "utf8",
      timeout: SETUP_TIMEOUT_MS,
    });
    if (build.status !== 0)
      throw new Error(`vite build demo failed (status ${build.status}):\n${build.stdout}\n${build.stderr}`);
    const leaks = nodeOnlyImports(`${build.stdout}\n${build.stderr}`);
    if (leaks.length > 0)
      console.warn(
        `demo-e2e.test: node-only modules in the page's bundle (stubbed by Vite; they must not run in the browser):\n  ${leaks.join("\n  ")}`,
      );

    const service = await serveModelFolder(modelDir, { staticDir: siteDir });
    app = service.app;
    served = service.model;
    baseUrl = await listen(app, { port: 0 });
    // The page fetches the model folder from model/ beside itself, as the service serves it.
    expect((await fetch(`${baseUrl}/model/model.json`)).status).toBe(200);
    inNode = await loadModelFolder(modelDir);
    // The events exactly as the page builds them: from the workflow the page fetches.
    const fetched = await fetchModel(new URL("model/", `${baseUrl}/`));
    fetched.recommender.dispose();
    sessionOf = demoSessionBuilder(fetched.workflow, fetched.recommender.manifest.schema);

    browser = await chromium.launchPersistentContext(path.join(tmp, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    served?.dispose();
    inNode?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(
    "shows, after each of three clicks, the recommendations the library computes in Node, in the page and from the service",
    async () => {
      const page = await (browser as BrowserContext).newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(`${baseUrl}/?backend=cpu&k=${K}`);
      await page.waitForSelector("body[data-state=ready], body[data-state=error]", { timeout: SETUP_TIMEOUT_MS });
      expect(await page.textContent("#status"), "the page's status line").not.toMatch(/could not/i);
      const popular = await page.$$eval("#catalogue button", (buttons) =>
        buttons.map((b) => (b as HTMLElement).dataset.item as string),
      );
      expect(popular.length).toBe(30);

      const trip: ItemValue[] = [];
      for (const position of CLICKS) {
        await page.click(`#catalogue button >> nth=${position}`);
        trip.push(Number(popular[position])); // the fixture's city ids are integers
        const shownFor = trip.join(",");
        await page.waitForSelector(`#local-recs[data-for="${shownFor}"]`);
        await page.waitForSelector(`#server-recs[data-for="${shownFor}"]`);
        const expected = await (inNode as RecommenderModel).recommend(sessionOf(trip), K);
        expect(expected.items).toHaveLength(K);
        expectSameRecommendation(await shownList(page, "local-recs"), expected, `in the browser, trip ${shownFor}`);
        expectSameRecommendation(await shownList(page, "server-recs"), expected, `from the service, trip ${shownFor}`);
      }
      expect(await page.$$eval("#trip li", (items) => items.map((li) => (li as HTMLElement).dataset.item))).toEqual(
        trip.map(String),
      );
      expect(await page.getAttribute("body", "data-state")).toBe("ready");
      expect(pageErrors).toEqual([]);
    },
    SETUP_TIMEOUT_MS,
  );
});
