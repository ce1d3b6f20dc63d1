// bench:train's report: a PyTorch peer on the reference BLAS gets no ratio, and the peer's BLAS and threads are said.
import { describe, expect, it } from "vitest";
import { YOOCHOOSE_BATCH, YOOCHOOSE_SHAPE, defaultRows, formatReport, ratioText, type TorchResult, type TrainRowResult } from "../bench/train";

const peer = (blasKind: TorchResult["blasKind"], threads = 2): TorchResult => ({
  msPerStep: 200,
  trainSeqPerSec: 160,
  inferBatch1PerSec: 100,
  inferBatchPerSec: 400,
  peakRssMb: 500,
  torch: "1.13.0a0",
  blas: blasKind === "reference" ? "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3" : "OpenBLAS 0.3.21 (libopenblasp-r0.3.21.so)",
  blasKind,
  blasThreads: threads,
  threads,
  device: "cpu",
});

function row(id: string): TrainRowResult {
  const spec = defaultRows(false).find((r) => r.id === id)!;
  return { spec, detail: "", msPerStep: 300, cpuMsPerStep: 300, trainSeqPerSec: (spec.batch / 300) * 1000, losses: [10, 9], inferBatch1PerSec: 1, inferBatchPerSec: 1, peakRssMb: 1 };
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
    expect(formatReport({ rows: [row("gru-last")], torch: [peer("openblas", 1)] }, 2)).toMatch(/Warning: the peer uses 1 torch and 1 BLAS threads on 2 cores/);
  });

  it("extrapolates the YOOCHOOSE GRU epoch from ms per step: 187,000 / 32 steps of 300 ms = 29.2 min", () => {
    const yoochoose = row("gru-yoochoose-full");
    expect(yoochoose.spec.shape).toEqual(YOOCHOOSE_SHAPE);
    expect(yoochoose.spec.batch).toBe(YOOCHOOSE_BATCH);
    expect(formatReport({ rows: [yoochoose], torch: [peer("openblas")] }, 2)).toMatch(/YOOCHOOSE GRU epoch .*: 29\.2 min; PyTorch 19\.5 min/);
  });
});
