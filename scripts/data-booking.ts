// Prepares the real Booking.com Multi-Destination Trips data as the reference course does (lib/data/recipes/booking.ts):
//
//   npm run data:booking                        # data/booking/train_set.csv (or $SESSIONREC_DATA) → build/data/booking/
//   npx tsx scripts/data-booking.ts --out DIR --split-date 2017-01-01 --max-length 10 --min-length 2 --min-frequency 1
import * as fs from "fs";
import * as path from "path";
import { checkOutputFolder } from "../lib/data/index";
import { prepareBooking, type PrepareBookingOptions } from "../lib/data/index";
import { checkDateText } from "../lib/data/index";
import { runMain } from "./run-main";

export const DEFAULT_INPUT = path.join("data", "booking", "train_set.csv");
export const DEFAULT_OUT = path.join("build", "data", "booking");

const HOW_TO_GET_IT = (input: string): string => `Booking.com data not found at ${input}.

The file cannot be shipped with sessionrec (its terms forbid redistribution). To use it:
  1. download train_set.csv from the GitHub repository bookingcom/ml-dataset-mdt
     (https://github.com/bookingcom/ml-dataset-mdt), accepting its terms;
  2. put it at ${DEFAULT_INPUT} (relative to the repository root),
     or point SESSIONREC_DATA at wherever it is: SESSIONREC_DATA=/path/to/train_set.csv npm run data:booking
Parquet files with the same columns work too.`;

const USAGE = `usage: tsx scripts/data-booking.ts [--out DIR] [--split-date YYYY-MM-DD] [--max-length N] [--min-length N] [--min-frequency N]
Input: $SESSIONREC_DATA, else ${DEFAULT_INPUT}. Output default: ${DEFAULT_OUT}.`;

const NUMBER_FLAGS = {
  "--max-length": "maxLength",
  "--min-length": "minLength",
  "--min-frequency": "minFrequency",
} as const;

export function parseDataBookingArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Omit<PrepareBookingOptions, "onProgress"> {
  const options: Omit<PrepareBookingOptions, "onProgress"> = {
    input: env.SESSIONREC_DATA || DEFAULT_INPUT,
    outDir: DEFAULT_OUT,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined || value.startsWith("--")) throw new Error(`${flag}: missing value\n${USAGE}`);
    if (flag === "--out") options.outDir = checkOutputFolder(value, flag);
    else if (flag === "--split-date") options.splitDate = checkDateText(value, flag);
    else if (flag in NUMBER_FLAGS) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected an integer >= 1, got ${value}`);
      options[NUMBER_FLAGS[flag as keyof typeof NUMBER_FLAGS]] = n;
    } else throw new Error(`unknown argument ${flag}\n${USAGE}`);
  }
  return options;
}

async function main(): Promise<number> {
  const options = parseDataBookingArgs(process.argv.slice(2));
  if (!fs.existsSync(options.input)) {
    console.error(HOW_TO_GET_IT(options.input));
    return 1;
  }
  const started = performance.now();
  const seconds = (): string => ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  const { counts } = await prepareBooking({
    ...options,
    onProgress: (message) => console.log(`${seconds()} s  ${message}`),
  });
  console.log(`${seconds()} s  done: ${JSON.stringify(counts)}`);
  return 0;
}

runMain(import.meta.url, main);
