// bench:train's report: a PyTorch peer on the reference BLAS gets no ratio, and the peer's BLAS and threads are said.
import { spawnSync } from "child_process";
import { describe, expect, it } from "vitest";
import {
  YOOCHOOSE_BATCH,
  YOOCHOOSE_SHAPE,
  combineRepeats,
  defaultRows,
  formatReport,
  ratioText,
  torchAvailable,
  type TorchResult,
  type TrainRowResult,
} from "../bench/train";

const peer = (blasKind: TorchResult["blasKind"], threads = 2): TorchResult => ({
  msPerStep: 200,
  trainSeqPerSec: 160,
  inferBatch1PerSec: 100,
  inferBatchPerSec: 400,
  peakRssMb: 500,
  torch: "1.13.0a0",
  blas:
    blasKind === "reference"
      ? "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"
      : "OpenBLAS 0.3.21 (libopenblasp-r0.3.21.so)",
  blasKind,
  blasThreads: threads,
  threads,
  device: "cpu",
});

function row(id: string): TrainRowResult {
  const spec = defaultRows(false).find((r) => r.id === id)!;
  return {
    spec,
    detail: "",
    msPerStep: 300,
    cpuMsPerStep: 300,
    trainSeqPerSec: (spec.batch / 300) * 1000,
    losses: [10, 9],
    inferBatch1PerSec: 1,
    inferBatchPerSec: 1,
    peakRssMb: 1,
  };
}

describe("bench:train report", () => {
  it("prints ours / PyTorch against OpenBLAS, and refuses a ratio against the reference BLAS", () => {
    expect(ratioText(300, peer("openblas"))).toBe("1.50x");
    expect(ratioText(300, peer("reference"))).toBe("n/a (reference BLAS)");
    expect(ratioText(300, peer("unknown"))).toBe("1.50x (BLAS?)");
    const report = formatReport({ rows: [row("gru-last")], torch: [peer("reference")] }, 2);
    expect(report).not.toMatch(/1\.50x/);
    expect(report).toMatch(/n\/a \(reference BLAS\)/);
    expect(report).toMatch(/apt-get install libopenblas0-pthread/);
  });

  it("names the peer's BLAS and threads, and warns when they are not the machine's cores", () => {
    const fair = formatReport({ rows: [row("gru-last")], torch: [peer("openblas")] }, 2);
    expect(fair).toMatch(/2 threads, BLAS OpenBLAS 0\.3\.21 .*, 2 BLAS threads/);
    expect(fair).not.toMatch(/Warning/);
    expect(formatReport({ rows: [row("gru-last")], torch: [peer("openblas", 1)] }, 2)).toMatch(
      /Warning: the peer uses 1 torch and 1 BLAS threads on 2 cores/,
    );
  });

  it("extrapolates the YOOCHOOSE GRU epoch from ms per step: 187,000 / 32 steps of 300 ms = 29.2 min", () => {
    const yoochoose = row("gru-yoochoose-full");
    expect(yoochoose.spec.shape).toEqual(YOOCHOOSE_SHAPE);
    expect(yoochoose.spec.batch).toBe(YOOCHOOSE_BATCH);
    expect(formatReport({ rows: [yoochoose], torch: [peer("openblas")] }, 2)).toMatch(
      /YOOCHOOSE GRU epoch .*: 29\.2 min; PyTorch 19\.5 min/,
    );
    const twoWorkers = { ...yoochoose, spec: { ...yoochoose.spec, id: "gru-yoochoose-full@2", workers: 2 } };
    expect(formatReport({ rows: [twoWorkers], torch: [peer("openblas")] }, 2)).toMatch(
      /YOOCHOOSE GRU epoch .* at batch 32, 2 workers, extrapolated from ms\/step\): 29\.2 min/,
    );
  });

  it("with --repeat keeps each row's median run and the range of its pairs' ratios, no reference-BLAS pair counted", () => {
    const ours = (ms: number) => ({ ...row("gru-last"), msPerStep: ms });
    const theirs = (ms: number, kind: TorchResult["blasKind"] = "openblas") => ({ ...peer(kind), msPerStep: ms });
    const report = combineRepeats([
      // pairs 300/200, 240/100, 900/150 (the last run under load): median runs 300 and 150, ratios 1.50, 2.40, 6.00
      { rows: [ours(300), ours(240), ours(900)], torch: [theirs(200), theirs(100), theirs(150)] },
      // no fair pair (a failed peer, a reference-BLAS peer); then one fair pair, 400 / 100 = 4.00, beside a reference one
      { rows: [ours(400), ours(500)], torch: ["failed", theirs(100, "reference")] },
      { rows: [ours(400), ours(500)], torch: [theirs(100), theirs(100, "reference")] },
    ]);
    expect(report.repeats).toBe(3);
    expect(report.rows.map((r) => r.msPerStep)).toEqual([300, 400, 400]);
    expect((report.torch[0] as TorchResult).msPerStep).toBe(150);
    expect(report.ratioRanges).toEqual([[1.5, 6], null, [4, 4]]);
    const text = formatReport(report, 2);
    expect(text).toMatch(/ratio range/);
    expect(text).toMatch(/1\.50–6\.00x/);
    expect(text).toMatch(/ran 3 times, in rounds over all rows/);
    // One run per row (no --repeat) goes through the same path and prints no range column.
    const single = formatReport(combineRepeats([{ rows: [ours(300)], torch: [theirs(200)] }]), 2);
    expect(single).toMatch(/1\.50x/);
    expect(single).not.toMatch(/ratio range|ran 1 times/);
  });
});

describe.skipIf(!torchAvailable())("bench/torch_peer.py (the real peer, when /usr/bin/python3 has torch)", () => {
  it("reports the BLAS library it loaded, its kind and threads, and trains the YOOCHOOSE-settings GRU", () => {
    const args = [
      "bench/torch_peer.py",
      "--model",
      "gru",
      "--scheme",
      "next",
      "--batch",
      "4",
      "--items",
      "50",
      "--dim",
      "8",
    ];
    const flags = [
      "--seq-len",
      "4",
      "--min-len",
      "4",
      "--no-mlp",
      "--temperature",
      "0.5",
      "--warmup",
      "1",
      "--steps",
      "1",
    ];
    const child = spawnSync(process.env.BENCH_PYTHON || "/usr/bin/python3", [...args, ...flags], { encoding: "utf8" });
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout.trim().split("\n").pop()!) as TorchResult & { targetsPerStep: number };
    expect(["openblas", "mkl", "reference", "unknown"]).toContain(result.blasKind);
    if (result.blasKind === "openblas") expect(result.blas).toMatch(/^OpenBLAS .*libopenblas/);
    expect(result.threads).toBe(2); // --threads defaults to 2: the 2 cores the benchmarks are measured on
    expect(result.blasThreads).toBeGreaterThanOrEqual(1);
    expect(result.targetsPerStep).toBe(4 * 3); // 4 sessions of 4 clicks: 3 next-item targets each
  });

  it("tells the reference BLAS from OpenBLAS by the libraries mapped into the process", () => {
    const cases = {
      reference: ["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3", "/usr/lib/x86_64-linux-gnu/libgomp.so.1"],
      openblas: [
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so",
      ],
      mkl: ["/opt/intel/lib/libmkl_rt.so.2"],
      unknown: ["/usr/lib/x86_64-linux-gnu/libc.so.6"],
    };
    const script = `import sys, json; sys.path.insert(0, "bench"); import torch_peer; print(json.dumps({k: torch_peer.blas_kind(v)[0] for k, v in ${JSON.stringify(cases)}.items()}))`;
    const child = spawnSync(process.env.BENCH_PYTHON || "/usr/bin/python3", ["-c", script], { encoding: "utf8" });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({
      reference: "reference",
      openblas: "openblas",
      mkl: "mkl",
      unknown: "unknown",
    });
  });
});
