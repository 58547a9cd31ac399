/**
 * Real Kafka, InfluxDB and Redis for the tests, found in this order for each service:
 *   1. the environment (KAFKA_BROKERS; INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET; REDIS_URL);
 *   2. containers (testcontainers) when a Docker engine answers;
 *   3. local servers started by infra/local/up (no Docker: Java, Go and apt).
 * Tests never assume they own a service: each uses its own namespace of topics, keys and
 * measurement, so a shared local Kafka or a developer's own Redis stays usable.
 *
 * STREETWATCH_TEST_SERVICES=off skips provisioning; the suites that need the services then
 * say they are skipped.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { REPO_ROOT } from '../../core/config.js';

export type ServiceName = 'kafka' | 'influxdb' | 'redis';
export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'influxdb', 'redis'];

/** How to reach the services, as the variables StreetWatch itself reads. */
export interface ServiceEnv {
  KAFKA_BROKERS: string;
  INFLUX_URL: string;
  INFLUX_TOKEN: string;
  INFLUX_ORG: string;
  INFLUX_BUCKET: string;
  REDIS_URL: string;
}

const VARIABLES: Record<ServiceName, (keyof ServiceEnv)[]> = {
  kafka: ['KAFKA_BROKERS'],
  influxdb: ['INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'],
  redis: ['REDIS_URL'],
};
/** Every variable that points StreetWatch at a service. */
export const SERVICE_VARIABLES: readonly (keyof ServiceEnv)[] = Object.values(VARIABLES).flat();

/** Images used when a Docker engine is available: what infra/docker-compose.yml deploys. */
export const TEST_IMAGES = { kafka: 'apache/kafka:3.9.2', influxdb: 'influxdb:2.7', redis: 'redis:7' } as const;
/** A cold infra/local/up downloads Kafka and builds InfluxDB: minutes, once per machine. */
const LOCAL_UP_TIMEOUT_MS = 15 * 60_000;

export interface ProvisionedServices {
  env: ServiceEnv | null;
  /** Where each service came from, for the log line. */
  sources: Partial<Record<ServiceName, string>>;
  stop(): Promise<void>;
}

export async function provisionServices(env: NodeJS.ProcessEnv = process.env, say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<ProvisionedServices> {
  if (env.STREETWATCH_TEST_SERVICES === 'off') {
    say('test services: off (STREETWATCH_TEST_SERVICES=off); suites that need Kafka, InfluxDB or Redis are skipped');
    return { env: null, sources: {}, stop: async () => undefined };
  }
  const found: Partial<ServiceEnv> = {};
  const sources: Partial<Record<ServiceName, string>> = {};
  const missing: ServiceName[] = [];
  for (const svc of SERVICE_NAMES) {
    if (VARIABLES[svc].every((v) => env[v])) {
      for (const v of VARIABLES[svc]) found[v] = env[v]!;
      sources[svc] = 'environment';
    } else {
      missing.push(svc);
    }
  }
  const stops: (() => Promise<unknown>)[] = [];
  if (missing.length > 0) {
    const docker = await dockerClient();
    if (docker) {
      const started = await startContainers(missing, docker.host);
      Object.assign(found, started.env);
      stops.push(started.stop);
      for (const svc of missing) sources[svc] = `container ${TEST_IMAGES[svc]}`;
    } else {
      Object.assign(found, await localUp(missing));
      for (const svc of missing) sources[svc] = 'infra/local';
    }
  }
  say(`test services: ${SERVICE_NAMES.map((s) => `${s} from ${sources[s]}`).join(', ')}`);
  return {
    env: found as ServiceEnv,
    sources,
    // Local servers are shared with other users of the machine and stay up; containers are ours.
    stop: async () => void (await Promise.allSettled(stops.map((s) => s()))),
  };
}

async function dockerClient(): Promise<{ host: string } | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    return { host: client.info.containerRuntime.host };
  } catch {
    return undefined;
  }
}

async function startContainers(services: readonly ServiceName[], host: string): Promise<{ env: Partial<ServiceEnv>; stop: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const env: Partial<ServiceEnv> = {};
  const starting: Promise<{ stop(): Promise<unknown> }>[] = [];
  if (services.includes('kafka')) {
    // Clients connect to the advertised address, so the host port must be known before start.
    const port = await freePort();
    starting.push(
      new GenericContainer(TEST_IMAGES.kafka)
        .withExposedPorts({ container: 9092, host: port })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          // Clients use PLAINTEXT through the mapped port; the broker reaches itself on BROKER.
          KAFKA_LISTENERS: 'PLAINTEXT://:9092,BROKER://:9094,CONTROLLER://:9093',
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port},BROKER://localhost:9094`,
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT',
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
          KAFKA_NUM_PARTITIONS: '4',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .withStartupTimeout(180_000)
        .start(),
    );
    env.KAFKA_BROKERS = `${host}:${port}`;
  }
  if (services.includes('influxdb')) {
    const token = randomBytes(24).toString('base64url');
    starting.push(
      new GenericContainer(TEST_IMAGES.influxdb)
        .withExposedPorts(8086)
        .withEnvironment({
          DOCKER_INFLUXDB_INIT_MODE: 'setup',
          DOCKER_INFLUXDB_INIT_USERNAME: 'streetwatch',
          DOCKER_INFLUXDB_INIT_PASSWORD: randomBytes(12).toString('base64url'),
          DOCKER_INFLUXDB_INIT_ORG: 'streetwatch',
          DOCKER_INFLUXDB_INIT_BUCKET: 'streetwatch',
          DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: token,
        })
        .withWaitStrategy(Wait.forHttp('/health', 8086).forStatusCode(200))
        .start()
        .then((c) => {
          env.INFLUX_URL = `http://${c.getHost()}:${c.getMappedPort(8086)}`;
          return c;
        }),
    );
    Object.assign(env, { INFLUX_TOKEN: token, INFLUX_ORG: 'streetwatch', INFLUX_BUCKET: 'streetwatch' });
  }
  if (services.includes('redis')) {
    starting.push(
      new GenericContainer(TEST_IMAGES.redis)
        .withCommand(['redis-server', '--appendonly', 'yes'])
        .withExposedPorts(6379)
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
        .start()
        .then((c) => {
          env.REDIS_URL = `redis://${c.getHost()}:${c.getMappedPort(6379)}`;
          return c;
        }),
    );
  }
  const settled = await Promise.allSettled(starting);
  const containers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async (): Promise<void> => void (await Promise.allSettled(containers.map((c) => c.stop())));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { env, stop };
}

/**
 * Runs infra/local/up for the services and reads the environment it prints on stdout. `env`
 * adds to the environment of the script: other ports, another state directory.
 */
export function localUp(services: readonly ServiceName[], env: Record<string, string> = {}): Promise<Partial<ServiceEnv>> {
  const script = path.join(REPO_ROOT, 'infra', 'local', 'up');
  return new Promise((resolve, reject) => {
    const child = execFile(script, [...services], { timeout: LOCAL_UP_TIMEOUT_MS, maxBuffer: 1024 * 1024, env: { ...process.env, ...env } }, (err, stdout) => {
      if (err) return reject(new Error(`infra/local/up ${services.join(' ')} failed (${err.message}); its log is above`));
      const env: Partial<ServiceEnv> = {};
      for (const line of stdout.split('\n')) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
        if (m && Object.values(VARIABLES).some((vs) => vs.includes(m[1] as keyof ServiceEnv))) env[m[1] as keyof ServiceEnv] = m[2]!;
      }
      const absent = services.flatMap((s) => VARIABLES[s]).filter((v) => !env[v]);
      if (absent.length > 0) return reject(new Error(`infra/local/up did not print ${absent.join(', ')}`));
      resolve(env);
    });
    // Progress (and, on a first run, download and build steps) shows as it happens.
    child.stderr?.pipe(process.stderr);
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
