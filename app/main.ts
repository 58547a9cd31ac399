/**
 * `npm start`: the whole pipeline in one process on the embedded default, or, with
 * `--stages` (or STREETWATCH_STAGES) and the services in the environment, some of its stages
 * as one process of a distributed deployment.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { REPO_ROOT, STAGES, loadConfig, modeOf, parseStages } from '../core/config.js';
import { StreetWatchError } from '../core/errors.js';
import { startPlatform, type Platform } from './platform.js';

const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

const program = new Command('streetwatch')
  .description('StreetWatch: MQTT devices to geofenced rules to tickets for street sub-centers')
  .version(version)
  .option('--stages <list>', `stages this process runs, comma-separated: ${STAGES.join(',')} (default: STREETWATCH_STAGES, else all)`, (v) => {
    try {
      return parseStages(v).join(',');
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });

function banner(p: Platform, startedInMs: number): string {
  const { city } = p.city;
  const rel = (f: string): string => {
    const r = path.relative(process.cwd(), f);
    return r && !r.startsWith('..') ? r : f;
  };
  const host = (h: string): string => (h === '0.0.0.0' || h === '::' ? 'localhost' : h);
  const lines = [
    `StreetWatch ${version} · ${modeOf(p.config)} · stages: ${p.stages.join(', ')} · ready in ${startedInMs} ms`,
    p.mqttPort !== undefined ? `  MQTT    mqtt://${host(p.config.mqtt.host)}:${p.mqttPort}` : undefined,
    p.httpPort !== undefined ? `  HTTP    http://${host(p.config.http.host)}:${p.httpPort}` : undefined,
    `  City    ${city.name} (${rel(city.dir)}): ${city.subcenters.length} sub-centers, ${city.zones.length} zones, ${city.rules.length} rules`,
    ...p.services.map((s) => `  ${s.label.padEnd(8)}${s.target}${p.config.namespace ? ` (namespace ${p.config.namespace})` : ''}`),
    p.usesDataDir ? `  Data    ${rel(p.config.dataDir)}` : undefined,
    p.httpPort !== undefined ? `  Admin   ${p.adminTokenFile ? `token in ${rel(p.adminTokenFile)}` : 'token from STREETWATCH_ADMIN_TOKEN'}` : undefined,
    p.operatorToken !== undefined ? `  Flows   operator token ${p.operatorTokenFile ? `in ${rel(p.operatorTokenFile)}` : 'from STREETWATCH_OPERATOR_TOKEN'} (npm run flows)` : undefined,
  ];
  return `${lines.filter(Boolean).join('\n')}\n`;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const cli = program.parse().opts<{ stages?: string }>();
  // A signal while the services are still being reached ends start-up cleanly.
  const starting = new AbortController();
  const early = (): void => starting.abort(new Error('stopped before start-up completed'));
  process.once('SIGINT', early);
  process.once('SIGTERM', early);

  let platform: Platform;
  try {
    const config = loadConfig(cli.stages ? { ...process.env, STREETWATCH_STAGES: cli.stages } : process.env);
    platform = await startPlatform({ config, signal: starting.signal });
  } catch (err) {
    if (starting.signal.aborted) process.exit(0);
    if (err instanceof StreetWatchError) {
      process.stderr.write(`streetwatch: ${err.code}: ${err.message}\n`);
      process.exit(1);
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`streetwatch: ${(err as Error).message}: set MQTT_PORT / HTTP_PORT to free ports\n`);
      process.exit(1);
    }
    throw err;
  }
  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  if (starting.signal.aborted) {
    await platform.stop();
    process.exit(0);
  }
  process.stdout.write(banner(platform, Math.round(performance.now() - t0)));

  const stop = (signal: string): void => {
    // Drain: the broker stops taking publishes, each consumer finishes the batch in hand and
    // commits it, then the connections close.
    platform.logger.info({ signal }, 'shutting down');
    platform.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        platform.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

await main();
