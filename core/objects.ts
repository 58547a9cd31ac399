/**
 * Copies of plain objects on the hot path.
 *
 * A spread that adds a key its source lacks (`{ ...x, loc }`, or `{ ...x }` and then `copy.loc =`)
 * gives each copy a hidden class of its own in V8 (Node 20, as %HaveSameMap shows): a new map and
 * its descriptors are made for every copy instead of being reused. Those live in the old
 * generation whatever the copy's own lifetime, and on a per-reading path they were most of what
 * the full collections had to sweep (docs/BENCHMARKS.md, "Profiles", "Old-generation garbage"),
 * besides costing about six times a copy by `Object.assign`. A spread that only overwrites keys
 * the source has keeps the source's shape and stays cheap.
 */

/** `x` with `key` set to `value`, as `{ ...x, [key]: value }`, on shapes V8 can share. */
export function extended<T extends object, K extends PropertyKey, V>(x: T, key: K, value: V): T & Record<K, V> {
  const copy = Object.assign({}, x) as T & Record<K, V>;
  copy[key] = value as (T & Record<K, V>)[K];
  return copy;
}
