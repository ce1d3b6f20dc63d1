// Checks of the recipes' numeric options, with the recipe's name in the message.

/** `value` when it is an integer >= 1; else an error naming the recipe (`who`) and the option. */
export function positiveInteger(who: string, value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${who}: ${name} must be an integer >= 1, got ${value}`);
  return value;
}
