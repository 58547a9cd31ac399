/**
 * `npm run sim`: simulated devices over MQTT, from a scenario file or a mixed fleet.
 * `npm run record -- --out f.jsonl`: the same, writing every publish to a recording.
 *
 *   npm run sim -- --devices 50 --hazard smoke
 *   npm run sim -- --scenario device-sim/scenarios/tianhe-rainstorm.yaml --speed 30
 *   npm run record -- --out storm.jsonl --scenario device-sim/scenarios/tianhe-rainstorm.yaml --speed max
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolveAdminToken } from '../api/client.js';
import { loadCity } from '../core/city.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS, loadConfig } from '../core/config.js';
import { StreetWatchError } from '../core/errors.js';
import { parseDurationArg, parsePositiveInt, parseSpeed, parseTime } from './cli-options.js';
import { formatCount, formatSeconds } from './progress.js';
import { DEFAULT_MAX_INFLIGHT, runSimulation, type SimulationResult } from './runner.js';
import { loadScenario, type Scenario } from './scenario.js';

interface SimOptions {
  scenario?: string;
  devices?: number;
  speed: number;
  seed?: number;
  start?: number;
  duration?: number;
  interval?: number;
  rate?: number;
  city?: string;
  api?: string;
  mqtt?: string;
  token?: string;
  prefix: string;
  hazard?: string;
  hazardAfter: number;
  maxInflight: number;
  progress: boolean;
  out?: string;
}

function withSimOptions(cmd: Command): Command {
  return cmd
    .option('--scenario <file>', 'a scenario YAML file (see device-sim/scenarios/)')
    .option('--devices <n>', 'fleet size when the scenario describes no fleet (default 20)', parsePositiveInt)
    .option('--speed <x>', 'simulated seconds per real second, or "max"', parseSpeed, 1)
    .option('--seed <n>', 'random seed: the same seed and scenario send the same data (default: the scenario\'s, else 1)', parsePositiveInt)
    .option('--start <time>', 'simulated start: now, epoch ms or RFC 3339 (default: now, or one duration ago when --speed > 1)', parseTime)
    .option('--duration <d>', 'simulated length, e.g. 30m (default: the scenario\'s; without one, until stopped)', parseDurationArg)
    .option('--interval <d>', 'simulated time between two reports of each device (default: per kind)', parseDurationArg)
    .addOption(new Option('--rate <r>', 'reports per simulated second per device (the inverse of --interval)').argParser(positiveNumber).conflicts('interval'))
    .option('--city <dir>', 'city configuration the fleet is placed in (default: STREETWATCH_CONFIG)')
    .option('--api <url>', 'StreetWatch HTTP API (default: http://127.0.0.1:HTTP_PORT)')
    .option('--mqtt <url>', 'StreetWatch MQTT broker (default: mqtt://127.0.0.1:MQTT_PORT)')
    .option('--token <token>', 'admin token (default: STREETWATCH_ADMIN_TOKEN, then <data dir>/admin-token)')
    .option('--prefix <prefix>', 'device id prefix', 'sim')
    .option('--hazard <metric>', 'push one device reporting this metric over its thresholds (water_level, smoke, gas_lel, manhole_open...)')
    .option('--hazard-after <d>', 'simulated time before the hazard starts', parseDurationArg, 5000)
    .option('--max-inflight <n>', 'unacknowledged publishes at most, across the fleet', parsePositiveInt, DEFAULT_MAX_INFLIGHT)
    .option('--no-progress', 'no progress bar');
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

async function simulate(o: SimOptions): Promise<void> {
  const config = loadConfig();
  const city = loadCity(o.city ?? config.cityDir);
  const scenario: Scenario = o.scenario ? loadScenario(o.scenario) : { name: 'mixed fleet', durationMs: undefined, background: { dropout: 0, faults: 0 }, timeline: [] };
  if (o.duration !== undefined) scenario.durationMs = o.duration;
  const intervalMs = o.interval ?? (o.rate !== undefined ? Math.max(1000, Math.round(1000 / o.rate)) : undefined);
  if (o.speed > 1 && scenario.durationMs === undefined) {
    throw new InvalidArgumentError('--speed above 1 needs a --duration (or a scenario with one): compressed time would run into the future, and the platform refuses future readings');
  }
  // Compressed runs happen in the recent past, so that no reading is ever ahead of the clock.
  const start = o.start ?? (o.speed > 1 ? Date.now() - scenario.durationMs! : Date.now());
  if (scenario.durationMs !== undefined && start + scenario.durationMs > Date.now() + DEFAULT_MAX_CLOCK_SKEW_MS && o.speed > 1) {
    process.stderr.write(`warning: the run ends after the current time; readings stamped in the future will be refused\n`);
  }
  const seed = o.seed ?? scenario.seed ?? 1;
  const controller = new AbortController();
  let interrupted = 0;
  const interrupt = (): void => {
    if (++interrupted > 1) process.exit(130);
    process.stderr.write('\nstopping: waiting for acknowledgements (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  const result: SimulationResult = await runSimulation({
    api: o.api ?? `http://127.0.0.1:${config.http.port}`,
    mqtt: o.mqtt ?? `mqtt://127.0.0.1:${config.mqtt.port}`,
    token: resolveAdminToken(o.token, config),
    city,
    scenario,
    devices: o.devices,
    seed,
    speed: o.speed,
    start,
    prefix: o.prefix,
    intervalMs,
    hazard: o.hazard ? { metric: o.hazard, afterMs: o.hazardAfter } : undefined,
    recordTo: o.out,
    progress: o.progress,
    maxInflight: o.maxInflight,
    signal: controller.signal,
    log: (line) => process.stderr.write(`${line}\n`),
    onRunning: ({ hazardNow }) => {
      if (!process.stdin.isTTY) return;
      process.stdin.setRawMode(true);
      process.stdin.on('data', (key) => {
        const k = key.toString();
        if (k === 'h') process.stderr.write(`\nhazard: ${hazardNow() ?? 'no device to push'}\n`);
        if (k === 'q' || key[0] === 3) interrupt();
      });
      process.stderr.write('press h to start a hazard, q to stop\n');
    },
  });
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  process.stdin.pause();
  process.stdout.write(
    `done: ${result.devices} devices, sent ${formatCount(result.sent)}, acked ${formatCount(result.acked)}, rejected ${formatCount(result.rejected)}, failed ${formatCount(result.failed)}; ` +
      `${formatSeconds(result.simulatedMs / 1000)} simulated in ${formatSeconds(result.publishMs / 1000)} (${formatCount(result.messagesPerSecond)} msg/s)` +
      `${o.out ? `; recorded to ${o.out}` : ''}\n`,
  );
  for (const e of result.lastErrors) process.stdout.write(`  ${e}\n`);
}

const program = new Command('sim').description('Simulated StreetWatch devices over MQTT');
withSimOptions(program.command('run', { isDefault: true }).description('simulate devices (the default)')).action((o: SimOptions) => simulate(o));
withSimOptions(program.command('record').description('simulate devices and record every publish to a JSON-lines file for replay'))
  .requiredOption('--out <file>', 'the recording to write')
  .action((o: SimOptions) => simulate(o));

program.parseAsync().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof StreetWatchError) process.stderr.write(`sim: ${err.code}: ${typeof err.details === 'string' ? err.details : err.message}\n`);
    else process.stderr.write(`sim: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
