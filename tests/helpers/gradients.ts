// Setting weights by hand and checking analytic gradients against central finite differences, for the model tests.
import * as tf from "@tensorflow/tfjs";
import { expect } from "vitest";

/** Sets the variables named in `values` (row-major) of `variables`. */
export function assign(variables: Record<string, tf.Variable>, values: Record<string, number[]>): void {
  for (const [name, value] of Object.entries(values)) {
    const variable = variables[name];
    if (variable === undefined) throw new Error(`no variable ${name}; have ${Object.keys(variables).join(", ")}`);
    variable.assign(tf.tensor(value, variable.shape));
  }
}

/** Central finite differences of `objective` against entry `index` of `variable`, next to the analytic gradient. */
export function checkGradient(objective: () => tf.Scalar, variable: tf.Variable, indices: number[]): void {
  const { grads } = tf.variableGrads(objective, [variable]);
  const analytic = grads[variable.name].dataSync().slice();
  tf.dispose(grads);
  const eps = 1e-2;
  const original = variable.dataSync().slice();
  for (const index of indices) {
    const valueWith = (delta: number) => {
      const values = original.slice();
      values[index] += delta;
      variable.assign(tf.tensor(values, variable.shape));
      return tf.tidy(() => objective().dataSync()[0]);
    };
    const numeric = (valueWith(eps) - valueWith(-eps)) / (2 * eps);
    variable.assign(tf.tensor(original, variable.shape));
    expect(Math.abs(analytic[index]), `entry ${index}`).toBeGreaterThan(1e-3); // a zero gradient would make the check vacuous
    expect(
      Math.abs(numeric - analytic[index]) / Math.max(Math.abs(numeric), Math.abs(analytic[index])),
      `entry ${index}`,
    ).toBeLessThan(2e-2);
  }
}
