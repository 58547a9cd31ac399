/**
 * Whether two objects share V8's hidden class (their map): what tests of the per-reading path
 * check, since a copy with a class of its own leaves garbage in the old generation
 * (core/objects.ts). V8's own test for it needs natives syntax, turned on here for this one
 * function only.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--allow-natives-syntax');
// Natives syntax is not TypeScript: the function is compiled from text while the flag is on.
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
v8.setFlagsFromString('--no-allow-natives-syntax');

/** Every object of `objects` has the hidden class of the first. */
export function shareOneShape(objects: readonly object[]): boolean {
  return objects.every((o) => haveSameMap(o, objects[0]!));
}
