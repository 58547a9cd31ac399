/**
 * Device status over real MQTT: online while a device is connected, offline when its
 * connection ends, however it ends, and the list of devices filtered by status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const SITE = { lat: 23.115, lon: 113.335 };

describe('device status end to end', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform();
  });
  afterAll(async () => {
    await sw?.stop();
  });

  const status = async (id: string) => (await sw.api('GET', `/api/devices/${id}`)).body as { status: string; lastSeen: number | null };

  it('is unknown until the device connects, online while connected, offline after a clean disconnect without a will', async () => {
    const secret = await sw.provision('st-1', SITE);
    expect(await status('st-1')).toMatchObject({ status: 'unknown', lastSeen: null });
    const before = Date.now();
    const device = await sw.connect('st-1', secret);
    const online = await waitFor(async () => {
      const s = await status('st-1');
      return s.status === 'online' ? s : undefined;
    }, 'online');
    expect(online.lastSeen).toBeGreaterThanOrEqual(before);
    await device.endAsync();
    await waitFor(async () => (await status('st-1')).status === 'offline' || undefined, 'offline after DISCONNECT');
  });

  it('turns offline when the connection drops: the will fires and the broker reports it', async () => {
    const secret = await sw.provision('st-2', SITE);
    const device = await sw.connect('st-2', secret, { will: { topic: 'v1/devices/st-2/status', payload: Buffer.from('offline'), qos: 1, retain: true } });
    await device.publishAsync('v1/devices/st-2/status', 'online', { qos: 1, retain: true });
    await waitFor(async () => (await status('st-2')).status === 'online' || undefined, 'online');
    // No DISCONNECT packet: the socket just goes away, as with a power cut.
    device.stream.destroy();
    await waitFor(async () => (await status('st-2')).status === 'offline' || undefined, 'offline after the drop');
  });

  it('stays online when a second connection takes over the id, and lists devices by status', async () => {
    const secret = await sw.provision('st-3', SITE);
    await sw.connect('st-3', secret);
    await waitFor(async () => (await status('st-3')).status === 'online' || undefined, 'online');
    const second = await sw.connect('st-3', secret);
    await second.publishAsync('v1/devices/st-3/telemetry', JSON.stringify({ values: { smoke: 1 } }), { qos: 1 });
    expect((await status('st-3')).status).toBe('online');
    const listed = (await sw.api('GET', '/api/devices?status=online')).body.devices.map((d: { id: string }) => d.id);
    expect(listed).toContain('st-3');
    expect(listed).not.toContain('st-1');
    expect((await sw.api('GET', '/api/devices?status=lost')).body.error.code).toBe('SW_ERR_BODY_INVALID');
  });
});
