// Adam as tfjs's AdamOptimizer computes it — same state, same float32 results, same saved weights — with each
// variable's update as one kernel (lib/compute/kernels/adam-update.ts) instead of 14 element-wise ops, on the backends that
// have the kernel (wasm, where the engine runs WebAssembly SIMD); tfjs's own update elsewhere.
import * as tf from "@tensorflow/tfjs";
import { ADAM_UPDATE, adamUpdateSupported } from "../compute/kernels/adam-update";

/** The AdamOptimizer fields this class uses (TypeScript-protected in tfjs). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer["applyGradients"]>[0]): void {
    if (tf.getKernel(ADAM_UPDATE, tf.getBackend()) == null || !adamUpdateSupported())
      return super.applyGradients(variableGradients);
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    tf.tidy(() => {
      // tfjs's 1 − β^t: float32 accumulators, float32 subtraction (read back: cheap on wasm, the one backend here).
      const [oneMinusAccBeta1, oneMinusAccBeta2] = tf.sub(1, tf.stack([state.accBeta1, state.accBeta2])).dataSync();
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        state.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        state.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i].variable;
        const v = state.accumulatedSecondMoment[i].variable;
        const scalars = {
          beta1: state.beta1,
          beta2: state.beta2,
          oneMinusAccBeta1,
          oneMinusAccBeta2,
          epsilon: state.epsilon,
          learningRate: state.learningRate,
        };
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(
            ADAM_UPDATE,
            { value, m, v, g: gradient },
            scalars as unknown as tf.NamedAttrMap,
          ) as unknown as tf.Tensor[];
        m.assign(newM);
        v.assign(newV);
        value.assign(newValue);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, state.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, state.beta2));
    });
    state.incrementIterations();
  }
}

/** tf.train.adam's signature: epsilon defaults to the backend's. Typed as the base class, whose applyGradients takes
 *  gradients by variable name (AdamOptimizer's own signature narrows it to variables). */
export function adam(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number): tf.Optimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
