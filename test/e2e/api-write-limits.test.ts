/**
 * Writes are limited per token (a token bucket on a clock the test moves): one unit's token
 * posting feedback in a loop gets 429 SW_ERR_RATE_LIMITED with Retry-After past its burst, while
 * other tokens write on; and the ticket it wrote to stays bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_WRITE_BURST, DEFAULT_API_WRITE_RATE } from '../../core/config.js';
import type { Ticket } from '../../core/schemas.js';
import { ManualClock } from '../support/clock.js';
import { metricValue, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('API writes per token', () => {
  let sw: TestPlatform;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    sw = await startTestPlatform({ clock });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('refuses a token\'s writes past its burst with a coded 429, others write on, and 400 long notes leave the ticket under 100 KB', async () => {
    const device = await sw.connect('wl-notes', await sw.provision('wl-notes', IN_TUNNEL, 'water_level'));
    await device.publishAsync('v1/devices/wl-notes/telemetry', JSON.stringify({ values: { water_level: 0.6 } }), { qos: 1 });
    const [ticket] = await waitFor(async () => {
      const list = (await sw.api('GET', '/api/tickets?subcenter=north')).body.tickets as Ticket[];
      return list.length > 0 ? list : undefined;
    }, 'the ticket');
    const noisy = await sw.unitToken('north');
    const quiet = await sw.unitToken('north');
    const statuses: number[] = [];
    let refused: { status: number; body: any } | undefined;
    let retryAfter: string | null = null;
    for (let i = 0; i < 400; i++) {
      const res = await fetch(`http://127.0.0.1:${sw.platform.httpPort}/api/tickets/${ticket!.id}/feedback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${noisy}`, 'content-type': 'application/json' },
        body: JSON.stringify({ note: `${i} ${'反'.repeat(1_990)}` }),
      });
      statuses.push(res.status);
      if (res.status === 429 && !refused) {
        refused = { status: res.status, body: await res.json() };
        retryAfter = res.headers.get('retry-after');
      } else await res.body?.cancel();
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(DEFAULT_API_WRITE_BURST);
    expect(statuses.filter((s) => s === 429)).toHaveLength(400 - DEFAULT_API_WRITE_BURST);
    expect(refused!.body.error).toMatchObject({ code: 'SW_ERR_RATE_LIMITED' });
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(await metricValue(sw.platform.metrics.limited, { limit: 'api_writes' })).toBe(400 - DEFAULT_API_WRITE_BURST);
    // Reading is not writing; another token of the same unit and the admin write on.
    expect((await sw.api('GET', `/api/tickets/${ticket!.id}`, undefined, noisy)).status).toBe(200);
    expect((await sw.api('POST', `/api/tickets/${ticket!.id}/feedback`, { note: '网格员已到场' }, quiet)).status).toBe(200);
    expect((await sw.api('POST', `/api/tickets/${ticket!.id}/feedback`, { note: '区级已知悉' })).status).toBe(200);
    // The bucket refills with time.
    expect((await sw.api('POST', `/api/tickets/${ticket!.id}/feedback`, { note: 'x' }, noisy)).status).toBe(429);
    clock.advance(1_000 / DEFAULT_API_WRITE_RATE);
    expect((await sw.api('POST', `/api/tickets/${ticket!.id}/feedback`, { note: 'x' }, noisy)).status).toBe(200);
    const stored = (await sw.api('GET', `/api/tickets/${ticket!.id}`)).body;
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeLessThan(100 * 1024);
    expect(stored.timeline.find((e: { action: string }) => e.action === 'summarized')).toBeDefined();
  });
});
