// Regenerates the synthetic Booking-shaped log: by default the project's default data file
// (build/data/…csv), or any size/seed to any path, as CSV or as zstd Parquet (via DuckDB).
//
//   npx tsx scripts/generate-data.ts                                   # default data, regenerated
//   npx tsx scripts/generate-data.ts --trips 1850000 --out build/bench/10m.csv
//   npx tsx scripts/generate-data.ts --trips 46000 --seed 7 --out /tmp/b.parquet
import * as fs from "fs";
import * as path from "path";
import { pathToFileURL } from "url";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  DEFAULT_SYNTHETIC_SEED,
  DEFAULT_SYNTHETIC_TRIPS,
  type SyntheticBookingsOptions,
  type SyntheticStats,
  defaultDataPath,
  writeBookingsCsv,
} from "../lib/data/index";

export interface GenerateDataOptions extends SyntheticBookingsOptions {
  /** Output file; ".parquet" writes zstd Parquet, anything else CSV. Default: the default data path. */
  out?: string;
  onProgress?: (rowsWritten: number) => void;
}

/** DuckDB column types of the log, so Parquet gets DATE and INTEGER columns rather than sniffed ones. */
const PARQUET_COLUMNS =
  "{'user_id': 'INTEGER', 'checkin': 'DATE', 'checkout': 'DATE', 'city_id': 'INTEGER', 'device_class': 'VARCHAR', " +
  "'affiliate_id': 'INTEGER', 'booker_country': 'VARCHAR', 'hotel_country': 'VARCHAR', 'utrip_id': 'VARCHAR'}";

/** Writes a synthetic log to `opts.out` (atomically: temporary file, then rename) and returns its statistics. */
export async function generateDataFile(opts: GenerateDataOptions = {}): Promise<SyntheticStats & { file: string }> {
  const { out, onProgress, ...generator } = opts;
  const file = path.resolve(out ?? defaultDataPath());
  if (!file.endsWith(".parquet")) return { ...(await writeBookingsCsv(file, generator, onProgress)), file };

  const csv = `${file}.tmp-${process.pid}.csv`;
  const parquet = `${file}.tmp-${process.pid}.parquet`;
  try {
    const stats = await writeBookingsCsv(csv, generator, onProgress);
    const db = await DuckDBInstance.create(":memory:");
    const connection = await db.connect();
    try {
      await connection.run(
        `COPY (SELECT * FROM read_csv('${sqlPath(csv)}', header = true, columns = ${PARQUET_COLUMNS}))` +
          ` TO '${sqlPath(parquet)}' (FORMAT parquet, COMPRESSION zstd)`,
      );
    } finally {
      connection.closeSync();
      db.closeSync();
    }
    fs.renameSync(parquet, file);
    return { ...stats, file };
  } finally {
    fs.rmSync(csv, { force: true });
    fs.rmSync(parquet, { force: true });
  }
}

function sqlPath(p: string): string {
  return p.replace(/'/g, "''");
}

const USAGE = `usage: tsx scripts/generate-data.ts [--trips N] [--seed N] [--cities N] [--countries N]
       [--affiliates N] [--min-cities N] [--max-cities N] [--out FILE.csv|FILE.parquet]
Defaults: ${DEFAULT_SYNTHETIC_TRIPS} trips, seed ${DEFAULT_SYNTHETIC_SEED}, out = the default data file.
One trip is ≈5.4 bookings: 1M bookings ≈ 185000 trips, 10M ≈ 1850000.`;

const INTEGER_FLAGS: Record<string, keyof SyntheticBookingsOptions> = {
  "--trips": "trips",
  "--seed": "seed",
  "--cities": "cities",
  "--countries": "countries",
  "--affiliates": "affiliates",
  "--min-cities": "minCities",
  "--max-cities": "maxCities",
};

export function parseGenerateDataArgs(argv: string[]): GenerateDataOptions {
  const opts: GenerateDataOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    if (value === undefined) throw new Error(`${flag}: missing value\n${USAGE}`);
    if (flag === "--out") opts.out = value;
    else if (flag in INTEGER_FLAGS) {
      const n = Number(value.replace(/_/g, ""));
      if (!Number.isInteger(n)) throw new Error(`${flag}: expected an integer, got "${value}"`);
      (opts as Record<string, number>)[INTEGER_FLAGS[flag]] = n;
    } else throw new Error(`unknown flag ${flag}\n${USAGE}`);
    i++;
  }
  return opts;
}

async function main(): Promise<void> {
  const opts = parseGenerateDataArgs(process.argv.slice(2));
  const started = performance.now();
  let lastReport = started;
  const stats = await generateDataFile({
    ...opts,
    onProgress: (rows) => {
      if (performance.now() - lastReport > 2_000) {
        lastReport = performance.now();
        process.stderr.write(`  ${rows.toLocaleString("en-US")} rows…\n`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const bytes = fs.statSync(stats.file).size;
  console.log(
    `${stats.file}: ${stats.rows} bookings, ${stats.trips} trips, ${stats.users} users, ${stats.cities} cities, ` +
      `check-ins ${stats.firstCheckin}..${stats.lastCheckin}, ${(bytes / 2 ** 20).toFixed(1)} MiB, ${seconds.toFixed(1)} s`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
