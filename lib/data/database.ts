// One in-memory DuckDB instance and its connection: everything a data pipeline run needs. Open one per run,
// close it at the end (`withDatabase` does both); the tables it holds vanish with it.
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from "@duckdb/node-api";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isRunning, keepOnSignal, removeOnSignal } from "./files";

export interface DatabaseOptions {
  /** DuckDB worker threads. Default: DuckDB's own (one per core). */
  threads?: number;
  /** DuckDB's memory limit, e.g. "2GB"; past it DuckDB spills to `tempDirectory`. Default: DuckDB's (80% of RAM). */
  memoryLimit?: string;
  /** Where DuckDB spills. Default: a folder of this process under the OS temporary folder, removed on close. */
  tempDirectory?: string;
}

/** Values a query can be given for its `?` / `$name` parameters. */
export type QueryParams = DuckDBValue[] | Record<string, DuckDBValue>;

let openedDatabases = 0;
/** Spill folders this module makes: `<OS temporary folder>/sessionrec-duckdb-<pid>-<n>`. */
const SPILL_PREFIX = "sessionrec-duckdb-";

export class Database {
  private nextName = 0;
  private open = true;

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    /** The spill folder this object made (and removes on close), if the caller chose none. */
    private readonly ownTempDirectory: string | null,
  ) {}

  static async open(options: DatabaseOptions = {}): Promise<Database> {
    const config: Record<string, string> = {};
    if (options.threads !== undefined) {
      if (!Number.isInteger(options.threads) || options.threads < 1) throw new Error(`Database: threads must be an integer >= 1, got ${options.threads}`);
      config.threads = String(options.threads);
    }
    if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
    // DuckDB's default spill folder is ".tmp" in the working directory: keep the repository clean.
    const ownTempDirectory = options.tempDirectory === undefined ? path.join(os.tmpdir(), `${SPILL_PREFIX}${process.pid}-${openedDatabases++}`) : null;
    if (ownTempDirectory !== null) {
      removeStaleSpillFolders();
      removeOnSignal(ownTempDirectory);
    }
    config.temp_directory = options.tempDirectory ?? (ownTempDirectory as string);
    const instance = await DuckDBInstance.create(":memory:", config);
    const connection = await instance.connect();
    return new Database(instance, connection, ownTempDirectory);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Runs statements for their effect. */
  async run(sql: string, params?: QueryParams): Promise<void> {
    this.checkOpen();
    await this.connection.run(sql, params);
  }

  /** Runs a query and returns its rows as JS objects (BIGINT → bigint, DATE → Date). For small results only. */
  async rows(sql: string, params?: QueryParams): Promise<Record<string, unknown>[]> {
    this.checkOpen();
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  }

  /** The first row of a query as JS values (undefined when it returns no rows). */
  async row(sql: string, params?: QueryParams): Promise<Record<string, unknown> | undefined> {
    return (await this.rows(sql, params))[0];
  }

  /** A table name no other call of this database returned: `<prefix>_<n>`. */
  uniqueName(prefix: string): string {
    return `${prefix}_${this.nextName++}`;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.connection.closeSync();
    this.instance.closeSync();
    if (this.ownTempDirectory !== null) {
      fs.rmSync(this.ownTempDirectory, { recursive: true, force: true });
      keepOnSignal(this.ownTempDirectory);
    }
  }

  private checkOpen(): void {
    if (!this.open) throw new Error("Database: already closed");
  }
}

/** Removes the spill folders of databases whose process was killed before closing them. */
function removeStaleSpillFolders(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const pid = new RegExp(`^${SPILL_PREFIX}(\\d+)-\\d+$`).exec(name)?.[1];
    if (pid !== undefined && !isRunning(Number(pid))) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

/** Opens a database, runs `body` with it, and closes it whatever happens. */
export async function withDatabase<T>(body: (db: Database) => Promise<T>, options: DatabaseOptions = {}): Promise<T> {
  const db = await Database.open(options);
  try {
    return await body(db);
  } finally {
    db.close();
  }
}
