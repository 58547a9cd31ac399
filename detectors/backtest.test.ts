import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Location, Reading } from '../core/schemas.js';
import { SqliteSeriesStore } from '../core/store/sqlite/series.js';
import { IN, ruleCity } from '../test/support/rule-city.js';
import { backtest } from './backtest.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 6, 1, 0, 0, 0);

let n = 0;
/** As stored by ingest last month: no zones (they were drawn since). */
const stored = (deviceId: string, metric: string, value: number, minute: number, loc: Location): Reading => ({
  deviceId,
  metric,
  value,
  ts: T0 + minute * MIN,
  receivedAt: T0 + minute * MIN + 500,
  loc,
  zoneIds: [],
  ref: `r${n++}`,
});

const RULES = [
  { id: 'tunnel-flooding', metric: 'water_level', above: 0.3, clearBelow: 0.2, zones: { kind: 'underpass' }, grade: 'B', category: 'flooding', department: 'water-affairs' },
  { id: 'sensor-offline', kind: 'deadman', after: '10m', metric: 'water_level' },
  { id: 'fire-camera', kind: 'camera', types: ['fire'], grade: 'A', category: 'fire', department: 'fire-rescue' },
];

describe('backtest', () => {
  const open: SqliteSeriesStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  async function history(readings: Reading[]): Promise<SqliteSeriesStore> {
    const s = new SqliteSeriesStore(fs.mkdtempSync(path.join(os.tmpdir(), 'sw-backtest-')));
    open.push(s);
    await s.write(readings);
    return s;
  }

  // Two tunnel sensors rise together (one ticket), fall back, and one rises again an hour
  // later; a school sensor stops reporting after minute 5.
  const readings = [
    ...[0, 1, 2, 3].map((m) => stored('w1', 'water_level', m === 0 ? 0.1 : 0.5, m, IN.tunnel)),
    ...[0, 1, 2, 3].map((m) => stored('w2', 'water_level', m < 2 ? 0.1 : 0.6, m, IN.tunnel)),
    stored('w1', 'water_level', 0.1, 10, IN.tunnel),
    stored('w2', 'water_level', 0.1, 10, IN.tunnel),
    stored('w1', 'water_level', 0.1, 40, IN.tunnel),
    stored('w2', 'water_level', 0.1, 40, IN.tunnel),
    stored('w1', 'water_level', 0.45, 70, IN.tunnel),
    stored('w1', 'water_level', 0.1, 75, IN.tunnel),
    ...[0, 5].map((m) => stored('s1', 'water_level', 0.0, m, IN.school)),
    stored('w1', 'water_level', 0.9, 500, IN.tunnel),
  ];

  it('counts alerts and tickets per rule and zone, merging the way alerting does', async () => {
    const series = await history(readings);
    const result = await backtest({ series, city: ruleCity(RULES), from: T0, to: T0 + 80 * MIN, pageSize: 3 });
    expect(result.readings).toBe(readings.length - 1);
    expect(result.rows.map((r) => [r.ruleId, r.zoneId, r.alerts, r.resolved, r.tickets])).toEqual([
      ['tunnel-flooding', 'tunnel', 3, 3, 2],
      // Silent from minute 5.
      ['sensor-offline', 'school', 1, 0, 1],
      // Both tunnel sensors pause from 10 to 40 (one ticket for both, closed at 40) and from 40
      // (w2 for good, w1 until 70): a second ticket.
      ['sensor-offline', 'tunnel', 4, 3, 2],
    ]);
    expect(result.skipped).toEqual([{ ruleId: 'fire-camera', reason: expect.stringContaining('camera events') }]);
  });

  it('replays a period whose raw readings are gone from the roll-ups, peaks included', async () => {
    const DAY = 86_400_000;
    const retention = { rawMs: 30 * DAY };
    // A spike inside one 5-minute step, between calm readings: only the step's max shows it.
    const spike = [0, 1, 2, 3, 4].map((m) => stored('w1', 'water_level', m === 2 ? 0.8 : 0.1, m, IN.tunnel));
    const series = await history([...spike, stored('w1', 'water_level', 0.1, 20, IN.tunnel)]);
    while ((await series.rollUp(T0 + DAY, 1_000)) > 0);
    while ((await series.prune('raw', T0 + 60 * DAY - retention.rawMs, 1_000)) > 0);
    expect(await series.query({ from: T0, to: T0 + 10 * MIN })).toEqual([]);
    const result = await backtest({ series, city: ruleCity(RULES.slice(0, 1)), from: T0, to: T0 + 30 * MIN });
    // The newest reading is never pruned (it keeps the store's row ids growing): it replays raw.
    expect(result.byResolution).toEqual({ '5m': 3, raw: 1 });
    expect(result.rows).toMatchObject([{ ruleId: 'tunnel-flooding', zoneId: 'tunnel', alerts: 1, resolved: 1, tickets: 1 }]);
  });

  it('keeps a ticket open for the hold period after its alerts resolved', async () => {
    const series = await history(readings);
    const result = await backtest({ series, city: ruleCity(RULES.slice(0, 1)), from: T0, to: T0 + 80 * MIN, holdMs: 90 * MIN });
    expect(result.rows).toMatchObject([{ ruleId: 'tunnel-flooding', zoneId: 'tunnel', alerts: 3, tickets: 1 }]);
  });

  it('lists a rule that never fired, and reads nothing outside [from, to)', async () => {
    const series = await history(readings);
    const rules = [{ id: 'smoke', metric: 'smoke', above: 10, grade: 'C', category: 'fire', department: 'fire-rescue' }, RULES[0]];
    const result = await backtest({ series, city: ruleCity(rules), from: T0 + 100 * MIN, to: T0 + 200 * MIN });
    expect(result.readings).toBe(0);
    expect(result.rows.map((r) => [r.ruleId, r.zoneId, r.alerts])).toEqual([
      ['smoke', null, 0],
      ['tunnel-flooding', null, 0],
    ]);
  });
});
