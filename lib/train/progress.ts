// Training progress for people: in a terminal a bar redrawn in place on stderr (loss, throughput, time left);
// elsewhere (notebooks, CI logs, where "\r" does not redraw) one compact line per epoch on stdout.
import type { EpochRecord } from "./types";

/** Where a step stands inside its epoch. */
export interface StepStatus {
  epoch: number;
  epochs: number;
  /** Steps done in this epoch (1-based after the first step). */
  step: number;
  stepsInEpoch: number;
  /** Running mean training loss of the epoch as last read from the device; NaN before the first read. */
  loss: number;
  /** Sessions trained on so far in this epoch. */
  sequences: number;
  /** Seconds since the epoch started. */
  seconds: number;
}

export interface ProgressReporter {
  /** After every step. */
  step(status: StepStatus): void;
  /** After each epoch (training and evaluation done). */
  epochEnd(record: EpochRecord, epochs: number): void;
}

/** "auto": the bar when stderr is a terminal, else lines; "none": silent. */
export type ProgressMode = "auto" | "bar" | "lines" | "none";

type Write = (text: string) => void;

const MIN_REDRAW_MS = 100;
const BAR_WIDTH = 24;

/** `12,345` — thousands separators whatever the host locale. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** `epoch 2/5  loss 4.123  recall@10 0.312  mrr@10 0.141  12.3 s  8,100 seq/s` */
export function formatEpochLine(record: EpochRecord, epochs: number): string {
  const epoch = String(record.epoch).padStart(String(epochs).length);
  const metrics = Object.entries(record.metrics).map(([name, value]) => `  ${name} ${value.toFixed(3)}`);
  return (
    `epoch ${epoch}/${epochs}  loss ${record.loss.toFixed(3)}${metrics.join("")}` +
    `  ${record.seconds.toFixed(1)} s  ${formatCount(record.sequencesPerSecond)} seq/s`
  );
}

/** One line per epoch. */
export class LineProgress implements ProgressReporter {
  constructor(private readonly write: Write = (text) => process.stdout.write(text)) {}

  step(): void {}

  epochEnd(record: EpochRecord, epochs: number): void {
    this.write(formatEpochLine(record, epochs) + "\n");
  }
}

/** A bar redrawn in place (at most every 100 ms); each finished epoch leaves its summary line behind. */
export class BarProgress implements ProgressReporter {
  private lastDraw = -Infinity;

  constructor(
    private readonly write: Write = (text) => process.stderr.write(text),
    private readonly now: () => number = () => performance.now(),
  ) {}

  step(s: StepStatus): void {
    const now = this.now();
    if (now - this.lastDraw < MIN_REDRAW_MS && s.step < s.stepsInEpoch) return;
    this.lastDraw = now;
    const filled = Math.round((BAR_WIDTH * s.step) / s.stepsInEpoch);
    const rate = s.seconds > 0 ? s.sequences / s.seconds : 0;
    const remaining = s.step > 0 ? (s.seconds * (s.stepsInEpoch - s.step)) / s.step : NaN;
    const loss = Number.isNaN(s.loss) ? "…" : s.loss.toFixed(3);
    this.write(
      `\r\x1b[2Kepoch ${s.epoch}/${s.epochs} [${"█".repeat(filled)}${"·".repeat(BAR_WIDTH - filled)}] ` +
        `${s.step}/${s.stepsInEpoch}  loss ${loss}  ${formatCount(rate)} seq/s  eta ${Number.isNaN(remaining) ? "…" : remaining.toFixed(0)} s`,
    );
  }

  epochEnd(record: EpochRecord, epochs: number): void {
    this.write(`\r\x1b[2K${formatEpochLine(record, epochs)}\n`);
    this.lastDraw = -Infinity;
  }
}

const SILENT: ProgressReporter = { step() {}, epochEnd() {} };

export function createProgress(mode: ProgressMode | ProgressReporter = "auto"): ProgressReporter {
  if (typeof mode !== "string") return mode;
  switch (mode) {
    case "none":
      return SILENT;
    case "bar":
      return new BarProgress();
    case "lines":
      return new LineProgress();
    case "auto":
      return process.stderr.isTTY ? new BarProgress() : new LineProgress();
  }
}
