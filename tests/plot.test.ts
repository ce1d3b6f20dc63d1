import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  barChart,
  figureHtml,
  histogram,
  lineChart,
  plotlyBundle,
  textTable,
  reportHtml,
  showPlot,
  writeReport,
  type Figure,
} from "../lib/report/index";

// showPlot talks to the Jupyter kernel through tslab.display; here we capture what it would send.
const displayHtml = vi.hoisted(() => vi.fn<(html: string) => void>());
vi.mock("../lib/report/notebook", () => ({ notebookDisplay: () => ({ html: displayHtml }) }));

const CHROMIUM = "/usr/bin/chromium";
// The bundle's licence header names the version once; counting it counts inlined bundles.
const BUNDLE_MARKER = "* plotly.js v";

const workDir = mkdtempSync(join(tmpdir(), "sessionrec-plot-test-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** The figures as serialized into each chart's script, in page order. */
function serializedFigures(html: string): Figure[] {
  return [...html.matchAll(/^ {2}var figure = (.*);$/gm)].map((m) => JSON.parse(m[1]) as Figure);
}

function twoTraceBars(): Figure {
  const fig = barChart(["a", "b", "c"], [3, 1, 2], { name: "clicks", title: "Bars" });
  fig.data.push({ type: "bar", name: "buys", x: ["a", "b", "c"], y: [1, 0, 1] });
  return fig;
}

function threeLines(): Figure {
  return lineChart(
    [
      { name: "train", y: [1, 0.5, 0.3] },
      { name: "valid", y: [1.1, 0.7, 0.6] },
      { name: "test", y: new Float32Array([1.2, 0.8, 0.65]), x: [1, 2, 3] },
    ],
    { title: "Loss", xTitle: "epoch", markers: true },
  );
}

describe("chart builders", () => {
  it("barChart pairs labels with values and puts titles in plotly 3 object form", () => {
    const fig = barChart(["x", "y"], [5, 7], { title: "T", xTitle: "item", yTitle: "n", height: 300 });
    expect(fig.data).toEqual([{ type: "bar", x: ["x", "y"], y: [5, 7] }]);
    expect(fig.layout).toMatchObject({
      height: 300,
      title: { text: "T" },
      xaxis: { title: { text: "item" } },
      yaxis: { title: { text: "n" } },
    });
    const horizontal = barChart(["x"], [1], { horizontal: true }).data[0];
    expect(horizontal).toEqual({ type: "bar", orientation: "h", x: [1], y: ["x"] });
    expect(() => barChart(["a", "b"], [1])).toThrow("barChart: 2 labels but 1 values");
  });

  it("lineChart makes one scatter trace per series, x defaulting to 0..n-1", () => {
    const fig = threeLines();
    expect(fig.data.map((t) => t.name)).toEqual(["train", "valid", "test"]);
    expect(fig.data[0]).toMatchObject({ type: "scatter", mode: "lines+markers", x: [0, 1, 2], y: [1, 0.5, 0.3] });
    expect(fig.data[2].x).toEqual([1, 2, 3]);
    expect(() => lineChart([{ name: "bad", y: [1, 2], x: [1] }])).toThrow('series "bad" has 1 x values but 2 y values');
  });

  it("histogram bins integers one bar per value and floats into equal-width bins", () => {
    // Session lengths 1,2,2,3,3,3,10: bars centred on 1..10.
    const ints = histogram([1, 2, 2, 3, 3, 3, 10]).data[0];
    expect(ints.x).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ints.y).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 0, 1]);
    expect(ints.width).toBe(1);
    // [0,.5) [.5,1) [1,1.5) [1.5,2]: the maximum 2 falls into the last bin.
    const floats = histogram([0, 0.5, 1, 1.5, 2], { bins: 4 }).data[0];
    expect(floats.x).toEqual([0.25, 0.75, 1.25, 1.75]);
    expect(floats.y).toEqual([1, 1, 1, 2]);
    // 30 bins over [0, 0.3): float error in 0.3 / 0.01 must not add a 31st, empty bin.
    const many = histogram(
      Array.from({ length: 31 }, (_, i) => i * 0.01),
      { bins: 30 },
    ).data[0];
    expect((many.y as number[]).length).toBe(30);
    expect((many.y as number[]).reduce((a, b) => a + b, 0)).toBe(31);
    // binWidth 4 from the minimum: [0,4) holds 0 and 3, [4,8) nothing, [8,12) holds 9.
    expect(histogram([0, 3, 9], { binWidth: 4 }).data[0]).toMatchObject({ x: [2, 6, 10], y: [2, 0, 1] });
    expect(() => histogram([1, Number.NaN])).toThrow("value at index 1 is NaN");
    expect(() => histogram([])).toThrow("no values");
    expect(() => histogram([1], { bins: 0 })).toThrow("bins must be a positive integer");
    expect(() => histogram([0, 1000], { binWidth: 0.01 })).toThrow("makes 100000 bins, more than 10000");
  });
});

describe("HTML rendering", () => {
  it("serializes the figure data (typed arrays as plain arrays) and inlines the bundle only when asked", () => {
    const fig = threeLines();
    const withBundle = figureHtml(fig, { includeBundle: true });
    const without = figureHtml(fig);
    expect(count(withBundle, BUNDLE_MARKER)).toBe(1);
    expect(count(without, BUNDLE_MARKER)).toBe(0);
    const [parsed] = serializedFigures(without);
    expect(parsed.data[2].y).toEqual([1.2, 0.8, 0.65].map((v) => Math.fround(v)));
    expect(parsed.layout).toEqual(fig.layout);
    // Unique ids so two charts of one page (or of a re-run cell) never draw into the same div.
    const ids = [without, figureHtml(fig)].map((h) => /<div id="([^"]+)" style/.exec(h)?.[1]);
    expect(ids[0]).toMatch(/^sessionrec-plot-/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it("keeps a hostile title from closing the script element", () => {
    const title = "</script><script>alert(1)</script> & <b>";
    const html = figureHtml(barChart(["<td>"], [1], { title }));
    expect(html).not.toContain("alert(1)</script>");
    expect(count(html, "</script>")).toBe(1);
    const [parsed] = serializedFigures(html);
    expect(parsed.layout?.title).toEqual({ text: title });
    expect(parsed.data[0].x).toEqual(["<td>"]);
  });

  it("bundle has no '</script' left that would end the inline script early", () => {
    expect(plotlyBundle()).not.toMatch(/<\/script/i);
    expect(plotlyBundle().length).toBeGreaterThan(1_000_000);
  });

  it("report: bundle once for two figures, escaped title, text and table cells, numbers formatted", () => {
    const html = reportHtml({
      title: 'Run <1> & "2"',
      sections: [
        { heading: "Charts <h>", text: "first <p>\n\nsecond & last", figures: [twoTraceBars(), threeLines()] },
        {
          heading: "Metrics",
          table: {
            columns: ["model", "recall@20"],
            rows: [
              ["<gru>", 0.123456],
              ["xlnet & co", 2],
              [null, true],
            ],
          },
        },
      ],
    });
    expect(count(html, BUNDLE_MARKER)).toBe(1);
    expect(count(html, 'class="sessionrec-plot"')).toBe(2);
    expect(serializedFigures(html).map((f) => f.data.length)).toEqual([2, 3]);
    expect(html).toContain("<title>Run &lt;1&gt; &amp; &quot;2&quot;</title>");
    expect(html).toContain("<h2>Charts &lt;h&gt;</h2>");
    expect(html).toContain("<p>first &lt;p&gt;</p>\n<p>second &amp; last</p>");
    expect(html).toContain('<tr><td>&lt;gru&gt;</td><td class="num">0.1235</td></tr>');
    expect(html).toContain('<tr><td>xlnet &amp; co</td><td class="num">2</td></tr>');
    expect(html).toContain("<tr><td></td><td>true</td></tr>");
    expect(html).not.toContain("<gru>");
  });

  it("report: a ragged table row names section, row and expected width", () => {
    expect(() =>
      reportHtml({ title: "t", sections: [{ heading: "M", table: { columns: ["a", "b"], rows: [["x", 1], ["y"]] } }] }),
    ).toThrow('report section "M": table row 1 has 1 cells, expected 2 (columns: a, b)');
  });
});

describe("writeReport", () => {
  it("creates parent folders, overwrites atomically and leaves no temp file", () => {
    const path = join(workDir, "atomic", "deep", "report.html");
    writeReport(path, { title: "first", sections: [] });
    writeReport(path, { title: "second", sections: [{ heading: "h", figures: [barChart(["a"], [1])] }] });
    expect(readdirSync(join(workDir, "atomic", "deep"))).toEqual(["report.html"]);
    const html = readFileSync(path, "utf8");
    expect(html).toContain("<title>second</title>");
    expect(count(html, BUNDLE_MARKER)).toBe(1);
  });

  it("fails with the path and cause when the folder cannot be made, or the target is a folder", () => {
    const blocker = join(workDir, "blocker");
    writeFileSync(blocker, "a file where a folder should be");
    expect(() => writeReport(join(blocker, "sub", "report.html"), { title: "t", sections: [] })).toThrow(
      new RegExp(`writeReport: cannot write ${blocker}/sub/report\\.html: .*(ENOTDIR|EEXIST)`),
    );
    // Here the temp file is written and the rename fails: it must be cleaned up.
    const asFolder = join(workDir, "taken", "report.html");
    mkdirSync(asFolder, { recursive: true });
    expect(() => writeReport(asFolder, { title: "t", sections: [] })).toThrow(
      /writeReport: cannot write .*taken\/report\.html: .*(EISDIR|ENOTEMPTY|EEXIST)/,
    );
    expect(readdirSync(join(workDir, "taken"))).toEqual(["report.html"]);
  });
});

describe("showPlot (tslab display mocked)", () => {
  beforeEach(() => displayHtml.mockReset());

  it("sends the bundle with the first chart of the process only, unless asked again", () => {
    // A failed display (outside a kernel tslab throws "Not ready") must not count as having sent the bundle.
    displayHtml.mockImplementationOnce(() => {
      throw new Error("Not ready");
    });
    expect(() => showPlot(barChart(["a"], [1]))).toThrow("only works inside a tslab notebook kernel");
    showPlot(barChart(["a"], [1]));
    showPlot(threeLines());
    showPlot(threeLines(), { includeBundle: true });
    const sent = displayHtml.mock.calls.map(([html]) => html);
    expect(sent.map((html) => count(html, BUNDLE_MARKER))).toEqual([1, 1, 0, 1]);
    expect(serializedFigures(sent[2])[0].data.length).toBe(3);
  });
});

describe.skipIf(!existsSync(CHROMIUM))(`headless chromium (skipped when ${CHROMIUM} is not installed)`, () => {
  const LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ];

  /** Opens a file in the browser, waits for `chartCount` charts to draw, and returns per chart what it drew. */
  async function drawnTraces(file: string, chartCount: number, screenshot?: string) {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
      const pageErrors: string[] = [];
      const remoteRequests: string[] = [];
      page.on("pageerror", (err) => pageErrors.push(err.message));
      page.on("request", (req) => {
        if (!req.url().startsWith("file:") && !req.url().startsWith("data:")) remoteRequests.push(req.url());
      });
      await page.goto(pathToFileURL(file).href);
      // A chart removes its fallback message once Plotly has drawn it.
      await page.waitForFunction(
        (n) =>
          document.querySelectorAll(".sessionrec-plot").length === n &&
          document.querySelectorAll('.sessionrec-plot [id$="-msg"]').length === 0,
        chartCount,
        { timeout: 30_000 },
      );
      if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
      const charts = await page.$$eval(".sessionrec-plot", (plots) =>
        plots.map((p) => ({
          svg: p.querySelectorAll(".main-svg").length > 0,
          bars: p.querySelectorAll(".barlayer .trace").length,
          lines: p.querySelectorAll(".scatterlayer .trace").length,
          title: p.querySelector(".gtitle")?.textContent ?? null,
        })),
      );
      return { charts, pageErrors, remoteRequests };
    } finally {
      await browser.close();
    }
  }

  it("draws every trace of a written report, offline", async () => {
    const path = join(workDir, "browser", "report.html");
    writeReport(path, {
      title: "Browser check",
      sections: [{ heading: "Charts", figures: [twoTraceBars(), threeLines()] }],
    });
    const { charts, pageErrors, remoteRequests } = await drawnTraces(path, 2, "/tmp/sessionrec-plot-report.png");
    expect(pageErrors).toEqual([]);
    expect(remoteRequests).toEqual([]);
    expect(charts).toEqual([
      { svg: true, bars: 2, lines: 0, title: "Bars" },
      { svg: true, bars: 0, lines: 3, title: "Loss" },
    ]);
  });

  it("draws notebook charts rendered out of order or scripted before being attached", async () => {
    // 1st chart: its output renders before the one carrying the bundle (JupyterLab may render out of order).
    // 3rd chart: classic Notebook evaluates an output's scripts (jQuery globalEval) before attaching the output.
    const detached = JSON.stringify(figureHtml(histogram([1, 2, 2, 3]))).replace(/</g, "\\u003c");
    const classicNotebook = `<script>
      var output = document.createElement("div");
      output.innerHTML = ${detached};
      output.querySelectorAll("script").forEach(function (s) { (0, eval)(s.text); });
      setTimeout(function () { document.body.appendChild(output); }, 300);
    </script>`;
    mkdirSync(join(workDir, "notebook"), { recursive: true });
    const page = join(workDir, "notebook", "order.html");
    writeFileSync(
      page,
      `<!DOCTYPE html><html><body>${figureHtml(threeLines())}\n` +
        `${figureHtml(twoTraceBars(), { includeBundle: true })}\n${classicNotebook}</body></html>`,
    );
    const { charts, pageErrors } = await drawnTraces(page, 3);
    expect(pageErrors).toEqual([]);
    expect(charts.map((c) => [c.bars, c.lines])).toEqual([
      [0, 3],
      [2, 0],
      [1, 0],
    ]);
  });
});

describe("textTable", () => {
  it("left-aligns the first column, right-aligns the others, prints numbers with the table's digits", () => {
    const text = textTable({
      columns: ["model", "recall", "epochs", "note"],
      rows: [
        ["gru", 0.68304, 5, null],
        ["most-popular", 0.1, 0, "js"],
      ],
      digits: 3,
    });
    expect(text.split("\n")).toEqual([
      "model         recall  epochs  note",
      "------------  ------  ------  ----",
      "gru            0.683       5      ",
      "most-popular   0.100       0    js",
    ]);
  });
});
