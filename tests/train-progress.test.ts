import { describe, expect, it } from "vitest";
import { BarProgress, formatEpochLine, LineProgress } from "../lib/train/index";
import type { EpochRecord } from "../lib/train/index";

const RECORD: EpochRecord = {
  epoch: 2,
  loss: 4.12345,
  metrics: { "recall@10": 0.31249, "mrr@10": 0.1406 },
  seconds: 12.34,
  evalSeconds: 1.5,
  sequencesPerSecond: 8100.4,
  learningRate: 1e-3,
};

describe("progress", () => {
  it("formats the compact per-epoch line", () => {
    expect(formatEpochLine(RECORD, 5)).toBe(
      "epoch 2/5  loss 4.123  recall@10 0.312  mrr@10 0.141  12.3 s  8,100 seq/s",
    );
    expect(formatEpochLine({ ...RECORD, metrics: {} }, 10)).toBe("epoch  2/10  loss 4.123  12.3 s  8,100 seq/s");
  });

  it("prints one line per epoch and nothing per step when not on a terminal", () => {
    const out: string[] = [];
    const progress = new LineProgress((text) => out.push(text));
    progress.step();
    progress.epochEnd(RECORD, 5);
    expect(out).toEqual(["epoch 2/5  loss 4.123  recall@10 0.312  mrr@10 0.141  12.3 s  8,100 seq/s\n"]);
  });

  it("redraws the bar in place, at most every 100 ms, always on the last step", () => {
    const out: string[] = [];
    let clock = 0;
    const bar = new BarProgress(
      (text) => out.push(text),
      () => clock,
    );
    const status = { epoch: 1, epochs: 3, stepsInEpoch: 4, loss: 2.5, sequences: 0, seconds: 0 };
    bar.step({ ...status, step: 1, sequences: 100, seconds: 0.5 });
    clock = 50;
    bar.step({ ...status, step: 2, sequences: 200, seconds: 1 }); // throttled
    clock = 150;
    bar.step({ ...status, step: 3, sequences: 300, seconds: 1.5 });
    clock = 160;
    bar.step({ ...status, step: 4, sequences: 400, seconds: 2 }); // last step: drawn despite the throttle
    expect(out).toEqual([
      "\r\x1b[2Kepoch 1/3 [██████··················] 1/4  loss 2.500  200 seq/s  eta 2 s",
      "\r\x1b[2Kepoch 1/3 [██████████████████······] 3/4  loss 2.500  200 seq/s  eta 1 s",
      "\r\x1b[2Kepoch 1/3 [████████████████████████] 4/4  loss 2.500  200 seq/s  eta 0 s",
    ]);
    bar.epochEnd({ ...RECORD, epoch: 1, metrics: {} }, 3);
    expect(out.at(-1)).toBe("\r\x1b[2Kepoch 1/3  loss 4.123  12.3 s  8,100 seq/s\n");
  });
});
