/**
 * `npm run replay -- f.jsonl --speed 20`: replays a recording (or a CSV of readings,
 * `ts,deviceId,metric,value`) over MQTT with a progress bar and the time left.
 */
import { Command } from 'commander';
import { resolveAdminToken } from '../api/client.js';
import { loadConfig } from '../core/config.js';
import { StreetWatchError } from '../core/errors.js';
import { parsePositiveInt, parseSpeed } from './cli-options.js';
import { formatCount, formatSeconds } from './progress.js';
import { runReplay } from './replayer.js';

const program = new Command('replay')
  .description('Replay recorded device publishes (a recording .jsonl, or a .csv with ts,deviceId,metric,value) over MQTT')
  .argument('<file>', 'recording (.jsonl) or CSV (.csv)')
  .option('--speed <x>', 'recorded seconds per real second, or "max"', parseSpeed, 1)
  .option('--api <url>', 'StreetWatch HTTP API (default: http://127.0.0.1:HTTP_PORT)')
  .option('--mqtt <url>', 'StreetWatch MQTT broker (default: mqtt://127.0.0.1:MQTT_PORT)')
  .option('--token <token>', 'admin token (default: STREETWATCH_ADMIN_TOKEN, then <data dir>/admin-token)')
  .option('--rotate-existing', 'issue new secrets to devices that already exist, to connect as them (locks the real devices out)')
  .option('--max-inflight <n>', 'unacknowledged publishes at most', parsePositiveInt, 2000)
  .option('--no-progress', 'no progress bar')
  .action(async (file: string, o: { speed: number; api?: string; mqtt?: string; token?: string; rotateExisting?: boolean; maxInflight: number; progress: boolean }) => {
    const config = loadConfig();
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    const r = await runReplay({
      file,
      api: o.api ?? `http://127.0.0.1:${config.http.port}`,
      mqtt: o.mqtt ?? `mqtt://127.0.0.1:${config.mqtt.port}`,
      token: resolveAdminToken(o.token, config),
      speed: o.speed,
      rotateExisting: o.rotateExisting ?? false,
      progress: o.progress,
      maxInflight: o.maxInflight,
      signal: controller.signal,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(
      `done: ${r.devices} devices, published ${formatCount(r.published)}, acked ${formatCount(r.acked)}, rejected ${formatCount(r.rejected)}, failed ${formatCount(r.failed)}; ` +
        `${formatSeconds(r.recordedMs / 1000)} recorded, replayed in ${formatSeconds(r.wallMs / 1000)} (${formatCount(r.messagesPerSecond)} msg/s)\n`,
    );
    for (const e of r.lastErrors) process.stdout.write(`  ${e}\n`);
  });

program.parseAsync().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof StreetWatchError) process.stderr.write(`replay: ${err.code}: ${typeof err.details === 'string' ? err.details : err.message}\n`);
    else process.stderr.write(`replay: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
