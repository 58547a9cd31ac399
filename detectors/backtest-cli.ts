/**
 * `npm run backtest -- --rules <file> --from <time> --to <time>`: what a rules file would have
 * fired on the stored history, per rule and zone, without touching live state. The history (the
 * data directory, or InfluxDB when INFLUX_URL is set) and the city (its zones) come from the
 * same environment as `npm start`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { loadCity, loadRules } from '../core/city.js';
import { CityIndex } from '../core/city-index.js';
import { loadConfig } from '../core/config.js';
import { parseDuration } from '../core/duration.js';
import { StreetWatchError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { openSeriesStore } from '../core/store/open-series.js';
import { backtest, type BacktestResult } from './backtest.js';

/**
 * A point in time: epoch milliseconds, an RFC 3339 date-time, `now`, or a duration ago
 * (`-24h`, `now-7d`).
 */
export function parseTime(text: string, now = Date.now()): number {
  const t = text.trim();
  if (t === 'now') return now;
  const ago = /^(?:now)?-(.+)$/.exec(t);
  if (ago) {
    const ms = parseDuration(ago[1]!);
    if (ms !== undefined) return now - ms;
  }
  if (/^\d+$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`"${text}" is not a time: use RFC 3339 (2026-07-01T08:00:00+08:00), epoch ms, "now" or "-24h"`);
  return ms;
}

const duration = (v: string): number => {
  const ms = parseDuration(v);
  if (ms === undefined) throw new InvalidArgumentError(`"${v}" is not a duration like "30m" or "2h"`);
  return ms;
};

export function formatReport(r: BacktestResult, rulesFile: string): string {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const header = ['rule', 'kind', 'zone', 'alerts', 'resolved', 'tickets'];
  const zone = (row: BacktestResult['rows'][number]): string => row.zoneId ?? (row.alerts + row.resolved > 0 ? '(outside zones)' : '-');
  const body = r.rows.map((row) => [row.ruleId, row.kind, zone(row), String(row.alerts), String(row.resolved), String(row.tickets)]);
  const total = ['total', '', '', ...(['alerts', 'resolved', 'tickets'] as const).map((k) => String(r.rows.reduce((n, row) => n + row[k], 0)))];
  const table = [header, ...body, total];
  const widths = header.map((_, i) => Math.max(...table.map((line) => [...line[i]!].length)));
  const fmt = (line: string[]): string =>
    line.map((cell, i) => (i >= 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [
    `backtest of ${rulesFile}`,
    `${iso(r.from)} → ${iso(r.to)}: ${r.readings} readings replayed`,
    ...(r.byResolution['5m'] || r.byResolution['1h']
      ? [`  where the raw readings are pruned, from roll-ups: ${(['5m', '1h'] as const).filter((x) => r.byResolution[x]).map((x) => `${r.byResolution[x]} from ${x} steps`).join(', ')} (peaks kept; durations and rates only as fine as a step)`]
      : []),
    '',
    fmt(header),
    ...body.map(fmt),
    fmt(total),
  ];
  for (const s of r.skipped) lines.push('', `not replayed: ${s.ruleId} (${s.reason})`);
  lines.push('', 'Tickets: alerts merge by alerting\'s merge key (kind of problem and zone, or device); a ticket counts as closed once its alerts resolved and the hold passed. Real tickets also wait for their holder and merge nearby alerts: an upper bound.');
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const program = new Command('backtest')
    .description('Replay stored readings through a rules file and count the alerts and tickets it would have produced')
    .option('--rules <file>', 'rules file to try (default: the city’s rules.yaml)')
    .requiredOption('--from <time>', 'start: RFC 3339, epoch ms, or a duration ago like -24h', (v) => parseTime(v))
    .option('--to <time>', 'end (exclusive)', (v) => parseTime(v), Date.now())
    .option('--hold <duration>', 'how long a ticket stays open after its alerts resolved (default: the SLA holdFor)', duration)
    .option('--json', 'print the result as JSON');
  program.parse();
  const opts = program.opts<{ rules?: string; from: number; to: number; hold?: number; json?: boolean }>();
  if (opts.to <= opts.from) program.error('--to must be after --from');

  const config = loadConfig();
  const city = loadCity(config.cityDir);
  const rulesFile = path.resolve(opts.rules ?? path.join(config.cityDir, 'rules.yaml'));
  const rules = loadRules(rulesFile, city.zones, city.categories);
  if (!config.influx && !fs.existsSync(path.join(config.dataDir, 'readings.db'))) {
    throw new StreetWatchError('SW_ERR_CONFIG_ENV', ['STREETWATCH_DATA_DIR', `no stored readings in ${config.dataDir}`]);
  }
  // The history where the deployment keeps it: InfluxDB (Flux queries) when INFLUX_URL is set.
  const series = await openSeriesStore(config, createLogger(config.logLevel));
  try {
    const result = await backtest({ series, city: new CityIndex({ ...city, rules }), from: opts.from, to: opts.to, holdMs: opts.hold });
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result, path.relative(process.cwd(), rulesFile) || rulesFile));
  } finally {
    await series.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    if (err instanceof StreetWatchError) {
      process.stderr.write(`backtest: ${err.code}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  });
}
