// Recurrent next-item model: a GRU or LSTM run over the session's positions (./recurrent.ts), then an MLP; one state
// per position ("sequence"), the state at position t having seen events 0..t only. With `readout: "attention"`,
// SR-GNN's attention readout (./readout.ts) between the GRU and the MLP: the state at t is W3 [h_t; Σ_{j<=t} α_tj h_j]
// (NARM's global/local encoder when the cell is a GRU).
import { type BlockSpec, composeModel, inputBlock, mlpBlock, readoutBlocks, recurrentBlock } from "./blocks";
import type { InputConfig, ModelSchema } from "./inputs";
import type { Activation } from "./layers";
import type { SessionModel } from "./model";
import type { RnnCell } from "./recurrent";

export type { RnnCell };

export interface RnnConfig {
  inputs?: InputConfig;
  /** Default "gru". */
  cell?: RnnCell;
  /** State size. Default 64. */
  units?: number;
  /** L2 penalty scale on the input and recurrent kernels, returned by `regularization()`. Default 0 (none). */
  l2?: number;
  /** Dropout on the recurrent layer's outputs when training. Default 0. */
  dropout?: number;
  /** "none": the recurrent states as they are; "attention": SR-GNN's attention readout over them, one vector per
   *  prefix, of the state's width (blocks.ts `attentionReadout`). Default "none". */
  readout?: "none" | "attention";
  /** MLP widths after the recurrent layer (and readout) ([] for none). Default [64]. */
  mlp?: number[];
  /** Activation of the MLP layers. Default "relu". */
  mlpActivation?: Activation;
  /** Seed of the initial weights and dropout masks. Default 1. */
  seed?: number;
}

export type ResolvedRnnConfig = Required<RnnConfig>;

export function resolveRnnConfig(config: RnnConfig = {}): ResolvedRnnConfig {
  return {
    inputs: config.inputs ?? {},
    cell: config.cell ?? "gru",
    units: config.units ?? 64,
    l2: config.l2 ?? 0,
    dropout: config.dropout ?? 0,
    readout: config.readout ?? "none",
    mlp: config.mlp ?? [64],
    mlpActivation: config.mlpActivation ?? "relu",
    seed: config.seed ?? 1,
  };
}

export function createRnnModel(schema: ModelSchema, config: RnnConfig = {}): SessionModel<ResolvedRnnConfig> {
  const c = resolveRnnConfig(config);
  const blocks: BlockSpec[] = [
    inputBlock(c.inputs),
    recurrentBlock({ cell: c.cell, units: c.units, dropout: c.dropout, l2: c.l2 }),
    ...readoutBlocks(c.readout),
    mlpBlock({ units: c.mlp, activation: c.mlpActivation }),
  ];
  return { ...composeModel(schema, blocks, { seed: c.seed }), config: c };
}
