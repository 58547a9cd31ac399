/**
 * A platform whose broker admits, besides devices and feed clients, one test-only principal:
 * an observer that may subscribe to any topic. Devices may only subscribe to their own errors
 * topic, so nothing in production can watch what their retained messages and wills become; the
 * protocol tests need exactly that. The broker is the production one (`startBroker`), with the
 * observer added around its handlers the way aedes lets handlers be set; the rest of the
 * platform runs as usual, without its own broker.
 */
import { randomBytes } from 'node:crypto';
import { startBroker, type Broker } from '../../broker/server.js';
import { startTestPlatform, type TestPlatform } from './harness.js';

/** Not a device id (':'), not a feed client: no production principal can have it. */
export const OBSERVER_PREFIX = 'test-observer:';

export interface ObservedPlatform {
  sw: TestPlatform;
  broker: Broker;
  mqttUrl: string;
  /** Username and password of the observer; its client ids start with OBSERVER_PREFIX. */
  observer: { username: string; password: string };
  /** Topics with a retained message in the broker, matching a filter. */
  retained(filter: string): Promise<{ topic: string; payload: string }[]>;
  stop(): Promise<void>;
}

export async function startObservedPlatform(env: Record<string, string> = {}): Promise<ObservedPlatform> {
  const sw = await startTestPlatform({ env: { STREETWATCH_STAGES: 'ingest,detectors,alerting,api', ...env } });
  const { platform } = sw;
  const broker = await startBroker({
    ...platform.config.mqtt,
    devices: platform.state.devices,
    tokens: platform.state.tokens,
    bus: platform.bus,
    clock: { now: () => Date.now() },
    metrics: platform.metrics,
    logger: platform.logger,
  });
  const observer = { username: 'test-observer', password: randomBytes(16).toString('hex') };
  const { aedes } = broker;
  const authenticate = aedes.authenticate;
  const authorizeSubscribe = aedes.authorizeSubscribe;
  aedes.authenticate = (client, username, password, done) => {
    if (!client.id.startsWith(OBSERVER_PREFIX)) return authenticate(client, username, password, done);
    done(null, username === observer.username && password?.toString() === observer.password);
  };
  aedes.authorizeSubscribe = (client, sub, done) => (client.id.startsWith(OBSERVER_PREFIX) ? done(null, sub) : authorizeSubscribe(client, sub, done));

  return {
    sw,
    broker,
    mqttUrl: `mqtt://127.0.0.1:${broker.port}`,
    observer,
    async retained(filter) {
      const out: { topic: string; payload: string }[] = [];
      for await (const packet of (aedes as unknown as { persistence: { createRetainedStream(p: string): AsyncIterable<{ topic: string; payload: Buffer }> } }).persistence.createRetainedStream(filter)) {
        out.push({ topic: packet.topic, payload: packet.payload.toString() });
      }
      return out.sort((a, b) => a.topic.localeCompare(b.topic));
    },
    async stop() {
      await broker.close();
      await sw.stop();
    },
  };
}
