/**
 * What the broker writes when the pipeline refuses what it hands on: the embedded log is full
 * (a group that never finishes holds its bound), so every publish, dead letter and presence
 * report is refused with SW_ERR_UNAVAILABLE. Each is counted; the log gets a bounded number of
 * short lines however many there are (a 10,000 device flood once wrote 474 MB in two minutes).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetter } from '../../core/dead-letter.js';
import { isStreetWatchError, swError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { RawPublish } from '../../core/schemas.js';
import { metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { RawMqtt } from '../support/raw-mqtt.js';

const SITE = { lat: 23.115, lon: 113.335 };
/** The smallest bound of the log (STREETWATCH_BUS_MAX_PENDING); publishes beyond it wait, 1,000 at most, then are refused. */
const MAX_PENDING = 100;
const WAITING = 1_000;

const raw = (clientId: string): RawPublish => ({ id: randomUUID(), clientId, topic: `v1/devices/${clientId}/telemetry`, payload: Buffer.from('{}'), qos: 0, receivedAt: Date.now() });

describe('hand-offs the pipeline refuses', () => {
  const lines: string[] = [];
  let sw: TestPlatform;
  /** Lets the group that never finishes finish, so the platform can stop. */
  const release: (() => void)[] = [];
  const occupying: Promise<unknown>[] = [];
  let holding = true;

  beforeAll(async () => {
    const logger = createLogger('info', {}, { write: (line: string) => void lines.push(line) });
    sw = await startTestPlatform({ logger, env: { STREETWATCH_STAGES: 'broker,api', STREETWATCH_BUS_MAX_PENDING: String(MAX_PENDING), MQTT_PUBLISH_RATE: '100000', MQTT_PUBLISH_BURST: '100000' } });
    const { bus } = sw.platform;
    const stuck = (): Promise<void> => (holding ? new Promise((resolve) => void release.push(resolve)) : Promise.resolve());
    await bus.subscribe('sw.raw', 'stuck', stuck);
    await bus.subscribe('sw.deadletter', 'stuck', stuck);
    // The log full on both topics, and as many publishes waiting for room as it lets wait: topped
    // up until a publish is refused once the log has written what it could.
    const fill = async (topic: 'sw.raw' | 'sw.deadletter'): Promise<void> => {
      for (;;) {
        await new Promise((r) => setTimeout(r, 200));
        const r = raw('filler');
        const value = topic === 'sw.raw' ? r : deadLetter(r, 'filler', swError('SW_ERR_TOPIC_FORBIDDEN', 'filler', r.topic));
        const refused = await Promise.race([
          bus.publish(topic, [{ key: 'filler', value } as never]).then(() => undefined, (err: unknown) => err),
          new Promise((r) => setTimeout(r, 50)),
        ]);
        if (isStreetWatchError(refused, 'SW_ERR_UNAVAILABLE')) return;
        for (let i = 0; i < MAX_PENDING + WAITING; i++) occupying.push(bus.publish(topic, [{ key: 'filler', value } as never]).catch(() => undefined));
      }
    };
    await fill('sw.raw');
    await fill('sw.deadletter');
  });
  afterAll(async () => {
    holding = false;
    for (const r of release.splice(0)) r();
    await sw?.stop();
    await Promise.all(occupying);
  });

  it('counts 2,000 refused dead letters of one device and logs them in a handful of short lines', async () => {
    const secret = await sw.provision('hf-1', SITE);
    const conn = await RawMqtt.open(sw.platform.mqttPort!);
    expect((await conn.connect({ clientId: 'hf-1', username: 'hf-1', password: secret })).returnCode).toBe(0);
    const before = lines.length;
    // A topic the device may not publish to: each is dead-lettered, and the log refuses each.
    for (let i = 0; i < 2_000; i++) conn.send({ cmd: 'publish', topic: 'v1/devices/someone-else/telemetry', payload: Buffer.from(`{"n":${i}}`), qos: 0, retain: false, dup: false });
    // Each refused dead letter is logged (or counted as suppressed) once the log refused it.
    await waitFor(async () => (await metricValue(sw.platform.metrics.rejected, { code: 'SW_ERR_TOPIC_FORBIDDEN' })) === 2_000 || undefined, 'the 2,000 publishes refused', 60_000);
    await new Promise((r) => setTimeout(r, 100));
    const logged = lines.slice(before).filter((l) => l.includes('could not dead-letter'));
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged.length).toBeLessThanOrEqual(3);
    for (const line of logged) {
      expect(line.length).toBeLessThan(1_000);
      expect(JSON.parse(line)).toMatchObject({ code: 'SW_ERR_UNAVAILABLE', deviceId: 'hf-1' });
      expect(line).not.toContain('stack');
    }
    expect(await metricValue(sw.platform.metrics.mqttHandOffFailures, { path: 'deadletter', code: 'SW_ERR_UNAVAILABLE' })).toBe(2_000);
    conn.close();
  }, 90_000);

  it('counts refused publishes and presence reports of a fleet reconnecting, in a bounded number of lines', async () => {
    const secret = await sw.provision('hf-2', SITE);
    const before = lines.length;
    const rounds = 100;
    // Each connection's publish is refused and not acknowledged, so the connection closes; the
    // device reconnects at once. Presence is reported (and refused) at each connect and each end.
    for (let i = 0; i < rounds; i++) {
      const conn = await RawMqtt.open(sw.platform.mqttPort!);
      expect((await conn.connect({ clientId: 'hf-2', username: 'hf-2', password: secret })).returnCode).toBe(0);
      conn.send({ cmd: 'publish', topic: 'v1/devices/hf-2/telemetry', payload: Buffer.from('{"values":{"noise":50}}'), qos: 0, retain: false, dup: false });
      await conn.closed;
    }
    const failures = (path: string) => metricValue(sw.platform.metrics.mqttHandOffFailures, { path, code: 'SW_ERR_UNAVAILABLE' });
    await waitFor(async () => (await failures('presence')) >= 2 * rounds || undefined, 'every presence report counted', 60_000);
    expect(await failures('publish')).toBe(rounds);
    const logged = lines.slice(before).filter((l) => l.includes('could not hand a publish') || l.includes('could not report a device connection change'));
    expect(logged.length).toBeLessThanOrEqual(6);
    for (const line of logged) {
      expect(line.length).toBeLessThan(1_000);
      expect(line).not.toContain('stack');
    }
  }, 120_000);
});
