// Per-column records (a table's or a batch's features by column name): one helper, free of Node imports so that
// browser bundles (the demo) can use it.

/** A record with `f` applied to every value. */
export function mapValues<A, B>(record: Record<string, A>, f: (value: A) => B): Record<string, B> {
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, f(value)]));
}
