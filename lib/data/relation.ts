// A `Relation` is a SELECT over tables of one `Database`, composed lazily: operators wrap the SQL of their input in
// a new SELECT, and DuckDB plans the whole chain at once when it is finally read, counted, materialized or
// written. `label` says where the rows came from (a file name, "train split", …) so that errors can name it.
import type { Database } from "./database";
import { ident, identList } from "./sql";

export interface ColumnType {
  name: string;
  /** DuckDB type name, e.g. "INTEGER", "DATE", "VARCHAR", "DOUBLE[]". */
  type: string;
}

export class Relation {
  constructor(
    readonly db: Database,
    /** A SELECT statement (no trailing semicolon). */
    readonly sql: string,
    readonly label: string,
    /** Set when the relation is a whole table this code created (see `materialize`), so `drop` may remove it. */
    readonly table: string | null = null,
  ) {}

  /** All rows of a table. */
  static table(db: Database, table: string, label = table): Relation {
    return new Relation(db, `SELECT * FROM ${ident(table)}`, label, table);
  }

  /** A new relation over this one: `build` receives the FROM item (`(<this sql>) AS <alias>`). */
  derive(build: (from: string) => string, label = this.label): Relation {
    return new Relation(this.db, build(`(${this.sql}) AS t`), label);
  }

  /** Names and types of the columns (binds the query, reads no rows). */
  async columns(): Promise<ColumnType[]> {
    const rows = await this.db.rows(`DESCRIBE ${this.sql}`);
    return rows.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  }

  /** The columns' types by name; throws, naming `where` and this relation's label, when one of `required` is missing. */
  async requireColumns(required: readonly string[], where: string): Promise<Map<string, string>> {
    const types = new Map((await this.columns()).map((c) => [c.name, c.type]));
    const missing = required.filter((name) => !types.has(name));
    if (missing.length > 0) {
      const noun = missing.length === 1 ? "column" : "columns";
      throw new Error(
        `${where}: ${noun} ${missing.map((m) => `"${m}"`).join(", ")} not found in ${this.label} (it has: ${[...types.keys()].join(", ")})`,
      );
    }
    return types;
  }

  async count(): Promise<number> {
    const row = await this.db.row(`SELECT count(*) AS n FROM (${this.sql}) AS t`);
    return Number(row?.n ?? 0);
  }

  /** Rows as JS objects (BIGINT → bigint, DATE → Date, LIST → array). Meant for small results and inspection. */
  async rows(limit?: number): Promise<Record<string, unknown>[]> {
    return this.db.rows(limit === undefined ? this.sql : `SELECT * FROM (${this.sql}) AS t LIMIT ${Math.floor(limit)}`);
  }

  /** Computes the rows once into a temporary table, so later reads do not redo the work. */
  async materialize(name = this.db.uniqueName("rel")): Promise<Relation> {
    await this.db.run(`CREATE OR REPLACE TEMP TABLE ${ident(name)} AS ${this.sql}`);
    return Relation.table(this.db, name, this.label);
  }

  /** Frees the table behind a materialized relation (no-op for other relations). */
  async drop(): Promise<void> {
    if (this.table !== null) await this.db.run(`DROP TABLE IF EXISTS ${ident(this.table)}`);
  }

  /**
   * Adds or replaces columns: `expressions` maps a column name to SQL over this relation's columns. An existing
   * column keeps its position (`SELECT * REPLACE`), a new one is appended.
   */
  async withColumns(expressions: Record<string, string>): Promise<Relation> {
    const existing = new Set((await this.columns()).map((c) => c.name));
    const entries = Object.entries(expressions);
    const replaced = entries.filter(([name]) => existing.has(name)).map(([name, sql]) => `${sql} AS ${ident(name)}`);
    const added = entries.filter(([name]) => !existing.has(name)).map(([name, sql]) => `, ${sql} AS ${ident(name)}`);
    return this.derive((from) => `SELECT *${replaced.length > 0 ? ` REPLACE (${replaced.join(", ")})` : ""}${added.join("")} FROM ${from}`);
  }

  /** The given columns only, in that order. */
  select(columns: readonly string[]): Relation {
    return this.derive((from) => `SELECT ${identList(columns)} FROM ${from}`);
  }
}
