/**
 * Running StreetWatch stages the way a distributed deployment does: as separate processes
 * (`node app/main.ts --stages ...`) or separate platform instances, connected only through
 * Kafka, InfluxDB and Redis; and looking into those services the way an operator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { InfluxDB, flux } from '@influxdata/influxdb-client';
import { AssignerProtocol, Kafka, Partitioners, logLevel } from 'kafkajs';
import { platformNodeArgs } from '../../app/node-flags.js';
import { REPO_ROOT } from '../../core/config.js';
import type { ServiceEnv } from './services.js';

export interface StageProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** Resolves once the process printed its start-up banner (all services connected). */
  readonly ready: Promise<void>;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `app/main.ts --stages <stages>` as its own Node process. */
export function spawnStages(stages: string, env: Record<string, string>): StageProcess {
  // As `npm start` runs it (node itself, not a CLI that runs the program in a child of its own,
  // which a SIGKILL of the CLI would leave running).
  const child = spawn(process.execPath, [...platformNodeArgs('app/main.ts'), '--stages', stages], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', HTTP_PORT: '0', MQTT_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (/^StreetWatch .* ready in \d+ ms$/m.test(out)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => reject(new Error(`stages ${stages} exited (${code ?? signal}) before start-up completed:\n${out}`)));
  });
  ready.catch(() => undefined);
  return { child, output: () => out, ready, exited };
}

/** How many members of a consumer group hold at least one partition. */
export async function membersWithPartitions(services: ServiceEnv, groupId: string): Promise<number> {
  const admin = new Kafka({ clientId: 'streetwatch-test', brokers: services.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    if (!group || group.state !== 'Stable') return 0;
    return group.members.filter((m) => {
      const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      return decoded !== null && Object.values(decoded.assignment).some((partitions) => partitions.length > 0);
    }).length;
  } finally {
    await admin.disconnect();
  }
}

/** The partition Kafka's default partitioner (and every Java-compatible client) gives a key. */
export async function partitionsOf(services: ServiceEnv, topic: string, keys: readonly string[]): Promise<Map<string, number>> {
  const admin = new Kafka({ clientId: 'streetwatch-test', brokers: services.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitionMetadata = topics[0]!.partitions;
    const partitioner = Partitioners.DefaultPartitioner();
    return new Map(keys.map((key) => [key, partitioner({ topic, partitionMetadata, message: { key, value: null } })]));
  } finally {
    await admin.disconnect();
  }
}

/** Runs a Flux query against the test InfluxDB. */
export async function fluxRows<T>(services: ServiceEnv, query: ReturnType<typeof flux>): Promise<T[]> {
  return new InfluxDB({ url: services.INFLUX_URL, token: services.INFLUX_TOKEN }).getQueryApi(services.INFLUX_ORG).collectRows<T>(query);
}
