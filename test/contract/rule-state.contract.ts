/**
 * Rule state through the KeyValueStore port: what every adapter must give the detectors. A
 * restart (a new engine on a new connection) neither re-fires nor forgets a pending duration,
 * and two instances sharing the store never both send the same transition.
 *
 * `open()` gives a new connection to one store per test (a new client to the same server, a
 * new handle on the same file); rule and device ids are random, so a shared server is fine.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../../core/ports.js';
import type { Alert, CameraEvent } from '../../core/schemas.js';
import { OUTBOX_LEASE_MS, RuleEngine } from '../../detectors/engine.js';
import { IN, placedReading, ruleCity } from '../support/rule-city.js';

export interface SharedKv {
  /** A new connection to the test's store. */
  open(): Promise<KeyValueStore>;
  /** Closes every connection it opened. */
  close(): Promise<void>;
}

const MIN = 60_000;
const id = (p: string): string => `${p}-${randomUUID().slice(0, 8)}`;
const rule = (over: Record<string, unknown>) => ({ grade: 'B', category: 'test', department: 'test-dept', ...over });

export function ruleStateContract(name: string, makeStore: () => Promise<SharedKv>): void {
  describe(`rule state contract: ${name}`, () => {
    const stores: SharedKv[] = [];
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });
    const store = async (): Promise<SharedKv> => {
      const s = await makeStore();
      stores.push(s);
      return s;
    };

    /** An engine on its own connection, and the alerts it emitted. */
    async function instance(shared: SharedKv, rules: unknown[], startedAt = 0): Promise<{ engine: RuleEngine; alerts: Alert[] }> {
      const index = ruleCity(rules);
      const alerts: Alert[] = [];
      const engine = new RuleEngine({ kv: await shared.open(), cityIndex: () => index, startedAt, clock: { now: () => startedAt }, emit: async (a) => void alerts.push(...a) });
      return { engine, alerts };
    }

    it('remembers a pending duration across a restart, fires once, and resolves with the same start', async () => {
      const shared = await store();
      const rules = [rule({ id: id('flood'), metric: 'water_level', above: 0.3, clearBelow: 0.2, for: '1m' })];
      const dev = id('wl');
      const index = ruleCity(rules);
      const r = (v: number, ts: number) => placedReading(index, dev, 'water_level', v, ts, IN.tunnel);

      const first = await instance(shared, rules);
      await first.engine.readings([r(0.5, 0), r(0.5, 30_000)]);
      expect(first.alerts).toEqual([]);

      const second = await instance(shared, rules);
      await second.engine.readings([r(0.5, MIN)]);
      expect(second.alerts.map((a) => [a.status, a.startsAt])).toEqual([['firing', 0]]);

      const third = await instance(shared, rules);
      await third.engine.readings([r(0.6, 2 * MIN), r(0.5, MIN)]);
      expect(third.alerts).toEqual([]);
      await third.engine.readings([r(0.1, 3 * MIN)]);
      expect(third.alerts.map((a) => [a.status, a.startsAt, a.id])).toEqual([['resolved', 0, second.alerts[0]!.id.replace(':firing', ':resolved')]]);
    });

    it('keeps a rate window across a restart', async () => {
      const shared = await store();
      const rules = [rule({ id: id('rise'), kind: 'rate', metric: 'water_level', rise: 0.05, within: '10m' })];
      const dev = id('wl');
      const index = ruleCity(rules);
      await (await instance(shared, rules)).engine.readings([placedReading(index, dev, 'water_level', 0.1, 0, IN.tunnel)]);
      const after = await instance(shared, rules);
      await after.engine.readings([placedReading(index, dev, 'water_level', 0.2, 5 * MIN, IN.tunnel)]);
      expect(after.alerts.map((a) => a.status)).toEqual(['firing']);
    });

    it('lets only one of two instances fire a deadman alert when both tick at once', async () => {
      const shared = await store();
      const rules = [{ id: id('offline'), kind: 'deadman', after: '15m' }];
      const index = ruleCity(rules);
      const a = await instance(shared, rules);
      const b = await instance(shared, rules);
      const devices = Array.from({ length: 10 }, () => id('dev'));
      // Each device's readings go to one instance, as a partitioned bus does.
      await a.engine.readings(devices.slice(0, 5).map((d) => placedReading(index, d, 'noise', 50, 0, IN.school)));
      await b.engine.readings(devices.slice(5).map((d) => placedReading(index, d, 'noise', 50, 0, IN.market)));
      for (const now of [15 * MIN, 15 * MIN + 1, 16 * MIN]) await Promise.all([a.engine.tick(now), b.engine.tick(now), a.engine.tick(now), b.engine.tick(now)]);
      const fired = [...a.alerts, ...b.alerts];
      expect(fired.map((x) => x.deviceId).sort()).toEqual([...devices].sort());
      expect(fired.every((x) => x.status === 'firing' && x.grade === 'D' && x.category === 'device-fault' && x.startsAt === 15 * MIN)).toBe(true);
    });

    it('neither re-fires a deadman alert after a restart nor counts silence from before it', async () => {
      const shared = await store();
      const rules = [rule({ id: id('offline'), kind: 'deadman', after: '15m' })];
      const index = ruleCity(rules);
      const [silent, quiet] = [id('dev'), id('dev')];
      const before = await instance(shared, rules);
      await before.engine.readings([placedReading(index, silent, 'noise', 50, 0, IN.school)]);
      await before.engine.tick(15 * MIN);
      expect(before.alerts.map((x) => x.deviceId)).toEqual([silent]);
      await before.engine.readings([placedReading(index, quiet, 'noise', 50, 20 * MIN, IN.school)]);

      // Down from 21 to 30 minutes.
      const after = await instance(shared, rules, 30 * MIN);
      await after.engine.tick(36 * MIN);
      expect(after.alerts).toEqual([]);
      await after.engine.tick(45 * MIN);
      expect(after.alerts.map((x) => [x.deviceId, x.startsAt])).toEqual([[quiet, 45 * MIN]]);
      await after.engine.readings([placedReading(index, silent, 'noise', 50, 46 * MIN, IN.school)]);
      expect(after.alerts.at(-1)).toMatchObject({ deviceId: silent, status: 'resolved', startsAt: 15 * MIN });
    });

    it('fires a zone-wide composite rule once when two instances see its conditions at once', async () => {
      const shared = await store();
      const ruleId = id('fire');
      const rules = [rule({ id: ruleId, kind: 'composite', within: '2m', grade: 'A', conditions: [{ metric: 'smoke', above: 10 }, { metric: 'temperature', above: 57 }] })];
      const index = ruleCity(rules);
      const a = await instance(shared, rules);
      const b = await instance(shared, rules);
      const [smoke, temp] = [id('smoke'), id('temp')];
      await Promise.all([
        a.engine.readings([placedReading(index, smoke, 'smoke', 20, 1_000, IN.market)]),
        b.engine.readings([placedReading(index, temp, 'temperature', 70, 1_000, IN.market)]),
      ]);
      await Promise.all([a.engine.readings([placedReading(index, smoke, 'smoke', 25, 2_000, IN.market)]), b.engine.readings([placedReading(index, temp, 'temperature', 75, 2_000, IN.market)])]);
      const fired = [...a.alerts, ...b.alerts];
      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({ status: 'firing', zoneId: 'market', grade: 'A', fingerprint: `${ruleId}/zone:market` });
    });

    it('sends an alert that was decided but not sent before a crash, with the same id', async () => {
      const shared = await store();
      const ruleId = id('offline');
      const rules = [rule({ id: ruleId, kind: 'deadman', after: '1m' })];
      const index = ruleCity(rules);
      const dev = id('dev');
      const kv = await shared.open();
      const crashing = new RuleEngine({
        kv,
        cityIndex: () => index,
        startedAt: 0,
        clock: { now: () => 0 },
        emit: async () => {
          throw new Error('crashed before the alert went out');
        },
      });
      await crashing.readings([placedReading(index, dev, 'noise', 50, 0, IN.school)]);
      await expect(crashing.tick(MIN)).rejects.toThrow(/crashed/);
      const restarted = await instance(shared, rules);
      // Within the lease the alert may still be on its way from the first instance.
      await restarted.engine.tick(MIN + OUTBOX_LEASE_MS - 1);
      expect(restarted.alerts).toEqual([]);
      await restarted.engine.tick(MIN + OUTBOX_LEASE_MS);
      expect(restarted.alerts.map((a) => a.id)).toEqual([`${ruleId}/${dev}@${MIN}:firing`]);
      await restarted.engine.tick(MIN + OUTBOX_LEASE_MS + 1);
      expect(restarted.alerts).toHaveLength(1);
    });

    it('keeps a camera detection present across a restart and fires it on the clock', async () => {
      const shared = await store();
      const rules = [rule({ id: id('loiter'), kind: 'camera', types: ['person'], for: '30s' })];
      const cam = id('cam');
      const event: CameraEvent = { id: id('e'), deviceId: cam, type: 'person', score: 0.9, phase: 'new', trackId: 't1', ts: 0, receivedAt: 100, zoneIds: ['school'], ref: 'r' };
      await (await instance(shared, rules)).engine.events([event]);
      const after = await instance(shared, rules);
      await after.engine.tick(20_000);
      expect(after.alerts).toEqual([]);
      await after.engine.tick(30_100);
      expect(after.alerts).toMatchObject([{ status: 'firing', deviceId: cam, metric: 'person', zoneId: 'school', startsAt: 0 }]);
    });
  });
}
