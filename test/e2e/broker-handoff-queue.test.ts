/**
 * A fleet's publishes arriving together, beyond what the embedded log lets wait for room (a
 * tenth of its bound, 1,000 at least): the broker hands a bounded number on at once and holds the
 * rest in line, so that none is refused and no connection closed (a refused publish closes its
 * connection unacknowledged). Each connection stays within its own window (MQTT_CLIENT_INFLIGHT);
 * it is the fleet together that brings more than the log lets wait: a pause of the event loop, a
 * stage fallen behind. Once the log has room, every publish is acknowledged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MQTT_CLIENT_INFLIGHT } from '../../core/config.js';
import { metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { RawMqtt } from '../support/raw-mqtt.js';

const SITE = { lat: 23.115, lon: 113.335 };
/** The log's smallest bound: 100 records pending, 1,000 publishes waiting for room, then refusals. */
const MAX_PENDING = 100;
const DEVICES = 40;
const EACH = DEFAULT_MQTT_CLIENT_INFLIGHT;

describe('a fleet publishing together beyond what the log lets wait', () => {
  let sw: TestPlatform;
  const release: (() => void)[] = [];
  let holding = true;

  beforeAll(async () => {
    sw = await startTestPlatform({ env: { STREETWATCH_STAGES: 'broker,api', STREETWATCH_BUS_MAX_PENDING: String(MAX_PENDING), MQTT_PUBLISH_RATE: '100000', MQTT_PUBLISH_BURST: '100000' } });
    // A stage that takes nothing until released: the log fills to its bound and publishes wait.
    await sw.platform.bus.subscribe('sw.raw', 'stalled', () => (holding ? new Promise<void>((resolve) => void release.push(resolve)) : Promise.resolve()), { maxBatch: 1 });
  });
  afterAll(async () => {
    holding = false;
    for (const r of release.splice(0)) r();
    await sw?.stop();
  });

  it(`acknowledges all ${DEVICES * EACH} publishes of ${DEVICES} devices, each within its window, once the log has room, closing no connection`, async () => {
    const conns: RawMqtt[] = [];
    for (let d = 0; d < DEVICES; d++) {
      const id = `hq-${d}`;
      const secret = await sw.provision(id, SITE);
      const conn = await RawMqtt.open(sw.platform.mqttPort!);
      expect((await conn.connect({ clientId: id, username: id, password: secret })).returnCode).toBe(0);
      conns.push(conn);
    }
    conns.forEach((conn, d) => {
      for (let i = 1; i <= EACH; i++) conn.send({ cmd: 'publish', topic: `v1/devices/hq-${d}/telemetry`, payload: Buffer.from(`{"values":{"noise":${i}}}`), qos: 1, messageId: i, retain: false, dup: false });
    });
    // (Almost) every publish read and in progress (aedes takes a connection's last packets of a
    // read only once the earlier ones are answered), or one refused.
    const read = async (): Promise<boolean> => (await metricValue(sw.platform.metrics.mqttPublishesInProgress)) >= DEVICES * (EACH - 2) || (await metricValue(sw.platform.metrics.mqttHandOffFailures)) > 0;
    await waitFor(async () => (await read()) || undefined, 'the publishes read', 30_000);
    expect(conns.filter((c) => c.isClosed)).toHaveLength(0);
    expect(await metricValue(sw.platform.metrics.mqttHandOffFailures)).toBe(0);
    // What the log does not hold or let wait waits in the broker's line.
    expect(await metricValue(sw.platform.metrics.mqttHandOffsWaitingGauge)).toBeGreaterThanOrEqual(DEVICES * (EACH - 2) - 1_000);

    holding = false;
    for (const r of release.splice(0)) r();
    const pubacks = (c: RawMqtt): number => c.received.filter((p) => p.cmd === 'puback').length;
    await waitFor(() => conns.every((c) => pubacks(c) === EACH) || undefined, 'every publish acknowledged', 60_000);
    expect(conns.filter((c) => c.isClosed)).toHaveLength(0);
    expect(await metricValue(sw.platform.metrics.mqttHandOffFailures)).toBe(0);
    expect(await metricValue(sw.platform.metrics.mqttHandOffsWaitingGauge)).toBe(0);
    for (const c of conns) c.close();
  }, 120_000);
});
