/**
 * A hanging webhook receiver beside a healthy one, against the whole platform: north's receiver
 * accepts connections and never answers; south's answers. South's webhook must not wait for
 * north's: it arrives while north's requests are still hanging.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../core/schemas.js';
import { cityWithWebhooks, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { IdempotentReceiver } from '../support/webhook-receiver.js';

const SECRET = 'webhook-secret-isolation';
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };

describe('webhook delivery per unit', () => {
  let sw: TestPlatform;
  const south = new IdempotentReceiver(SECRET);
  const hanging = new Set<http.ServerResponse>();
  let hangingServer: http.Server;
  beforeAll(async () => {
    await south.up();
    hangingServer = http.createServer((req, res) => {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      req.resume();
    });
    await new Promise<void>((r) => hangingServer.listen(0, '127.0.0.1', r));
    const { port } = hangingServer.address() as AddressInfo;
    const cityDir = cityWithWebhooks({ north: { url: `http://127.0.0.1:${port}/hooks`, secret: SECRET }, south: { url: south.url, secret: SECRET } });
    sw = await startTestPlatform({ cityDir });
  });
  afterAll(async () => {
    hangingServer.closeAllConnections();
    await sw?.stop();
    await new Promise((r) => hangingServer.close(r));
    await south.down();
  });

  it('delivers a unit\'s webhook while another unit\'s receiver never answers', { timeout: 60_000 }, async () => {
    const n = await sw.connect('wl-hang', await sw.provision('wl-hang', IN_TUNNEL, 'water_level'));
    await n.publishAsync('v1/devices/wl-hang/telemetry', JSON.stringify({ values: { water_level: 0.6 } }), { qos: 1 });
    await waitFor(() => hanging.size > 0 || undefined, 'north\'s receiver to hold the request');
    // Smoke held for 30 s (the rule's `for`): two readings 31 s apart.
    const s = await sw.connect('smoke-ok', await sw.provision('smoke-ok', IN_SOUTH, 'smoke'));
    const now = Date.now();
    await s.publishAsync('v1/devices/smoke-ok/telemetry', JSON.stringify([{ ts: now - 31_000, values: { smoke: 50 } }, { ts: now, values: { smoke: 50 } }]), { qos: 1 });
    const [ticket] = await waitFor(async () => {
      const list = (await sw.api('GET', '/api/tickets?subcenter=south')).body.tickets as Ticket[];
      return list.length > 0 ? list : undefined;
    }, 'south\'s ticket');
    await waitFor(() => south.requests.find((r) => JSON.parse(r.body).ticket.id === ticket!.id), 'south\'s webhook');
    // North's request is still hanging: south did not wait for it.
    expect(hanging.size).toBe(1);
  });
});
