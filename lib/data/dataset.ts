// Writes a prepared data set folder as docs/data-formats.md describes it: one Parquet file per split (one row per
// session), schema.json, and the fitted workflow under workflow/. All or nothing: the folder appears complete
// or not at all, and an existing folder is replaced only after everything was written.
import * as fs from "fs";
import * as path from "path";
import { type DatasetSchema, SCHEMA_FILE, validateSchema } from "./schema";
import { writeDirectoryAtomically } from "./files";
import type { Relation } from "./relation";
import { ident, literal } from "./sql";
import type { Workflow } from "./workflow";

export const WORKFLOW_FOLDER = "workflow";

export interface WrittenDataset {
  schema: DatasetSchema;
  /** Sessions written per split. */
  sessions: Record<string, number>;
}

/**
 * `dir` when a prepared data set may be written there: it does not exist, or is an empty folder, or holds an
 * earlier prepared data set (a schema.json). Anything else (a file, the repository, the input's folder) would be
 * replaced whole, so it is refused with an error starting with `where` (the option or flag it came from).
 */
export function checkOutputFolder(dir: string, where: string): string {
  if (dir.trim() === "") throw new Error(`${where}: the output folder is empty text`);
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return dir;
    if (code === "ENOTDIR") throw new Error(`${where}: ${dir} is a file, not a folder`);
    throw new Error(`${where}: cannot read ${dir}: ${(error as Error).message}`);
  }
  if (entries.length > 0 && !entries.includes(SCHEMA_FILE)) {
    throw new Error(`${where}: ${dir} holds other files and no ${SCHEMA_FILE}: it is not a prepared data set, and preparing would replace it whole (name a new or empty folder)`);
  }
  return dir;
}

/**
 * Writes `<dir>/<split>.parquet` for each transformed relation of `splits` (e.g. `{ train, valid }`), then
 * schema.json and `<dir>/workflow/`. Fails, writing nothing, when a split has no sessions or `dir` may not be
 * replaced (see `checkOutputFolder`).
 */
export async function writeDataset(
  dir: string,
  splits: Record<string, Relation>,
  workflow: Workflow,
  onProgress?: (message: string) => void,
): Promise<WrittenDataset> {
  checkOutputFolder(dir, `writeDataset(${dir})`);
  const names = Object.keys(splits);
  if (names.length === 0) throw new Error(`writeDataset(${dir}): no splits to write`);
  for (const name of names) if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`writeDataset(${dir}): split name "${name}" must use only letters, digits, _ and -`);

  return writeDirectoryAtomically(dir, async (temporary) => {
    const sessions: Record<string, number> = {};
    let longest = 0;
    for (const name of names) {
      onProgress?.(`writing ${name}.parquet`);
      const relation = splits[name];
      const file = path.join(temporary, `${name}.parquet`);
      await relation.db.run(`COPY (${workflow.output(relation).sql}) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`);
      const row = await relation.db.row(`SELECT count(*) AS n, coalesce(max(len(${ident(workflow.item)})), 0) AS longest FROM read_parquet(${literal(file)})`);
      sessions[name] = Number(row?.n);
      if (sessions[name] === 0) {
        throw new Error(`writeDataset(${dir}): the ${name} split has no sessions left after preparation (input: ${relation.label})`);
      }
      longest = Math.max(longest, Number(row?.longest));
    }
    const schema = validateSchema(workflow.schema(workflow.maxLength ?? longest), `${dir}/${SCHEMA_FILE}`);
    await fs.promises.writeFile(path.join(temporary, SCHEMA_FILE), JSON.stringify(schema, null, 2) + "\n");
    await workflow.save(path.join(temporary, WORKFLOW_FOLDER));
    return { schema, sessions };
  });
}
