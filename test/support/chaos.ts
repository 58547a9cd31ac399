/**
 * Fault injection for the chaos suites (test/chaos): private Kafka, InfluxDB and Redis servers a
 * suite may stop and start without disturbing the suites that share the run's services, and
 * devices that keep publishing through the faults and record what the broker acknowledged.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { flux } from '@influxdata/influxdb-client';
import { Kafka, logLevel } from 'kafkajs';
import mqtt, { type MqttClient } from 'mqtt';
import { REPO_ROOT } from '../../core/config.js';
import { expect } from 'vitest';
import type { Ticket } from '../../core/schemas.js';
import { fluxRows } from './distributed.js';
import { measurementOf } from './namespace.js';
import { freePort, localUp, type ServiceEnv, type ServiceName } from './services.js';
import { tempDir, waitFor, type TestPlatform } from './harness.js';
import type { IdempotentReceiver } from './webhook-receiver.js';

/**
 * True when infra/local can start servers here without Docker: the programs it runs are
 * installed and the InfluxDB build is cached (or Go is there to build it). Under CI the chaos
 * suites must run, so they do not consult this there.
 */
export function localInfraRunnable(): boolean {
  const probe = spawnSync('bash', ['-c', 'command -v java && command -v redis-server && command -v flock && command -v setsid && command -v curl'], { stdio: 'ignore' });
  if (probe.status !== 0) return false;
  const cache = process.env.STREETWATCH_CACHE ?? path.join(process.env.HOME ?? '', '.cache', 'streetwatch');
  return fs.existsSync(path.join(cache, 'influxdb-1.8.10', 'bin', 'influxd')) || spawnSync('bash', ['-c', 'command -v go'], { stdio: 'ignore' }).status === 0;
}

/** Whether the chaos suites run: always under CI, elsewhere when the shared services and infra/local are there. */
export function chaosRunnable(services: ServiceEnv | null): boolean {
  if (process.env.CI) return true;
  return services !== null && localInfraRunnable();
}

const PORT_VARIABLES: Record<ServiceName, string[]> = {
  kafka: ['KAFKA_PORT', 'KAFKA_CONTROLLER_PORT'],
  influxdb: ['INFLUX_PORT', 'INFLUX_RPC_PORT'],
  redis: ['REDIS_PORT'],
};

export interface PrivateServices {
  /** The shared services with the private ones in their place. */
  readonly env: ServiceEnv;
  /** Stops a private service the way an operator does (infra/local/down: SIGTERM, then SIGKILL). */
  stop(svc: ServiceName): Promise<void>;
  /** Starts it again on the same ports and data, and waits until it answers. */
  start(svc: ServiceName): Promise<void>;
  /** Stops every private service and deletes its state. */
  close(): Promise<void>;
}

/**
 * Starts private instances of some services through infra/local/up: their own state directory
 * and free ports, the shared download cache. The other services stay the shared ones.
 */
export async function startPrivateServices(shared: ServiceEnv, names: readonly ServiceName[]): Promise<PrivateServices> {
  const state = tempDir('local');
  const scriptEnv: Record<string, string> = { STREETWATCH_LOCAL_STATE: state };
  for (const svc of names) for (const v of PORT_VARIABLES[svc]) scriptEnv[v] = String(await freePort());
  const run = (script: 'down', args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      execFile(path.join(REPO_ROOT, 'infra', 'local', script), args, { env: { ...process.env, ...scriptEnv }, timeout: 120_000 }, (err, _out, stderr) =>
        err ? reject(new Error(`infra/local/${script} ${args.join(' ')} failed: ${err.message}\n${stderr}`)) : resolve(),
      );
    });
  let started: Partial<ServiceEnv>;
  try {
    started = await localUp(names, scriptEnv);
  } catch (err) {
    // What did start must not outlive the suite that wanted it.
    await run('down', ['--purge', ...names]).catch(() => undefined);
    fs.rmSync(state, { recursive: true, force: true });
    throw err;
  }
  const env: ServiceEnv = { ...shared, ...started };
  return {
    env,
    stop: (svc) => run('down', [svc]),
    start: async (svc) => void (await localUp([svc], scriptEnv)),
    close: async () => {
      await run('down', ['--purge', ...names]);
      fs.rmSync(state, { recursive: true, force: true });
    },
  };
}

/** Points stored in the namespace's measurement for devices whose id starts with a prefix. */
export async function countPoints(services: ServiceEnv, measurement: string, devicePrefix: string, from: number, to: number): Promise<number> {
  const device = new RegExp(`^${devicePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  const [row] = await fluxRows<{ _value: number }>(
    services,
    flux`from(bucket: ${services.INFLUX_BUCKET})
      |> range(start: ${new Date(from)}, stop: ${new Date(to)})
      |> filter(fn: (r) => r._measurement == ${measurement} and r.device =~ ${device} and r._field == "value")
      |> group()
      |> count()`,
  );
  return row?._value ?? 0;
}

export interface DeviceStream {
  /** Publishes the broker acknowledged (PUBACK), by device. */
  readonly acked: Map<string, number>;
  /** Total acknowledged. */
  ackedTotal(): number;
  /** Resolves when every device acknowledged its last reading. */
  readonly done: Promise<void>;
  /** Publishes that failed and were sent again. */
  resent(): number;
  stop(): Promise<void>;
}

/**
 * How long a device waits for a PUBACK before it gives up on the connection and sends again,
 * as devices do: longer than the broker's hand-off to Kafka takes through a broker restart.
 */
const PUBACK_TIMEOUT_MS = 60_000;

/**
 * Devices that publish `count` readings each at QoS 1, one in flight per device, with device
 * timestamps `t0 + i * stepMs`. A publish that fails (the connection closed without a PUBACK:
 * the broker could not hand it to the pipeline) or stays unanswered is sent again on a new
 * connection, as a device does; so every reading ends up acknowledged, and an acknowledged reading may have been
 * received more than once.
 */
export function streamReadings(opts: {
  mqttUrl: string;
  devices: readonly { id: string; secret: string }[];
  metric: string;
  value: (device: number, i: number) => number;
  count: number;
  t0: number;
  stepMs: number;
  /** Waits before each publish: paces the stream so faults land mid-stream. Default 0. */
  paceMs?: number;
}): DeviceStream {
  const acked = new Map<string, number>(opts.devices.map((d) => [d.id, 0]));
  let resent = 0;
  let stopped = false;
  const clients = new Set<MqttClient>();
  const connect = async (id: string, secret: string): Promise<MqttClient> => {
    for (;;) {
      try {
        // No retries: a connection a load balancer accepts and then closes (its node is gone)
        // must fail the attempt, not leave it waiting for a reconnection that never comes.
        const c = await mqtt.connectAsync(opts.mqttUrl, { clientId: id, username: id, password: secret, reconnectPeriod: 0, connectTimeout: 5_000 }, false);
        clients.add(c);
        return c;
      } catch (err) {
        if (stopped) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const run = async (d: { id: string; secret: string }, n: number): Promise<void> => {
    let client = await connect(d.id, d.secret);
    for (let i = 0; i < opts.count && !stopped; ) {
      if (opts.paceMs) await new Promise((r) => setTimeout(r, opts.paceMs));
      const payload = JSON.stringify({ ts: opts.t0 + i * opts.stepMs, values: { [opts.metric]: opts.value(n, i) } });
      try {
        if (!client.connected) throw new Error('disconnected');
        const puback = client.publishAsync(`v1/devices/${d.id}/telemetry`, payload, { qos: 1 });
        puback.catch(() => undefined);
        let timer: NodeJS.Timeout | undefined;
        let onClose: (() => void) | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no PUBACK')), PUBACK_TIMEOUT_MS);
          // A connection that ends brings no PUBACK any more (mqtt.js would keep the publish
          // for a reconnection these clients do not make).
          onClose = () => reject(new Error('connection closed before the PUBACK'));
          client.once('close', onClose);
        });
        try {
          await Promise.race([puback, late]);
        } finally {
          clearTimeout(timer);
          client.off('close', onClose!);
        }
        acked.set(d.id, acked.get(d.id)! + 1);
        i++;
      } catch {
        if (stopped) return;
        resent++;
        clients.delete(client);
        await client.endAsync(true).catch(() => undefined);
        client = await connect(d.id, d.secret);
      }
    }
    clients.delete(client);
    await client.endAsync().catch(() => undefined);
  };
  const done = Promise.all(opts.devices.map((d, n) => run(d, n))).then(() => undefined);
  done.catch(() => undefined);
  return {
    acked,
    ackedTotal: () => [...acked.values()].reduce((a, b) => a + b, 0),
    done,
    resent: () => resent,
    async stop() {
      stopped = true;
      await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => undefined)));
      await done.catch(() => undefined);
    },
  };
}

/** Places in a sub-center, outside every zone, more than the merge radius apart: one ticket each. */
export function scatteredPlaces(n: number, subcenter: 'north' | 'south', offset = 0): { lat: number; lon: number }[] {
  if (offset + n > 18) throw new Error('a sub-center has 18 scattered places');
  // Outside the zones (x 113.31-113.32): the eastern part of each sub-center, on a 0.005° grid
  // (about 500 m, more than the fixture's 200 m merge radius).
  const lat0 = subcenter === 'north' ? 23.134 : 23.104;
  return Array.from({ length: n }, (_, k) => offset + k).map((i) => ({ lat: lat0 + 0.005 * Math.floor(i / 3), lon: 113.325 + 0.005 * (i % 3) }));
}

/**
 * Waits until every consumer group of the namespace has committed up to the end of each
 * partition it reads: the pipeline has finished with everything published so far, so counts
 * taken now are final (a duplicate would already be there). The API's live event streams are
 * left out: one group per process, for the live feed only, so a killed process's never catches up.
 */
export async function waitForDrained(services: ServiceEnv, namespace: string, ms: number): Promise<void> {
  const admin = new Kafka({ clientId: 'streetwatch-test', brokers: services.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let behind = '';
    const end = Date.now() + ms;
    for (;;) {
      behind = '';
      try {
        const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(namespace) && !g.startsWith(`${namespace}api-stream-`));
        for (const groupId of groups) {
          // Group names are `${namespace}${group}.${topic}` (core/bus/kafka.ts groupName).
          const topic = namespace + groupId.slice(groupId.indexOf('.sw.') + 1);
          const [high, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
          const at = new Map(committed[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
          for (const p of high) {
            const c = at.get(p.partition) ?? -1;
            if (Number(p.high) > 0 && c < Number(p.high)) behind += ` ${groupId}[${p.partition}] ${c}/${p.high}`;
          }
        }
      } catch (err) {
        behind = ` (${(err as Error).message})`;
      }
      if (!behind) return;
      if (Date.now() > end) throw new Error(`timed out waiting for the consumer groups to catch up:${behind}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

export interface PipelineCheck {
  edge: TestPlatform;
  services: ServiceEnv;
  namespace: string;
  /** Prefix of the ids of the devices of this round. */
  prefix: string;
  /** Readings the broker acknowledged in this round (each at its own device timestamp). */
  acked: number;
  /** Devices that must each have raised one ticket (each in its own place). */
  ticketDevices: readonly string[];
  /** The sub-centers' webhook receiver, when deliveries are checked. */
  receiver?: IdempotentReceiver;
  from: number;
  to: number;
  ms: number;
}

/**
 * The invariants of the chaos suites, by counting once the pipeline has caught up: every
 * acknowledged reading stored exactly once; one ticket per firing device, neither lost nor
 * duplicated, with its one alert; every webhook message delivered, and nothing else sent.
 */
export async function checkPipeline(c: PipelineCheck): Promise<{ points: number; tickets: Ticket[] }> {
  const measurement = measurementOf(c.namespace);
  await waitFor(async () => (await countPoints(c.services, measurement, c.prefix, c.from, c.to)) >= c.acked || undefined, `${c.acked} readings of ${c.prefix}* in InfluxDB`, c.ms);
  const ours = async (): Promise<Ticket[]> => ((await c.edge.api('GET', '/api/tickets')).body.tickets as Ticket[]).filter((t) => t.alerts.some((a) => a.deviceId.startsWith(c.prefix)));
  await waitFor(async () => (await ours()).length >= c.ticketDevices.length || undefined, `${c.ticketDevices.length} tickets of ${c.prefix}*`, c.ms);
  await waitForDrained(c.services, c.namespace, c.ms);
  const points = await countPoints(c.services, measurement, c.prefix, c.from, c.to);
  expect(points, 'readings stored').toBe(c.acked);
  const tickets = await ours();
  expect(tickets.map((t) => t.alerts.map((a) => a.deviceId)).sort(), 'one ticket per device, each with its one alert').toEqual([...c.ticketDevices].sort().map((d) => [d]));
  if (c.receiver) {
    const receiver = c.receiver;
    for (const t of tickets) {
      const deliveries = await waitFor(async () => {
        const d = (await c.edge.api('GET', `/api/tickets/${t.id}`)).body.delivery as { id: string; event: string; state: string }[];
        return d.length > 0 && d.every((m) => m.state === 'delivered') ? d : undefined;
      }, `the webhook messages of ticket ${t.id} delivered`, c.ms);
      expect(deliveries.map((m) => m.event), `the webhook messages of ticket ${t.id}`).toEqual(['ticket.created']);
      const keys = new Set(deliveries.map((m) => m.id));
      for (const key of keys) {
        expect(receiver.processed.get(key), `deliveries of key ${key}`).toBe(1);
        // A retry is the same message: same body, same signature, so the key means one thing.
        const bodies = new Set(receiver.requests.filter((r) => r.key === key).map((r) => r.body));
        expect(bodies.size, `bodies sent under key ${key}`).toBe(1);
        expect(receiver.requests.filter((r) => r.key === key).every((r) => r.signatureValid)).toBe(true);
      }
      // Nothing about this ticket arrived under a key the outbox does not hold.
      const received = new Set(receiver.requests.filter((r) => JSON.parse(r.body).ticket?.id === t.id).map((r) => r.key));
      expect([...received].sort()).toEqual([...keys].sort());
    }
  }
  return { points, tickets };
}
