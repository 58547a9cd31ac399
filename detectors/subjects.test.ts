import { describe, expect, it } from 'vitest';
import { deviceKeyPrefix } from '../core/device-state.js';
import type { KeyValueStore } from '../core/ports.js';
import type { Alert } from '../core/schemas.js';
import { MemoryKeyValueStore } from '../core/store/memory-kv.js';
import { IN, placedReading, ruleCity } from '../test/support/rule-city.js';
import { RuleEngine } from './engine.js';
import { LIST_REFRESH_MS, subjectsKey } from './subjects.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const rule = (over: Record<string, unknown>) => ({ grade: 'C', category: 'test', department: 'test-dept', ...over });

/** A key-value store that counts the keys each read asks for, by kind. */
class CountingKv extends MemoryKeyValueStore {
  lists = 0;
  states = 0;
  override async getMany<T>(keys: readonly string[]): Promise<Map<string, T>> {
    for (const k of keys) {
      if (k.startsWith('subjects:')) this.lists++;
      else this.states++;
    }
    return super.getMany<T>(keys);
  }
}

function setup(rules: unknown[], kv: KeyValueStore = new MemoryKeyValueStore()) {
  let cityRules = rules;
  let index = ruleCity(cityRules);
  const alerts: Alert[] = [];
  const engine = new RuleEngine({ kv, cityIndex: () => index, startedAt: 0, clock: { now: () => 0 }, emit: async (a) => void alerts.push(...a) });
  const data = (deviceId: string, at: number) => engine.readings([placedReading(index, deviceId, 'water_level', 0.1, at, IN.tunnel)]);
  const list = async (ruleId: string) => ((await kv.getMany<string[]>([subjectsKey(ruleId)])).get(subjectsKey(ruleId)) ?? []).sort();
  const setRules = (next: unknown[]) => {
    cityRules = next;
    index = ruleCity(cityRules);
  };
  return { engine, alerts, data, list, kv, setRules };
}

describe('subject lists of the timed rules', () => {
  it('are read once per refresh period, not on every tick, and a silent device is read only once it can fire', async () => {
    const kv = new CountingKv();
    const { engine, alerts, data } = setup([rule({ id: 'silent', kind: 'deadman', metric: 'water_level', after: '10m' })], kv);
    for (let i = 0; i < 100; i++) await data(`wl-${i}`, 0);
    kv.lists = 0;
    kv.states = 0;
    // Ticks every 5 s for most of a minute: one read of the list, and each state once (then not due).
    for (let t = 5_000; t < LIST_REFRESH_MS; t += 5_000) await engine.tick(t);
    expect(kv.lists).toBe(1);
    expect(kv.states).toBe(100);
    expect(alerts).toEqual([]);
    await engine.tick(10 * MIN);
    expect(alerts).toHaveLength(100);
    expect(alerts.every((a) => a.status === 'firing')).toBe(true);
  });

  it('lose deleted devices and long-silent fired ones, and the deadman still fires for a device that went silent', async () => {
    const { engine, alerts, data, list, kv } = setup([rule({ id: 'silent', kind: 'deadman', metric: 'water_level', after: '10m' })]);
    await data('alive', 0);
    await data('quiet', 0);
    await data('deleted', 0);
    expect(await list('silent')).toEqual(['alive', 'deleted', 'quiet']);
    // Deleted: its state goes with its key prefix, and the list no longer holds it.
    await kv.deletePrefix(deviceKeyPrefix('deleted'));
    await engine.forgetDevices(['deleted']);
    expect(await list('silent')).toEqual(['alive', 'quiet']);

    for (let t = 5 * MIN; t <= 30 * MIN; t += 5 * MIN) {
      await data('alive', t);
      await engine.tick(t);
    }
    expect(alerts.map((a) => [a.deviceId, a.status])).toEqual([['quiet', 'firing']]);
    // Fired, but silent less than the bound: it stays.
    expect(await engine.pruneSubjects(30 * MIN, HOUR)).toBe(0);
    expect(await list('silent')).toEqual(['alive', 'quiet']);
    // Silent past the bound, its alert long out: it leaves the list, its state stays.
    await data('alive', 2 * HOUR);
    expect(await engine.pruneSubjects(2 * HOUR, HOUR)).toBe(1);
    expect(await list('silent')).toEqual(['alive']);

    // Back: its alert resolves, it is listed again, and a new silence fires again.
    await data('quiet', 3 * HOUR);
    expect(alerts.at(-1)).toMatchObject({ deviceId: 'quiet', status: 'resolved' });
    expect(await list('silent')).toEqual(['alive', 'quiet']);
    await engine.tick(3 * HOUR + 10 * MIN);
    expect(alerts.filter((a) => a.deviceId === 'quiet').map((a) => a.status)).toEqual(['firing', 'resolved', 'firing']);
  });

  it('are dropped with the rule when it leaves the city', async () => {
    const { engine, data, list, setRules } = setup([rule({ id: 'silent', kind: 'deadman', metric: 'water_level', after: '10m' }), rule({ id: 'other', kind: 'deadman', metric: 'water_level', after: '1h' })]);
    await data('a', 0);
    setRules([rule({ id: 'other', kind: 'deadman', metric: 'water_level', after: '1h' })]);
    expect(await engine.pruneSubjects(MIN, HOUR)).toBe(1);
    expect(await list('silent')).toEqual([]);
    expect(await list('other')).toEqual(['a']);
  });
});
