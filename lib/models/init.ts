// Seeded, named parameters. Every model creates its variables through a `ParameterFactory`, which gives each one a
// stable dotted name (the key used by save/load and the optimizer) and draws its initial values from a generator
// seeded by (model seed, full name): adding or reordering parameters never changes another parameter's start values,
// and the values are the same on every backend because they are computed in plain JS.
import * as tf from "@tensorflow/tfjs";
import { hash32, Random } from "../util/random";

/** A model's variables by stable name, e.g. "transformer.block0.attention.query.kernel": its weights, and any buffers
 *  (non-trainable state read from the training data, saved with the weights; `buffer`). */
export type Variables = Record<string, tf.Variable>;

/** FNV-1a over UTF-16 code units: a fixed 32-bit digest of a parameter name. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class ParameterFactory {
  /**
   * @param seed base seed of the model (integer).
   * @param prefix dotted scope of the names made here ("" at the root).
   * @param store where the variables go; shared by a factory and all its scopes.
   */
  constructor(
    readonly seed: number,
    readonly prefix = "",
    private readonly store: Variables = {},
  ) {
    if (!Number.isInteger(seed)) throw new Error(`ParameterFactory: seed must be an integer, got ${seed}`);
  }

  /** A factory whose names are prefixed by `name.`, writing into the same store. */
  scope(name: string): ParameterFactory {
    return new ParameterFactory(this.seed, this.fullName(name), this.store);
  }

  /** Every variable made through this factory, its parent and its scopes, by full name. */
  get variables(): Variables {
    return this.store;
  }

  /** Glorot/Xavier uniform on ±sqrt(6 / (fanIn + fanOut)), the Keras default for dense kernels. */
  glorotUniform(name: string, shape: [number, number]): tf.Variable {
    const limit = Math.sqrt(6 / (shape[0] + shape[1]));
    return this.uniform(name, shape, limit);
  }

  /** Uniform on [-limit, limit). */
  uniform(name: string, shape: number[], limit: number): tf.Variable {
    return this.make(name, shape, (rng) => rng.uniform(-limit, limit));
  }

  /** Normal(0, std). */
  normal(name: string, shape: number[], std: number): tf.Variable {
    return this.make(name, shape, (rng) => rng.normal(0, std));
  }

  /** Every entry `value` (0 for biases, 1 for layer-norm gains). */
  constant(name: string, shape: number[], value: number): tf.Variable {
    return this.make(name, shape, () => value);
  }

  /** Entry i (row-major) is `valueAt(i)`, e.g. an LSTM bias with its forget-gate slice at 1. */
  filled(name: string, shape: number[], valueAt: (index: number) => number): tf.Variable {
    let index = 0;
    return this.make(name, shape, () => valueAt(index++));
  }

  /** A non-trainable variable of zeros: state a block fills from the training sessions (GCE-GNN's item graph), which
   *  the optimizer never updates and model folders save with the weights. */
  buffer(name: string, shape: number[]): tf.Variable {
    return this.make(name, shape, () => 0, false);
  }

  private fullName(name: string): string {
    if (name === "" || name.includes(".")) throw new Error(`ParameterFactory: bad parameter name '${name}'`);
    return this.prefix === "" ? name : `${this.prefix}.${name}`;
  }

  private make(name: string, shape: number[], draw: (rng: Random) => number, trainable = true): tf.Variable {
    const fullName = this.fullName(name);
    if (fullName in this.store) throw new Error(`ParameterFactory: parameter '${fullName}' created twice`);
    const rng = new Random(hash32(this.seed ^ hashName(fullName)));
    const values = new Float32Array(sizeOf(shape));
    for (let i = 0; i < values.length; i++) values[i] = draw(rng);
    // No tf name: tfjs registers variable names globally, and two models may hold parameters with the same key.
    const initial = tf.tensor(values, shape, "float32");
    const variable = tf.variable(initial, trainable);
    initial.dispose(); // the variable holds its own reference to the data
    this.store[fullName] = variable;
    return variable;
  }
}

/** Frees every variable (a model's or a head's) once it is no longer needed. */
export function disposeVariables(variables: Variables): void {
  for (const variable of Object.values(variables)) variable.dispose();
}

/**
 * Seeds for dropout masks: one new seed per call, from a generator seeded by the model, so that a training run
 * draws the same masks every time it is repeated with the same seed.
 */
export class SeedSequence {
  private readonly rng: Random;
  constructor(seed: number) {
    this.rng = new Random(seed);
  }
  next(): number {
    return this.rng.nextUint32();
  }
}
