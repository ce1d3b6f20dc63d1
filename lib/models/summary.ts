// A model summary like Keras' `model.summary()`: each block with its output shape and parameter count, then the
// output head and the total. A tied head's item table is the input block's and is counted there, once.
import type { SessionModel } from "./model";
import type { ItemOutputHead } from "./outputs";

export interface SummaryRow {
  /** "<name> (<type>)", e.g. "transformer.block0 (TransformerBlock, causal)". */
  block: string;
  /** e.g. ["batch", "seqLen", 64], or ["batch", 64] after pooling. */
  outputShape: (string | number)[];
  parameters: number;
}

export interface ModelSummary {
  rows: SummaryRow[];
  totalParameters: number;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Rows of `model`'s blocks in order, then of `head` when given (its output: one score per item of the catalogue). */
export function summarizeModel(
  model: Pick<SessionModel, "blocks" | "variables" | "output">,
  head?: Pick<ItemOutputHead, "variables" | "config" | "nItems">,
): ModelSummary {
  const variables = Object.entries(model.variables);
  const counted = new Set<string>();
  const rows: SummaryRow[] = model.blocks.map((block) => {
    const own = variables.filter(([name]) => name === block.name || name.startsWith(`${block.name}.`));
    own.forEach(([name]) => counted.add(name));
    return {
      block: `${block.name} (${block.type})`,
      outputShape: block.output === "sequence" ? ["batch", "seqLen", block.dim] : ["batch", block.dim],
      // Buffers (a globalNeighbours block's item graph) are data, not parameters.
      parameters: own.reduce((sum, [, v]) => sum + (v.trainable ? sizeOf(v.shape) : 0), 0),
    };
  });
  const uncounted = variables.filter(([name]) => !counted.has(name)).map(([name]) => name);
  if (uncounted.length > 0) throw new Error(`summarizeModel: variables of no block: ${uncounted.join(", ")}`);
  if (head !== undefined) {
    rows.push({
      block: head.config.tied ? "head (tied output head)" : "head (output head)",
      outputShape: model.output === "sequence" ? ["batch", "seqLen", head.nItems] : ["batch", head.nItems],
      parameters: Object.values(head.variables).reduce((sum, v) => sum + sizeOf(v.shape), 0),
    });
  }
  return { rows, totalParameters: rows.reduce((sum, row) => sum + row.parameters, 0) };
}

/** The summary as a text table, Keras-style: block, output shape, parameters, then the total. */
export function formatSummary(summary: ModelSummary): string {
  const body = summary.rows.map((row) => [
    row.block,
    `[${row.outputShape.join(", ")}]`,
    row.parameters.toLocaleString("en-US"),
  ]);
  const columns = ["block", "output shape", "parameters"];
  const widths = columns.map((c, i) => Math.max(c.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const rule = "-".repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [
    line(columns),
    rule,
    ...body.map(line),
    rule,
    `total parameters: ${summary.totalParameters.toLocaleString("en-US")}`,
  ].join("\n");
}
