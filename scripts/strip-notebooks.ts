// Makes notebooks committable in place: removes outputs, execution counts and timing metadata, sets the
// in-repo tslab kernelspec and nbformat 4.5, gives every cell a unique id, and writes Jupyter's JSON layout.
//
//   tsx scripts/strip-notebooks.ts [notebook.ipynb ...]     (default: notebooks/*.ipynb)
//
// Idempotent: a clean notebook is left byte-for-byte unchanged.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { listNotebooks, readNotebook, serializeNotebook, stripNotebook } from "./notebooks";

const files = process.argv.length > 2 ? process.argv.slice(2).map((p) => path.resolve(p)) : listNotebooks();
let changed = 0;
for (const file of files) {
  const stripped = serializeNotebook(stripNotebook(readNotebook(file)));
  if (stripped === readFileSync(file, "utf8")) continue;
  writeFileSync(file, stripped);
  changed++;
  console.log(`stripped ${path.relative(process.cwd(), file)}`);
}
console.log(`strip-notebooks: ${changed} of ${files.length} notebook(s) changed`);
