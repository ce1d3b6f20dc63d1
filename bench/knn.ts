// Neighbourhood baselines on validation: V-SKNN vs VSTAN (lib/baselines) on YOOCHOOSE-100k, Tmall and Nowplaying, each prepared
// by the `yoochoose` recipe (into build/data/<set>-knn, reused when there). Validation = the last 10% of the train
// sessions (table order = time order); the baselines are fitted on the first 90% and scored under "every-next" (every
// next item of each validation session ranked over all items): Recall@20 (= Tmall's P@20) and MRR@20. Test is never
// read. Prints one table per set with fit and scoring seconds and the load average.
//
//   npx tsx bench/knn.ts                                  # every set, v-sknn and vstan with their defaults
//   npx tsx bench/knn.ts --set yoochoose --variants "vstan,vstan:lambdaSnh=null,vstan:lambdaSnh=1"
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createBaseline, isBaselineKind } from "../lib/baselines/index";
import { evaluateRecommender } from "../lib/baselines/index";
import { SessionLoader, sessionsOf } from "../lib/data/index";
import { prepareYoochoose } from "../lib/data/index";
import { itemCount } from "../lib/evaluate/index";

const SETS: Record<string, string> = {
  yoochoose: path.join("..", "shared", "data", "yoochoose-100k"),
  tmall: path.join("..", "shared", "data", "tmall-srgnn"),
  nowplaying: path.join("..", "shared", "data", "nowplaying-srgnn"),
};
const VALID_SHARE = 0.1;

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

/** "vstan:lambdaSnh=null,k=50" → the kind and its config. */
function parseVariant(text: string): { label: string; kind: string; config: Record<string, unknown> } {
  const [kind, settings] = text.split(":");
  if (!isBaselineKind(kind)) throw new Error(`unknown baseline ${kind}`);
  const config: Record<string, unknown> = {};
  for (const pair of settings?.split(",") ?? []) {
    const [key, value] = pair.split("=");
    config[key] = value === "null" ? null : Number.isNaN(Number(value)) ? value : Number(value);
  }
  return { label: text, kind, config };
}

async function main() {
  const setArg = argument("--set", "all");
  const sets = setArg === "all" ? Object.keys(SETS) : setArg.split(",");
  const variants = argument("--variants", "v-sknn,vstan")
    .split(",")
    .reduce<string[]>((acc, part) => {
      // "vstan:a=1,b=2" was split at its commas too: glue key=value parts back to their variant.
      if (part.includes("=") && !part.includes(":") && acc.length > 0) acc[acc.length - 1] += `,${part}`;
      else acc.push(part);
      return acc;
    }, [])
    .map(parseVariant);
  for (const set of sets) {
    const inputDir = SETS[set];
    if (inputDir === undefined) throw new Error(`--set: expected ${Object.keys(SETS).join(", ")} or all, got ${set}`);
    const dir = path.join("build", "data", `${set}-knn`);
    if (!fs.existsSync(path.join(dir, "schema.json"))) await prepareYoochoose({ inputDir, outDir: dir });
    const train = (await SessionLoader.open(dir, "train")).table;
    const sessions = sessionsOf(train);
    const cut = Math.round(sessions.length * (1 - VALID_SHARE));
    const fitOn = sessions.slice(0, cut);
    const valid = sessions.slice(cut);
    const nItems = itemCount(train.schema);
    console.log(
      `\n${set}: fit on ${fitOn.length} train sessions, validation = the last ${valid.length} (${valid.reduce((n, s) => n + s.length - 1, 0)} predictions), ${nItems - 2} items; every-next`,
    );
    console.log(`| baseline | Recall@20 | MRR@20 | fit s | scoring s | load average (1, 5, 15 min) |`);
    console.log(`|---|---|---|---|---|---|`);
    for (const { label, kind, config } of variants) {
      const baseline = createBaseline(kind as never, nItems, config);
      let started = performance.now();
      baseline.fit(fitOn);
      const fitSeconds = (performance.now() - started) / 1000;
      started = performance.now();
      const { values } = evaluateRecommender(baseline, valid, { protocol: "every-next", ks: [20] });
      const scoreSeconds = (performance.now() - started) / 1000;
      const load = os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(", ");
      console.log(
        `| ${label} | ${(100 * values["recall@20"]).toFixed(2)} | ${(100 * values["mrr@20"]).toFixed(2)} | ${fitSeconds.toFixed(2)} | ${scoreSeconds.toFixed(1)} | ${load} |`,
      );
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
