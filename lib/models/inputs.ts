// The input block every model starts with: turns a batch of sessions into one feature vector per position.
//   item id            → item embedding                      [batch, seqLen, itemDim]
//   categorical list   → its own embedding table             [batch, seqLen, dim_c]
//   continuous list    → the value as-is                     [batch, seqLen, 1]
//   categorical context→ embedding, repeated at each position [batch, seqLen, dim_c]
//   continuous context → the value, repeated at each position [batch, seqLen, 1]
// concatenated in that order (columns in schema order within each group) → [batch, seqLen, dIn], then optionally a
// linear projection to `projection` units. "count" columns are informational and never fed to a model.
import * as tf from "@tensorflow/tfjs";
import { dense } from "./layers";
import { gatherTableRows } from "./table-rows";
import type { ColumnSchema, DatasetSchema } from "../data/schema";
import type { ParameterFactory } from "./init";
import type { SessionBatch } from "./types";

/** The parts of a column's schema the models read. */
export type ModelColumnSchema = Pick<ColumnSchema, "name" | "kind" | "list" | "cardinality">;
/** The parts of a `DatasetSchema` the models read: a full `DatasetSchema` (from `readSchema`) is one. */
export interface ModelSchema extends Pick<DatasetSchema, "item" | "maxLength"> {
  columns: ModelColumnSchema[];
}

export interface InputConfig {
  /** Item embedding size. Default 64 (the tutorial's). With a tied output head the head projects to this size. */
  itemDim?: number;
  /** Embedding size of other categorical columns by name (sequence or context); default `defaultEmbeddingDim`. */
  embeddingDims?: Record<string, number>;
  /** Columns left out of the model's inputs (the item column cannot be). Default: none. */
  exclude?: string[];
  /** Adds one item-embedding row, id = item cardinality, used as MASK by masked-item training. Default false. */
  maskToken?: boolean;
  /** Width of a linear projection of the concatenated features. Default: none (the block outputs dIn). */
  projection?: number;
}

/** Item embedding size when the config gives none. */
export const DEFAULT_ITEM_DIM = 64;
/** Cap of the default size of side-feature embeddings (the tutorial's size for side features). */
export const MAX_DEFAULT_SIDE_DIM = 16;

/** The schema's columns other than the item column (and counts, which no input block reads): what a model that reads
 *  item ids only (CORE, SR-GNN) excludes by default. */
export function sideColumns(schema: ModelSchema): string[] {
  return schema.columns
    .filter((column) => column.name !== schema.item && column.kind !== "count")
    .map((column) => column.name);
}

/** Embedding size for a side categorical column: fast.ai's rule round(1.6·cardinality^0.56), clamped to [2, 16]. */
export function defaultEmbeddingDim(cardinality: number): number {
  return Math.min(MAX_DEFAULT_SIDE_DIM, Math.max(2, Math.round(1.6 * Math.pow(cardinality, 0.56))));
}

export interface InputBlock {
  /** Width of `apply`'s output per position (the projection's width when there is one). */
  readonly dim: number;
  /** Item embedding table [itemRows, itemDim]; a tied output head reads its first `itemCardinality` rows. */
  readonly itemTable: tf.Variable;
  readonly itemDim: number;
  /** Number of item ids in the catalogue (ids 0 and 1 included); the output head scores this many. */
  readonly itemCardinality: number;
  /** Id of the MASK token (= itemCardinality) when the table has that row, else null. */
  readonly maskId: number | null;
  /** Session features per position: [batch, seqLen, dim]. */
  apply(batch: SessionBatch): tf.Tensor3D;
}

interface EmbeddedColumn {
  name: string;
  table: tf.Variable; // [cardinality, dim]
}

function cardinalityOf(column: ModelColumnSchema): number {
  const cardinality = column.cardinality;
  if (!(Number.isInteger(cardinality) && (cardinality as number) >= 2)) {
    throw new Error(
      `schema column '${column.name}' (${column.kind}): needs an integer cardinality >= 2, got ${cardinality}`,
    );
  }
  return cardinality as number;
}

function positiveInteger(value: number, what: string): number {
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`${what} must be a positive integer, got ${value}`);
  return value;
}

function lookup<T>(record: Record<string, T>, name: string, where: string): T {
  const value = record[name];
  if (value === undefined) throw new Error(`input block: batch.${where} has no column '${name}' (the schema lists it)`);
  return value;
}

/** Builds the input block of `schema` with variables under `params` (`<scope>.embedding.<column>`, `<scope>.projection.*`). */
export function createInputBlock(params: ParameterFactory, schema: ModelSchema, config: InputConfig = {}): InputBlock {
  const excluded = new Set(config.exclude ?? []);
  if (excluded.has(schema.item)) throw new Error(`input block: the item column '${schema.item}' cannot be excluded`);
  for (const name of excluded) {
    if (!schema.columns.some((c) => c.name === name))
      throw new Error(`input block: excluded column '${name}' is not in the schema`);
  }
  const itemColumn = schema.columns.find((c) => c.name === schema.item);
  if (itemColumn === undefined || itemColumn.kind !== "item" || !itemColumn.list) {
    throw new Error(`schema: item column '${schema.item}' must be listed with kind "item" and list: true`);
  }
  const used = schema.columns.filter((c) => c.name !== schema.item && c.kind !== "count" && !excluded.has(c.name));
  if (used.some((c) => c.kind === "item")) throw new Error(`schema: more than one column of kind "item"`);

  const embeddings = params.scope("embedding");
  const itemDim = positiveInteger(config.itemDim ?? DEFAULT_ITEM_DIM, "input config itemDim");
  const itemCardinality = cardinalityOf(itemColumn);
  const maskId = config.maskToken ? itemCardinality : null;
  const itemRows = itemCardinality + (maskId === null ? 0 : 1);
  // Keras' default embedding init: uniform ±0.05.
  const itemTable = embeddings.uniform(schema.item, [itemRows, itemDim], 0.05);

  const embed = (column: ModelColumnSchema): EmbeddedColumn => {
    const cardinality = cardinalityOf(column);
    const dim = positiveInteger(
      config.embeddingDims?.[column.name] ?? defaultEmbeddingDim(cardinality),
      `embedding size of '${column.name}'`,
    );
    return { name: column.name, table: embeddings.uniform(column.name, [cardinality, dim], 0.05) };
  };
  const sequenceCategorical = used.filter((c) => c.kind === "categorical" && c.list).map(embed);
  const sequenceContinuous = used.filter((c) => c.kind === "continuous" && c.list).map((c) => c.name);
  const contextCategorical = used.filter((c) => c.kind === "categorical" && !c.list).map(embed);
  const contextContinuous = used.filter((c) => c.kind === "continuous" && !c.list).map((c) => c.name);

  const widthOf = (columns: EmbeddedColumn[]) => columns.reduce((sum, c) => sum + (c.table.shape[1] as number), 0);
  const dIn =
    itemDim +
    widthOf(sequenceCategorical) +
    sequenceContinuous.length +
    widthOf(contextCategorical) +
    contextContinuous.length;
  const projection =
    config.projection === undefined
      ? null
      : dense(params, "projection", dIn, positiveInteger(config.projection, "input config projection"));

  const apply = (batch: SessionBatch): tf.Tensor3D =>
    tf.tidy(() => {
      const [batchSize, seqLen] = batch.items.shape;
      const sequence = (t: tf.Tensor2D, name: string): tf.Tensor2D => {
        if (t.shape[0] !== batchSize || t.shape[1] !== seqLen) {
          throw new Error(
            `input block: column '${name}' has shape [${t.shape}], expected [${batchSize}, ${seqLen}] like the items`,
          );
        }
        return t;
      };
      const context = (t: tf.Tensor1D, name: string): tf.Tensor1D => {
        if (t.shape.length !== 1 || t.shape[0] !== batchSize) {
          throw new Error(`input block: context column '${name}' has shape [${t.shape}], expected [${batchSize}]`);
        }
        return t;
      };
      const repeatOverPositions = (x: tf.Tensor2D): tf.Tensor3D =>
        tf.tile(tf.expandDims(x, 1), [1, seqLen, 1]) as tf.Tensor3D; // [b, d] → [b, L, d]
      const parts: tf.Tensor3D[] = [
        gatherTableRows(itemTable, batch.items) as tf.Tensor3D, // [b, L, itemDim]
        ...sequenceCategorical.map(
          (c) => tf.gather(c.table, sequence(lookup(batch.categorical, c.name, "categorical"), c.name)) as tf.Tensor3D,
        ),
        ...sequenceContinuous.map(
          (name) => tf.expandDims(sequence(lookup(batch.continuous, name, "continuous"), name), 2) as tf.Tensor3D,
        ),
        ...contextCategorical.map((c) =>
          repeatOverPositions(
            tf.gather(c.table, context(lookup(batch.context, c.name, "context"), c.name)) as tf.Tensor2D,
          ),
        ),
        ...contextContinuous.map((name) =>
          repeatOverPositions(
            tf.expandDims(tf.cast(context(lookup(batch.context, name, "context"), name), "float32"), 1) as tf.Tensor2D,
          ),
        ),
      ];
      const features = parts.length === 1 ? parts[0] : (tf.concat(parts, 2) as tf.Tensor3D); // [b, L, dIn]
      return projection === null ? features : (projection.apply(features) as tf.Tensor3D);
    });

  return {
    dim: projection === null ? dIn : projection.outDim,
    itemTable,
    itemDim,
    itemCardinality,
    maskId,
    apply,
  };
}
