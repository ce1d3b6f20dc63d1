// Small helpers to build DuckDB SQL text safely: every identifier and string literal that comes from a user
// (column names, file paths, dates) goes through these, never straight into a query.

/** `name` as a quoted SQL identifier: `"city_id"`. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `text` as a SQL string literal: `'2017-01-01'`. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A comma-separated list of quoted identifiers. */
export function identList(names: readonly string[]): string {
  return names.map(ident).join(", ");
}

/**
 * Checks a DuckDB type name given by a user (e.g. "DATE", "VARCHAR", "DECIMAL(10,2)", "INTEGER[]") before it is
 * spliced into SQL; anything with quotes, semicolons or comments is refused.
 */
export function typeName(type: string, where: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])*$/.test(type.trim())) {
    throw new Error(`${where}: "${type}" is not a DuckDB type name (expected e.g. INTEGER, VARCHAR, DATE, TIMESTAMP)`);
  }
  return type.trim().toUpperCase();
}

/** Formats a number of rows for progress messages: 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** DATE, TIMESTAMP (any precision) or TIMESTAMP WITH TIME ZONE. */
export function isTemporalType(type: string): boolean {
  return type === "DATE" || type.startsWith("TIMESTAMP");
}

/** Integer, floating-point or DECIMAL types. */
export function isNumericType(type: string): boolean {
  return /^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL(\(.*\))?)$/.test(type);
}

/** A DuckDB LIST type such as "INTEGER[]". */
export function isListType(type: string): boolean {
  return type.endsWith("[]");
}

/** A number as an exact DOUBLE literal (JS prints the shortest text that reads back as the same double). */
export function doubleLiteral(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`expected a finite number, got ${value}`);
  return `CAST(${String(value)} AS DOUBLE)`;
}
