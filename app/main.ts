/**
 * `npm start`: the whole pipeline in one process on the embedded default.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, loadConfig } from '../core/config.js';
import { StreetWatchError } from '../core/errors.js';
import { startPlatform, type Platform } from './platform.js';

const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

function banner(p: Platform, startedInMs: number): string {
  const { city } = p.city;
  const rel = (f: string): string => {
    const r = path.relative(process.cwd(), f);
    return r && !r.startsWith('..') ? r : f;
  };
  const host = (h: string): string => (h === '0.0.0.0' || h === '::' ? 'localhost' : h);
  const lines = [
    `StreetWatch ${version} · embedded · stages: ${p.stages.join(', ')} · ready in ${startedInMs} ms`,
    p.mqttPort !== undefined ? `  MQTT    mqtt://${host(p.config.mqtt.host)}:${p.mqttPort}` : undefined,
    p.httpPort !== undefined ? `  HTTP    http://${host(p.config.http.host)}:${p.httpPort}` : undefined,
    `  City    ${city.name} (${rel(city.dir)}): ${city.subcenters.length} sub-centers, ${city.zones.length} zones, ${city.rules.length} rules`,
    `  Data    ${rel(p.config.dataDir)}`,
    `  Admin   ${p.adminTokenFile ? `token in ${rel(p.adminTokenFile)}` : 'token from STREETWATCH_ADMIN_TOKEN'}`,
    p.operatorToken !== undefined ? `  Flows   operator token ${p.operatorTokenFile ? `in ${rel(p.operatorTokenFile)}` : 'from STREETWATCH_OPERATOR_TOKEN'} (npm run flows)` : undefined,
  ];
  return `${lines.filter(Boolean).join('\n')}\n`;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  let platform: Platform;
  try {
    platform = await startPlatform({ config: loadConfig() });
  } catch (err) {
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
  process.stdout.write(banner(platform, Math.round(performance.now() - t0)));

  const stop = (signal: string): void => {
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
