import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isStreetWatchError } from './errors.js';
import { watchCity, type CityWatcher } from './city-watch.js';
import { REPO_ROOT } from './config.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'city');

function cityCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-watch-'));
  for (const f of fs.readdirSync(FIXTURE)) fs.copyFileSync(path.join(FIXTURE, f), path.join(dir, f));
  return dir;
}

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function until<T>(probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rulesWith = (threshold: string) =>
  `rules:\n  - id: tunnel-flooding\n    metric: water_level\n    above: ${threshold}\n    zones: { kind: underpass }\n    grade: B\n    category: flooding\n    department: water-affairs\n`;

describe('city hot reload', () => {
  const open: CityWatcher[] = [];
  afterEach(() => open.splice(0).forEach((w) => w.close()));

  it('swaps in an edited, valid city when a file changes', async () => {
    const dir = cityCopy();
    const { logger, lines } = capturingLogger();
    const reloaded: number[] = [];
    const watcher = watchCity({ dir, logger, debounceMs: 20, onReload: (i) => reloaded.push(i.city.rules.length) });
    open.push(watcher);
    const before = watcher.current;
    fs.writeFileSync(path.join(dir, 'rules.yaml'), rulesWith('0.5'));
    await until(() => (watcher.current !== before ? true : undefined));
    expect(watcher.current.city.rules).toMatchObject([{ id: 'tunnel-flooding', above: 0.5 }]);
    expect(reloaded).toEqual([1]);
    expect(lines.some((l) => l.msg === 'city configuration reloaded')).toBe(true);
  });

  it('keeps the city in force when an edit is invalid, and logs file, path and line once', async () => {
    const dir = cityCopy();
    const { logger, lines } = capturingLogger();
    const watcher = watchCity({ dir, logger, debounceMs: 20 });
    open.push(watcher);
    const before = watcher.current;
    fs.writeFileSync(path.join(dir, 'rules.yaml'), rulesWith('high'));
    const rejected = await until(() => lines.find((l) => l.msg?.toString().startsWith('city configuration rejected')));
    expect(rejected).toMatchObject({ level: 50, code: 'SW_ERR_CONFIG_FILE' });
    expect(rejected.reason).toMatch(/rules\.yaml: rules\[0\]\.above \(line 4\): .*expected number/);
    expect(watcher.current).toBe(before);
    // Touching the same bad content again does not log again.
    const r = watcher.reload();
    expect(r.outcome).toBe('rejected');
    expect(isStreetWatchError(r.outcome === 'rejected' ? r.error : undefined, 'SW_ERR_CONFIG_FILE')).toBe(true);
    expect(lines.filter((l) => l.msg?.toString().startsWith('city configuration rejected'))).toHaveLength(1);
    // Fixed: it applies.
    fs.writeFileSync(path.join(dir, 'rules.yaml'), rulesWith('0.4'));
    await until(() => (watcher.current !== before ? true : undefined));
    expect(watcher.current.city.rules).toMatchObject([{ above: 0.4 }]);
  });

  it('reloads zones too, and picks up a file replaced by rename', async () => {
    const dir = cityCopy();
    const { logger } = capturingLogger();
    const watcher = watchCity({ dir, logger, debounceMs: 20 });
    open.push(watcher);
    const zones = JSON.parse(fs.readFileSync(path.join(dir, 'zones.geojson'), 'utf8'));
    zones.features[0].properties.name = '北隧道（改）';
    const tmp = path.join(dir, '.zones.geojson.tmp');
    fs.writeFileSync(tmp, JSON.stringify(zones));
    fs.renameSync(tmp, path.join(dir, 'zones.geojson'));
    await until(() => (watcher.current.zoneById.get('north-tunnel')?.name === '北隧道（改）' ? true : undefined));
  });

  it('does nothing when the content did not change', () => {
    const dir = cityCopy();
    const watcher = watchCity({ dir, logger: capturingLogger().logger });
    open.push(watcher);
    fs.utimesSync(path.join(dir, 'rules.yaml'), new Date(), new Date());
    expect(watcher.reload()).toEqual({ outcome: 'unchanged' });
  });
});
