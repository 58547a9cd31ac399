/**
 * Seeded randomness: the same seed gives the same fleet, the same signals and the same faults,
 * so a scenario replays exactly.
 */

export { seededRandom } from '../core/seeded-random.js';

/**
 * A seed for one device: each device draws from its own stream, so what one device does never
 * shifts another's numbers (adding a device or a fault leaves the rest of the fleet unchanged).
 */
export function seedFor(seed: number, key: string): number {
  // FNV-1a over the key, mixed with the run's seed.
  let h = 0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1);
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A standard normal deviate (Box–Muller). */
export function gaussian(rand: () => number): number {
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
