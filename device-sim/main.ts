/**
 * `npm run sim -- --devices N --rate R`: provisions N simulated devices through the API and
 * publishes their telemetry over MQTT. `--hazard <metric>` (or pressing "h") pushes one device
 * over its thresholds so the whole loop, up to the ticket, can be watched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import mqtt, { type MqttClient } from 'mqtt';
import { loadCity } from '../core/city.js';
import { loadConfig } from '../core/config.js';
import { planFleet, type SimDevice } from './fleet.js';
import { MODELS, kindForMetric, seededRandom } from './models.js';

const positive = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};

const program = new Command('sim')
  .description('Simulated StreetWatch devices over MQTT')
  .option('--devices <n>', 'number of devices', positive('--devices'), 20)
  .option('--rate <r>', 'publishes per second per device', positive('--rate'), 0.2)
  .option('--api <url>', 'StreetWatch HTTP API', 'http://127.0.0.1:8080')
  .option('--mqtt <url>', 'StreetWatch MQTT broker', 'mqtt://127.0.0.1:1883')
  .option('--token <token>', 'admin token (default: STREETWATCH_ADMIN_TOKEN, then <data dir>/admin-token)')
  .option('--prefix <prefix>', 'device id prefix', 'sim')
  .option('--seed <n>', 'random seed', positive('--seed'), 1)
  .option('--hazard <metric>', 'push one device over its threshold for this metric (e.g. water_level, smoke, gas_lel, manhole_open)')
  .option('--hazard-after <s>', 'seconds before the hazard starts', positive('--hazard-after'), 5)
  .option('--duration <s>', 'stop after this many seconds (default: run until Ctrl-C)', positive('--duration'));

interface Options {
  devices: number;
  rate: number;
  api: string;
  mqtt: string;
  token?: string;
  prefix: string;
  seed: number;
  hazard?: string;
  hazardAfter: number;
  duration?: number;
}

function adminToken(explicit: string | undefined): string {
  if (explicit) return explicit;
  const config = loadConfig();
  if (config.adminToken) return config.adminToken;
  const file = path.join(config.dataDir, 'admin-token');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    throw new Error(`no admin token: pass --token, set STREETWATCH_ADMIN_TOKEN, or start StreetWatch first (it writes ${file})`);
  }
}

async function provision(api: string, token: string, d: SimDevice): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  let res = await fetch(`${api}/api/devices`, { method: 'POST', headers, body: JSON.stringify({ id: d.id, kind: d.kind, location: d.location }) });
  // Already provisioned by an earlier run: a fresh secret is the only way to get one.
  if (res.status === 409) res = await fetch(`${api}/api/devices/${d.id}/rotate-secret`, { method: 'POST', headers: { authorization: headers.authorization } });
  const body = (await res.json()) as { secret?: string; error?: { code: string; message: string } };
  if (!res.ok || !body.secret) throw new Error(`provisioning ${d.id}: ${res.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`);
  return body.secret;
}

async function main(): Promise<void> {
  const opts = program.parse().opts<Options>();
  const hazardKind = opts.hazard ? kindForMetric(opts.hazard) : undefined;
  if (opts.hazard && !hazardKind) throw new Error(`--hazard ${opts.hazard}: no simulated device reports that metric`);
  const token = adminToken(opts.token);
  const city = loadCity(loadConfig().cityDir);
  const rand = seededRandom(opts.seed);
  const fleet = planFleet(city, Math.floor(opts.devices), opts.prefix, rand);
  const stats = { sent: 0, acked: 0, errors: 0, lastErrors: [] as string[] };
  const hazards = new Set<string>();

  process.stdout.write(`provisioning ${fleet.length} devices through ${opts.api} ...\n`);
  const secrets = new Map<string, string>();
  for (let i = 0; i < fleet.length; i += 20) {
    const chunk = fleet.slice(i, i + 20);
    const got = await Promise.all(chunk.map((d) => provision(opts.api, token, d)));
    chunk.forEach((d, j) => secrets.set(d.id, got[j]!));
  }

  const clients = new Map<string, MqttClient>();
  await Promise.all(
    fleet.map(async (d) => {
      const client = await mqtt.connectAsync(opts.mqtt, {
        clientId: d.id,
        username: d.id,
        password: secrets.get(d.id)!,
        will: { topic: `v1/devices/${d.id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
      });
      client.on('message', (_t, payload) => {
        stats.errors++;
        stats.lastErrors = [`${d.id}: ${payload.toString()}`, ...stats.lastErrors].slice(0, 3);
      });
      await client.subscribeAsync(`v1/devices/${d.id}/errors`, { qos: 1 });
      await client.publishAsync(`v1/devices/${d.id}/status`, 'online', { qos: 1, retain: true });
      clients.set(d.id, client);
    }),
  );
  process.stdout.write(`${clients.size} devices connected to ${opts.mqtt}, ${opts.rate}/s each\n`);

  const startHazard = (): void => {
    const candidates = fleet.filter((d) => d.kind === (hazardKind ?? 'water_level') && !hazards.has(d.id));
    const target = candidates[Math.floor(rand() * candidates.length)];
    if (!target) return;
    hazards.add(target.id);
    process.stdout.write(`hazard: ${target.id} (${target.kind}) in zone ${target.zoneId ?? '-'} at ${target.location.lat},${target.location.lon}\n`);
  };
  if (opts.hazard) setTimeout(startHazard, opts.hazardAfter * 1000).unref();
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.on('data', (key) => {
      if (key.toString() === 'h') startHazard();
      if (key[0] === 3 || key.toString() === 'q') void stop();
    });
    process.stdout.write('press h to start a hazard, q to quit\n');
  }

  const intervalMs = 1000 / opts.rate;
  const timers = fleet.map((d, i) =>
    setTimeout(() => {
      const publish = (): void => {
        const client = clients.get(d.id);
        if (!client?.connected) return;
        const values = MODELS[d.kind].sample(Date.now(), rand, hazards.has(d.id));
        stats.sent++;
        client.publishAsync(`v1/devices/${d.id}/telemetry`, JSON.stringify({ ts: Date.now(), values }), { qos: 1 }).then(
          () => void stats.acked++,
          () => undefined,
        );
      };
      publish();
      timers[i] = setInterval(publish, intervalMs);
    }, (i / fleet.length) * intervalMs),
  );
  const report = setInterval(() => {
    process.stdout.write(`sent ${stats.sent}  acked ${stats.acked}  errors ${stats.errors}  hazards ${hazards.size}\n`);
    for (const e of stats.lastErrors) process.stdout.write(`  ${e}\n`);
    stats.lastErrors = [];
  }, 5000);

  let stopping = false;
  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    for (const t of timers) clearInterval(t);
    clearInterval(report);
    await Promise.all(
      [...clients.entries()].map(async ([id, c]) => {
        await c.publishAsync(`v1/devices/${id}/status`, 'offline', { qos: 1, retain: true }).catch(() => undefined);
        await c.endAsync();
      }),
    );
    process.stdout.write(`done: sent ${stats.sent}, acked ${stats.acked}, errors ${stats.errors}\n`);
    process.exit(0);
  }
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  if (opts.duration) setTimeout(() => void stop(), opts.duration * 1000);
}

main().catch((err: unknown) => {
  process.stderr.write(`sim: ${(err as Error).message}\n`);
  process.exit(1);
});
