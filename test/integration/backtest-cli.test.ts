/**
 * `npm run backtest` as an operator runs it: a separate process reading the data directory and
 * city from the environment, trying a rules file that is not the one in force.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../core/config.js';
import { SqliteSeriesStore } from '../../core/store/sqlite/series.js';
import { FIXTURE_CITY, tempDir } from '../support/harness.js';

const run = promisify(execFile);
const TSX = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const T0 = Date.UTC(2026, 6, 1, 0, 0, 0);
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('npm run backtest', () => {
  it('counts what a candidate rules file would have fired on stored readings, leaving live state alone', async () => {
    const dataDir = tempDir('backtest-data');
    const series = new SqliteSeriesStore(dataDir);
    // A water level that climbs to 0.42 m and back, one reading a minute.
    const levels = [0.1, 0.2, 0.28, 0.35, 0.42, 0.38, 0.25, 0.15, 0.1];
    await series.write(levels.map((value, i) => ({ deviceId: 'wl-1', metric: 'water_level', value, ts: T0 + i * 60_000, receivedAt: T0 + i * 60_000 + 100, loc: IN_TUNNEL, zoneIds: ['north-tunnel'], subcenterId: 'north', ref: `r${i}` })));
    await series.close();

    const rulesFile = path.join(tempDir('backtest-rules'), 'candidate.yaml');
    fs.writeFileSync(
      rulesFile,
      [
        'rules:',
        '  - { id: tunnel-0-3, metric: water_level, above: 0.3, clearBelow: 0.2, zones: { kind: underpass }, grade: B, category: flooding, department: water-affairs }',
        '  - { id: tunnel-0-4, metric: water_level, above: 0.4, zones: { kind: underpass }, grade: A, category: flooding, department: water-affairs }',
        '  - { id: tunnel-rising, kind: rate, metric: water_level, rise: 0.1, within: 2m, grade: C, category: flooding, department: water-affairs }',
        '',
      ].join('\n'),
    );

    const { stdout } = await run(TSX, [path.join(REPO_ROOT, 'detectors', 'backtest-cli.ts'), '--rules', rulesFile, '--from', new Date(T0).toISOString(), '--to', String(T0 + 3_600_000), '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, STREETWATCH_DATA_DIR: dataDir, STREETWATCH_CONFIG: FIXTURE_CITY, LOG_LEVEL: 'silent' },
    });
    const result = JSON.parse(stdout);
    expect(result.readings).toBe(levels.length);
    // Three rules, one kind of problem (flooding) in one tunnel: one ticket, opened by the
    // first to fire (the rise, 0.1 → 0.28 within 2 minutes).
    expect(result.rows.map((r: { ruleId: string; zoneId: string | null; alerts: number; tickets: number }) => [r.ruleId, r.zoneId, r.alerts, r.tickets])).toEqual([
      ['tunnel-0-3', 'north-tunnel', 1, 0],
      ['tunnel-0-4', 'north-tunnel', 1, 0],
      ['tunnel-rising', 'north-tunnel', 1, 1],
    ]);
    // No state database was created or written: the replay kept its state in memory.
    expect(fs.readdirSync(dataDir).filter((f) => f.startsWith('state'))).toEqual([]);
  });

  it('names the file, path and line of a bad rules file', async () => {
    const rulesFile = path.join(tempDir('backtest-rules'), 'bad.yaml');
    fs.writeFileSync(rulesFile, 'rules:\n  - id: r1\n    kind: rate\n    metric: water_level\n    within: 10m\n    grade: B\n    category: c\n    department: d\n');
    const failed = await run(TSX, [path.join(REPO_ROOT, 'detectors', 'backtest-cli.ts'), '--rules', rulesFile, '--from', '-1h'], {
      cwd: REPO_ROOT,
      env: { ...process.env, STREETWATCH_DATA_DIR: tempDir('backtest-empty'), STREETWATCH_CONFIG: FIXTURE_CITY },
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/SW_ERR_CONFIG_FILE: .*bad\.yaml: rules\[0\]\.rise \(line 2\): a rate rule needs "rise" or "fall"/);
  });
});
