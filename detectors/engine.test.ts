import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KeyValueStore, StateStore } from '../core/ports.js';
import type { Alert, CameraEvent, Reading } from '../core/schemas.js';
import { MemoryKeyValueStore } from '../core/store/memory-kv.js';
import { SqliteStateStore } from '../core/store/sqlite/state.js';
import { ruleStateContract } from '../test/contract/rule-state.contract.js';
import { shareOneShape } from '../test/support/hidden-class.js';
import { IN, placedReading, ruleCity } from '../test/support/rule-city.js';
import { RuleEngine } from './engine.js';

ruleStateContract('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-rules-'));
  const open: StateStore[] = [];
  return {
    async open() {
      const s = new SqliteStateStore(dir);
      open.push(s);
      return s.kv;
    },
    close: async () => void (await Promise.all(open.map((s) => s.close()))),
  };
});

ruleStateContract('memory', async () => {
  const kv = new MemoryKeyValueStore();
  return { open: async () => kv, close: async () => undefined };
});

const MIN = 60_000;
const rule = (over: Record<string, unknown>) => ({ grade: 'B', category: 'test', department: 'test-dept', ...over });

function setup(rules: unknown[], kv: KeyValueStore = new MemoryKeyValueStore()) {
  const index = ruleCity(rules);
  const alerts: Alert[] = [];
  const engine = new RuleEngine({ kv, cityIndex: () => index, startedAt: 0, clock: { now: () => 0 }, emit: async (a) => void alerts.push(...a) });
  const r = (deviceId: string, metric: string, value: number, ts: number, where: keyof typeof IN): Reading => placedReading(index, deviceId, metric, value, ts, IN[where]);
  return { engine, alerts, r, kv };
}

describe('rule engine', () => {
  it('applies the first matching per-zone override, and places the alert in that zone', async () => {
    const { engine, alerts, r } = setup([
      rule({
        id: 'flood',
        metric: 'water_level',
        above: 0.5,
        overrides: [
          { zones: { kind: 'school' }, above: 0.2, grade: 'A' },
          { zones: { tags: ['flood'] }, above: 0.3 },
        ],
      }),
    ]);
    await engine.readings([r('a', 'water_level', 0.25, 1, 'school'), r('b', 'water_level', 0.35, 1, 'tunnel'), r('c', 'water_level', 0.45, 1, 'market'), r('d', 'water_level', 0.55, 1, 'nowhere')]);
    expect(alerts.map((a) => [a.deviceId, a.zoneId ?? null, a.grade, a.threshold])).toEqual([
      ['a', 'school', 'A', 0.2],
      ['b', 'tunnel', 'B', 0.3],
      ['d', null, 'B', 0.5],
    ]);
  });

  it('applies a rule with a zone selector only inside matching zones', async () => {
    const { engine, alerts, r } = setup([rule({ id: 'gas', metric: 'gas_lel', above: 20, zones: { tags: ['hazmat'] } })]);
    await engine.readings([r('a', 'gas_lel', 30, 1, 'market'), r('b', 'gas_lel', 30, 1, 'plant'), r('c', 'gas_lel', 30, 1, 'nowhere')]);
    expect(alerts.map((a) => [a.deviceId, a.zoneId])).toEqual([['b', 'plant']]);
  });

  it('fires a zone-wide deadman rule when no device in the zone reported, and resolves on any device', async () => {
    const { engine, alerts, r } = setup([rule({ id: 'tunnel-blind', kind: 'deadman', per: 'zone', metric: 'water_level', after: '10m', zones: { kind: 'underpass' }, grade: 'C' })]);
    await engine.readings([r('w1', 'water_level', 0.1, 0, 'tunnel'), r('w2', 'water_level', 0.1, 5 * MIN, 'tunnel'), r('x', 'water_level', 0.1, 0, 'school'), r('w1', 'noise', 50, 9 * MIN, 'tunnel')]);
    await engine.tick(15 * MIN - 1);
    expect(alerts).toEqual([]);
    await engine.tick(15 * MIN);
    expect(alerts).toMatchObject([{ status: 'firing', fingerprint: 'tunnel-blind/zone:tunnel', zoneId: 'tunnel', deviceId: 'w2', grade: 'C', category: 'test', startsAt: 15 * MIN }]);
    await engine.readings([r('w3', 'water_level', 0.1, 16 * MIN, 'tunnel')]);
    expect(alerts.at(-1)).toMatchObject({ status: 'resolved', deviceId: 'w3', startsAt: 15 * MIN });
  });

  it('uses a deadman override for the zone the device is in', async () => {
    const { engine, alerts, r } = setup([{ id: 'offline', kind: 'deadman', after: '30m', overrides: [{ zones: { risk: 'high' }, after: '5m', grade: 'B' }] }]);
    await engine.readings([r('t', 'water_level', 0.1, 0, 'tunnel'), r('s', 'noise', 40, 0, 'school')]);
    await engine.tick(5 * MIN);
    expect(alerts.map((a) => [a.deviceId, a.grade])).toEqual([['t', 'B']]);
    await engine.tick(30 * MIN);
    expect(alerts.map((a) => [a.deviceId, a.grade])).toEqual([['t', 'B'], ['s', 'D']]);
  });

  it('evaluates composite rules per zone, each zone on its own', async () => {
    const { engine, alerts, r } = setup([rule({ id: 'three-high', kind: 'composite', within: '5m', grade: 'A', conditions: [{ metric: 'water_level', above: 0.3, devices: 3 }] })]);
    await engine.readings([r('a', 'water_level', 0.4, 0, 'tunnel'), r('b', 'water_level', 0.4, 1, 'tunnel'), r('c', 'water_level', 0.4, 2, 'school'), r('d', 'water_level', 0.4, 3, 'tunnel')]);
    expect(alerts).toMatchObject([{ status: 'firing', zoneId: 'tunnel', deviceId: 'd', fingerprint: 'three-high/zone:tunnel' }]);
  });

  it('turns camera events into alerts with the camera as the device and the type as the metric', async () => {
    const { engine, alerts } = setup([rule({ id: 'fire-cam', kind: 'camera', types: ['fire', 'smoke'], minScore: 0.7, zones: { tags: ['gas'] }, grade: 'A' })]);
    const e = (over: Partial<CameraEvent>): CameraEvent => ({ id: String(Math.random()), deviceId: 'cam-1', type: 'fire', score: 0.9, ts: 1_000, receivedAt: 1_100, zoneIds: ['market'], subcenterId: 'south', ref: 'r', ...over });
    await engine.events([e({ score: 0.5 }), e({ type: 'person', ts: 1_001 }), e({ zoneIds: ['school'], deviceId: 'cam-2' }), e({ ts: 1_002 })]);
    expect(alerts).toMatchObject([{ status: 'firing', deviceId: 'cam-1', metric: 'fire', value: 0.9, zoneId: 'market', subcenterId: 'south', grade: 'A', fingerprint: 'fire-cam/cam-1' }]);
    await engine.tick(1_002 + 100 + 5 * MIN + 1);
    expect(alerts.at(-1)).toMatchObject({ status: 'resolved', deviceId: 'cam-1' });
  });

  it('evaluates readings of one device in order within a batch, and drops duplicates', async () => {
    const { engine, alerts, r } = setup([rule({ id: 'smoke', metric: 'smoke', above: 10, clearBelow: 5 })]);
    await engine.readings([r('s', 'smoke', 12, 1, 'school'), r('s', 'smoke', 12, 1, 'school'), r('s', 'smoke', 3, 2, 'school'), r('s', 'smoke', 3, 2, 'school'), r('s', 'smoke', 12, 3, 'school')]);
    expect(alerts.map((a) => a.status)).toEqual(['firing', 'resolved', 'firing']);
    expect(new Set(alerts.map((a) => a.id)).size).toBe(3);
  });

  it('picks up new rules from a reloaded city at the next batch', async () => {
    let index = ruleCity([rule({ id: 'smoke', metric: 'smoke', above: 10 })]);
    const alerts: Alert[] = [];
    const engine = new RuleEngine({ kv: new MemoryKeyValueStore(), cityIndex: () => index, startedAt: 0, clock: { now: () => 0 }, emit: async (a) => void alerts.push(...a) });
    await engine.readings([placedReading(index, 's', 'smoke', 8, 1, IN.school)]);
    index = ruleCity([rule({ id: 'smoke', metric: 'smoke', above: 5 })]);
    await engine.readings([placedReading(index, 's', 'smoke', 8, 2, IN.school)]);
    expect(alerts.map((a) => [a.status, a.threshold])).toEqual([['firing', 5]]);
  });

  it('tells how fine the clock tick must be for the rules in force', () => {
    expect(setup([rule({ id: 'smoke', metric: 'smoke', above: 10 })]).engine.shortestWait()).toBeUndefined();
    expect(setup([rule({ id: 'o', kind: 'deadman', after: '15m', overrides: [{ zones: { kind: 'school' }, after: '2m' }] })]).engine.shortestWait()).toBe(2 * MIN);
    expect(setup([rule({ id: 'c', kind: 'camera', types: ['fire'], for: '10s' })]).engine.shortestWait()).toBe(10_000);
  });
});

/** The real in-memory store, counting the values written to it. */
class CountingKv extends MemoryKeyValueStore {
  written = 0;
  override async setMany(entries: ReadonlyMap<string, unknown>): Promise<void> {
    this.written += entries.size;
    return super.setMany(entries);
  }
  override async compareAndSetMany(changes: readonly { key: string; expected: unknown; next: unknown }[]): Promise<boolean[]> {
    this.written += changes.length;
    return super.compareAndSetMany(changes);
  }
}

describe('composite rule state in a large zone', () => {
  const flood = rule({ id: 'three-high', kind: 'composite', within: '5m', grade: 'A', conditions: [{ metric: 'water_level', above: 0.3, clearBelow: 0.2, devices: 3 }] });
  const key = 'rule:three-high:composite:zone:tunnel';

  it('writes nothing for a quiet reading at or before the zone’s time, and stays small with 10,000 devices', async () => {
    const kv = new CountingKv();
    const { engine, alerts, r } = setup([flood], kv);
    for (let b = 0; b < 10; b++) await engine.readings(Array.from({ length: 1_000 }, (_, i) => r(`w${b * 1_000 + i}`, 'water_level', 0.1, 1_000 + i, 'tunnel')));
    const stored = (await kv.getMany<{ s: unknown }>([key])).get(key)!;
    expect(stored.s).toMatchObject({ phase: 'ok', now: 1_999, standings: [[]] });
    expect(JSON.stringify(stored).length).toBeLessThan(200);

    kv.written = 0;
    await engine.readings([r('w42', 'water_level', 0.1, 1_500, 'tunnel'), r('w43', 'water_level', 0.15, 1_999, 'tunnel'), r('w42', 'water_level', 0.1, 1_500, 'tunnel')]);
    expect(kv.written).toBe(0);

    // Three devices high: it fires, and the state holds those three only.
    await engine.readings([r('w1', 'water_level', 0.4, 2_000, 'tunnel'), r('w2', 'water_level', 0.4, 2_001, 'tunnel'), r('w3', 'water_level', 0.4, 2_002, 'tunnel')]);
    expect(alerts).toMatchObject([{ status: 'firing', zoneId: 'tunnel', deviceId: 'w3' }]);
    const firing = (await kv.getMany<{ s: { standings: unknown[][] } }>([key])).get(key)!;
    expect(firing.s.standings[0]).toHaveLength(3);
  });

  it('goes on from state stored with every device of the zone in it', async () => {
    const kv = new MemoryKeyValueStore();
    const standings = [...Array.from({ length: 10_000 }, (_, i) => [`w${i}`, 1_000 + (i % 1_000), 0]), ['a', 1_500, 1], ['b', 1_600, 1], ['c', 1_700, 1]];
    await kv.setMany(new Map([[key, { s: { phase: 'firing', since: 1_700, now: 1_999, standings: [standings] } }]]));
    const { engine, alerts, r } = setup([flood], kv);
    await engine.readings([r('b', 'water_level', 0.25, 2_000, 'tunnel')]);
    expect(alerts).toEqual([]);
    await engine.readings([r('b', 'water_level', 0.1, 2_001, 'tunnel')]);
    expect(alerts).toMatchObject([{ status: 'resolved', zoneId: 'tunnel', deviceId: 'b', startsAt: 1_700 }]);
    const stored = (await kv.getMany<{ s: { standings: unknown[][] } }>([key])).get(key)!;
    expect(stored.s.standings[0]!.length).toBeLessThanOrEqual(3 + 64);
  });
});

describe('rule engine: the states it writes', () => {
  it('builds every device\'s state and place on one hidden class', async () => {
    // A class per object is garbage for the old generation on every reading (core/objects.ts).
    const written: unknown[] = [];
    class Watched extends MemoryKeyValueStore {
      override async setMany(entries: ReadonlyMap<string, unknown>): Promise<void> {
        written.push(...entries.values());
        return super.setMany(entries);
      }
      override async compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean> {
        written.push(next);
        return super.compareAndSet(key, expected, next);
      }
    }
    const { engine, r } = setup([rule({ id: 'quiet', kind: 'deadman', metric: 'water_level', after: '10m' })], new Watched());
    for (let i = 0; i < 20; i++) await engine.readings([r(`w${i}`, 'water_level', 0.1, i, 'tunnel')]);
    const states = written.map((v) => (v as { s?: unknown } | undefined)?.s).filter((s): s is { place: object } => typeof s === 'object' && s !== null && 'place' in s);
    expect(states).toHaveLength(20);
    expect(shareOneShape(states)).toBe(true);
    expect(shareOneShape(states.map((s) => s.place))).toBe(true);
  });
});
