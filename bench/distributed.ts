/**
 * `npm run bench:distributed`: readings per second through the distributed pipeline on this
 * machine. Broker, ingest, detectors and alerting run as separate Node processes connected by
 * Kafka, InfluxDB and Redis (from the environment, else infra/local/up); simulated devices of
 * the demo city publish QoS 1 telemetry over MQTT as fast as the broker acknowledges it. The
 * clock stops when InfluxDB, queried with Flux, holds every reading.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { flux } from '@influxdata/influxdb-client';
import { Command, InvalidArgumentError } from 'commander';
import mqtt, { type MqttClient } from 'mqtt';
import { generateSecret, hashSecret } from '../broker/secret-hash.js';
import { loadCity } from '../core/city.js';
import { DEFAULT_CITY_DIR } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { RedisStateStore } from '../core/store/redis-state.js';
import { planFleet, type FleetSpec } from '../device-sim/fleet.js';
import { CALM } from '../device-sim/incidents.js';
import { MODELS, type DeviceKind } from '../device-sim/models.js';
import { seededRandom } from '../device-sim/random.js';
import { distributedEnv, dropNamespace, measurementOf, testNamespace } from '../test/support/namespace.js';
import { fluxRows, spawnStages, type StageProcess } from '../test/support/distributed.js';
import { provisionServices } from '../test/support/services.js';

const count = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

const program = new Command('bench:distributed')
  .description('Readings per second through broker, ingest, detectors and alerting on Kafka, InfluxDB and Redis')
  .option('--devices <n>', 'simulated devices', count('--devices'), 50)
  .option('--publishes <n>', 'QoS 1 publishes in all (each carries one telemetry object of a few metrics)', count('--publishes'), 20_000)
  .option('--window <n>', 'publishes each device keeps in flight', count('--window'), 8)
  .option('--ingest <n>', 'ingest processes (one consumer group)', count('--ingest'), 1)
  .option('--detectors <n>', 'detectors processes (one consumer group)', count('--detectors'), 1);

interface Options {
  devices: number;
  publishes: number;
  window: number;
  ingest: number;
  detectors: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const say = (line: string): boolean => process.stdout.write(`${line}\n`);
const rate = (n: number, ms: number): string => `${Math.round((n * 1000) / ms).toLocaleString('en')}/s`;

async function main(): Promise<void> {
  const opts = program.parse().opts<Options>();
  const services = await provisionServices(process.env, say);
  if (!services.env) throw new Error('the benchmark needs Kafka, InfluxDB and Redis');
  const svc = services.env;
  const namespace = testNamespace('swbench');
  const env = { ...distributedEnv(svc, namespace), STREETWATCH_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sw-bench-')) };
  const processes: StageProcess[] = [];
  const clients: MqttClient[] = [];
  const state = new RedisStateStore({ url: svc.REDIS_URL, namespace, logger: createLogger('warn') });

  try {
    const city = loadCity(DEFAULT_CITY_DIR);
    // The sensor kinds: each publish is one telemetry object of readings (cameras send events).
    const kinds: DeviceKind[] = ['water_level', 'smoke', 'gas', 'manhole', 'air', 'weather'];
    const specs: FleetSpec[] = kinds.map((kind, i) => ({ kind, count: Math.floor(opts.devices / kinds.length) + (i < opts.devices % kinds.length ? 1 : 0) }));
    const fleet = planFleet(city, specs.filter((f) => f.count > 0), 'bench', seededRandom(1));
    await state.connect();
    const secrets = new Map<string, string>();
    for (const d of fleet) {
      const secret = generateSecret();
      secrets.set(d.id, secret);
      await state.devices.add({ id: d.id, kind: d.kind, location: d.location, secretHash: await hashSecret(secret), createdAt: Date.now(), status: 'unknown', lastSeen: null });
    }

    const mqttPort = await freePort();
    // The per-device publish limit is a defence, not what this measures: lifted here.
    processes.push(spawnStages('broker', { ...env, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), MQTT_PUBLISH_RATE: '1000000', MQTT_PUBLISH_BURST: '1000000' }));
    for (let i = 0; i < opts.ingest; i++) processes.push(spawnStages('ingest', env));
    for (let i = 0; i < opts.detectors; i++) processes.push(spawnStages('detectors', env));
    processes.push(spawnStages('alerting', env));
    await Promise.all(processes.map((p) => p.ready));
    say(`${processes.length} processes up (broker, ${opts.ingest} ingest, ${opts.detectors} detectors, alerting), namespace ${namespace}`);

    for (const d of fleet) {
      clients.push(
        await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: d.id, username: d.id, password: secrets.get(d.id)!, reconnectPeriod: 0 }),
      );
    }

    // Payloads are made up front so that the clock measures the pipeline, not JSON.stringify.
    const rand = seededRandom(2);
    const perDevice = Math.ceil(opts.publishes / fleet.length);
    const t0 = Date.now() - perDevice - 60_000;
    let readings = 0;
    const payloads = fleet.map((d) => {
      const model = MODELS[d.kind];
      const device = model.init(d.id, { zoneKind: d.zoneKind, zoneTags: d.zoneTags }, rand, t0);
      // One millisecond apart: every reading has its own (device, metric, time).
      return Array.from({ length: perDevice }, (_, i) => {
        const [publication] = model.step(device, t0 + i, CALM, rand);
        readings += Object.keys((JSON.parse(publication!.payload) as { values: object }).values).length;
        return publication!.payload;
      });
    });
    const publishes = perDevice * fleet.length;
    say(`${fleet.length} devices connected; publishing ${publishes.toLocaleString('en')} telemetry messages (${readings.toLocaleString('en')} readings), ${opts.window} in flight per device`);

    const start = performance.now();
    let acked = 0;
    const progress = setInterval(() => say(`  acknowledged ${acked.toLocaleString('en')} / ${publishes.toLocaleString('en')}`), 5_000);
    await Promise.all(
      clients.map(async (c, d) => {
        const topic = `v1/devices/${fleet[d]!.id}/telemetry`;
        let next = 0;
        await Promise.all(
          Array.from({ length: opts.window }, async () => {
            while (next < perDevice) {
              const payload = payloads[d]![next++]!;
              await c.publishAsync(topic, payload, { qos: 1 });
              acked++;
            }
          }),
        );
      }),
    );
    const ackedMs = performance.now() - start;
    clearInterval(progress);

    const stored = async (): Promise<number> => {
      const [row] = await fluxRows<{ _value: number }>(
        svc,
        flux`from(bucket: ${svc.INFLUX_BUCKET})
          |> range(start: ${new Date(t0 - 1_000)}, stop: ${new Date(t0 + perDevice + 1_000)})
          |> filter(fn: (r) => r._measurement == ${measurementOf(namespace)} and r._field == "value")
          |> group()
          |> count()`,
      );
      return row?._value ?? 0;
    };
    // Stops, with what the stages said, when InfluxDB gains nothing for a minute.
    let inInflux = 0;
    let lastSaid = performance.now();
    let progressAt = performance.now();
    let before = -1;
    while ((inInflux = await stored()) < readings) {
      if (inInflux !== before) [before, progressAt] = [inInflux, performance.now()];
      if (performance.now() - progressAt > 60_000) {
        for (const p of processes) say(p.output());
        throw new Error(`stalled: ${inInflux} of ${readings} readings in InfluxDB, none more for 60 s`);
      }
      if (performance.now() - lastSaid > 5_000) {
        say(`  stored ${inInflux.toLocaleString('en')} / ${readings.toLocaleString('en')} readings`);
        lastSaid = performance.now();
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const storedMs = performance.now() - start;

    say('');
    say(`MQTT publishes acknowledged (in Kafka): ${publishes.toLocaleString('en')} in ${(ackedMs / 1000).toFixed(1)} s = ${rate(publishes, ackedMs)}`);
    say(`readings stored in InfluxDB:            ${readings.toLocaleString('en')} in ${(storedMs / 1000).toFixed(1)} s = ${rate(readings, storedMs)} (first publish to last point readable)`);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await state.close();
    await dropNamespace(svc, namespace);
    await services.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
