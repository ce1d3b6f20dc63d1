import { describe, expect, it } from "vitest";
import { learningRateAt } from "../lib/train/index";

describe("learningRateAt", () => {
  it("is the default 1e-3 when nothing is configured", () => {
    expect(learningRateAt(0, 10)).toBe(1e-3);
    expect(learningRateAt(9, 10)).toBe(1e-3);
  });

  it("warms up linearly, then follows a cosine to finalFraction × peak", () => {
    const config = { learningRate: 0.1, decay: "cosine" as const, warmupSteps: 4, finalFraction: 0.1 };
    // Hand-computed: warm-up 0.1·(s+1)/4; decay 0.01 + 0.09·(1 + cos(π·(s−4)/8))/2.
    const expected: [number, number][] = [
      [0, 0.025],
      [1, 0.05],
      [3, 0.1],
      [4, 0.1],
      [6, 0.0868198052],
      [8, 0.055],
      [11, 0.013425421],
      [12, 0.01],
    ];
    for (const [step, rate] of expected) expect(learningRateAt(step, 12, config)).toBeCloseTo(rate, 9);
  });

  it("decays linearly without warm-up", () => {
    const config = { learningRate: 1, decay: "linear" as const };
    expect(learningRateAt(0, 10, config)).toBe(1);
    expect(learningRateAt(5, 10, config)).toBeCloseTo(0.5, 12);
    expect(learningRateAt(9, 10, config)).toBeCloseTo(0.1, 12);
  });

  it("stays constant after warm-up by default", () => {
    const config = { learningRate: 0.003, warmupSteps: 2 };
    expect(learningRateAt(0, 100, config)).toBeCloseTo(0.0015, 12);
    expect(learningRateAt(1, 100, config)).toBe(0.003);
    expect(learningRateAt(99, 100, config)).toBe(0.003);
  });

  it("rejects bad settings", () => {
    expect(() => learningRateAt(0, 10, { learningRate: -1 })).toThrow("learningRate must be > 0, got -1");
    expect(() => learningRateAt(0, 10, { warmupSteps: 1.5 })).toThrow("warmupSteps must be an integer >= 0");
    expect(() => learningRateAt(0, 10, { finalFraction: 2 })).toThrow("finalFraction must be in [0, 1]");
  });
});
