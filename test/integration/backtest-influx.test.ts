/**
 * `npm run backtest` in a distributed deployment: the history it replays is the InfluxDB one,
 * read with Flux, selected by the same INFLUX_* environment as the stages.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { InfluxSeriesStore } from '../../core/store/influx/series.js';
import { dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { FIXTURE_CITY, tempDir } from '../support/harness.js';

const run = promisify(execFile);
const services = testServices();
const T0 = Date.UTC(2026, 6, 1, 0, 0, 0);
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe.skipIf(!services)('npm run backtest on InfluxDB', () => {
  const namespace = testNamespace();
  afterAll(() => dropNamespace(services!, namespace));

  it('replays the readings stored in InfluxDB', async () => {
    const series = new InfluxSeriesStore({ url: services!.INFLUX_URL, token: services!.INFLUX_TOKEN, org: services!.INFLUX_ORG, bucket: services!.INFLUX_BUCKET, namespace, logger: createLogger('silent') });
    const levels = [0.1, 0.2, 0.28, 0.35, 0.42, 0.38, 0.25, 0.15, 0.1];
    await series.write(levels.map((value, i) => ({ deviceId: 'wl-1', metric: 'water_level', value, ts: T0 + i * 60_000, receivedAt: T0 + i * 60_000 + 100, loc: IN_TUNNEL, zoneIds: ['north-tunnel'], subcenterId: 'north', ref: `r${i}` })));
    await series.close();
    const rulesFile = path.join(tempDir('backtest-rules'), 'candidate.yaml');
    fs.writeFileSync(rulesFile, 'rules:\n  - { id: tunnel-0-3, metric: water_level, above: 0.3, clearBelow: 0.2, zones: { kind: underpass }, grade: B, category: flooding, department: water-affairs }\n');
    const dataDir = tempDir('backtest-data');

    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'detectors', 'backtest-cli.ts'), '--rules', rulesFile, '--from', new Date(T0).toISOString(), '--to', String(T0 + 3_600_000), '--json'],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...services!, STREETWATCH_NAMESPACE: namespace, STREETWATCH_DATA_DIR: dataDir, STREETWATCH_CONFIG: FIXTURE_CITY, LOG_LEVEL: 'silent' } },
    );
    const result = JSON.parse(stdout);
    expect(result.readings).toBe(levels.length);
    expect(result.rows.map((r: { ruleId: string; zoneId: string | null; alerts: number }) => [r.ruleId, r.zoneId, r.alerts])).toEqual([['tunnel-0-3', 'north-tunnel', 1]]);
    // Nothing came from, or went to, the data directory.
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});
