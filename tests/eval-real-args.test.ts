// `npm run eval:real`'s arguments: the four real data sets by default, `--set` picks some (comma-separated).
import { describe, expect, it } from "vitest";
import { parseEvalRealArgs } from "../scripts/eval-real";

describe("parseEvalRealArgs", () => {
  it("runs the four sets by default, and the ones --set names", () => {
    expect(parseEvalRealArgs([]).sets).toEqual(["yoochoose", "games", "tmall", "nowplaying"]);
    expect(parseEvalRealArgs(["--set", "all"]).sets).toEqual(["yoochoose", "games", "tmall", "nowplaying"]);
    expect(parseEvalRealArgs(["--set", "yoochoose"]).sets).toEqual(["yoochoose"]);
    expect(parseEvalRealArgs(["--set", "tmall,nowplaying", "--models", "gru,core", "--epochs", "1"])).toEqual({
      sets: ["tmall", "nowplaying"],
      models: ["gru", "core"],
      epochs: 1,
    });
  });

  it("refuses an unknown set, naming it", () => {
    expect(() => parseEvalRealArgs(["--set", "tmall,diginetica"])).toThrow(
      /^--set: expected some of yoochoose, games, tmall, nowplaying \(comma-separated\) or all, got diginetica/,
    );
  });
});
