/**
 * Redis restarted (AOF on, as infra/ runs it) on a private Redis of this suite, while a rule's
 * `for` duration is pending and again while a ticket's deadline timers are pending. Kafka and
 * InfluxDB are the shared servers, in a namespace of this suite; the whole pipeline runs in
 * one platform, which reconnects to Redis by itself.
 *
 * Proves: the detector's pending state survives the restart (the smoke rule, `for: 30s`, fires
 * once, 30 s of device time after the first high reading sent before the restart); the
 * ticket's reminder and overdue timers survive it and each fires exactly once (one reminder,
 * one overdue mark, one supervision order); every acknowledged reading is stored once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../core/schemas.js';
import { distributedEnv, dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { chaosRunnable, checkPipeline, scatteredPlaces, startPrivateServices, streamReadings, waitForDrained, type PrivateServices } from '../support/chaos.js';
import { cityWithWebhooks, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const shared = testServices();
const PIPELINE_MS = 90_000;
/** Grade C (the smoke rule's): a reminder 15 s after the ticket, overdue at 30 s. */
const SLA = `grades:
  A: { respondWithin: 15m, resolveWithin: 4h, remindBefore: 5m, holdFor: 10m }
  B: { respondWithin: 30m, resolveWithin: 12h, remindBefore: 10m, holdFor: 10m }
  C: { respondWithin: 30s, resolveWithin: 24h, remindBefore: 15s, holdFor: 10m }
  D: { respondWithin: 4h, resolveWithin: 72h, remindBefore: 1h, holdFor: 10m }
merge:
  window: 30m
  radius: 200
`;

/** Defined by test/chaos/outages.test.ts, next to the other outages so that their waits overlap. */
export function redisRestart(): void {
  describe.skipIf(!chaosRunnable(shared))('chaos: Redis restarted with AOF', () => {
    const namespace = testNamespace();
    let priv: PrivateServices;
    let platform: TestPlatform;

    beforeAll(async () => {
      priv = await startPrivateServices(shared!, ['redis']);
      const cityDir = cityWithWebhooks({});
      fs.writeFileSync(path.join(cityDir, 'sla.yaml'), SLA);
      platform = await startTestPlatform({ cityDir, env: distributedEnv(priv.env, namespace) });
    }, 180_000);

    afterAll(async () => {
      await platform?.stop();
      if (priv) await dropNamespace(priv.env, namespace).catch(() => undefined);
      await priv?.close();
    }, 120_000);

    it('keeps a pending rule duration and the ticket timers through restarts; each fires once', { timeout: PIPELINE_MS * 4 }, async () => {
      const [loc] = scatteredPlaces(1, 'north', 15);
      const id = 'redis-0';
      const device = [{ id, secret: await platform.provision(id, loc!, 'smoke') }];
      const t0 = Date.now() - 120_000;
      const send = async (from: number, count: number): Promise<number> => {
        const stream = streamReadings({ mqttUrl: platform.mqttUrl, devices: device, metric: 'smoke', value: () => 50, count, t0: t0 + from * 1_000, stepMs: 1_000 });
        await stream.done;
        return stream.ackedTotal();
      };

      // 21 s of high smoke by the device's clock: the rule's 30 s are pending, in Redis.
      let acked = await send(0, 21);
      await waitForDrained(priv.env, namespace, PIPELINE_MS);
      await priv.stop('redis');
      await priv.start('redis');
      acked += await send(21, 20);

      const ours = async (): Promise<Ticket[]> => ((await platform.api('GET', '/api/tickets')).body.tickets as Ticket[]).filter((t) => t.alerts.some((a) => a.deviceId === id));
      const [ticket] = await waitFor(async () => ((await ours()).length > 0 ? ours() : undefined), 'the smoke ticket', PIPELINE_MS);
      // The condition started with the first reading, sent before the restart: that state was kept.
      expect(ticket!.alerts[0]!.firstSeen).toBe(t0);

      // Its reminder (15 s) and overdue (30 s) timers are pending: restart again.
      await priv.stop('redis');
      await priv.start('redis');
      const done = await waitFor(async () => {
        const t = (await ours())[0]!;
        return t.overdue.some((m) => m.kind === 'response') ? t : undefined;
      }, 'the response deadline to pass', PIPELINE_MS);
      await waitForDrained(priv.env, namespace, PIPELINE_MS);
      const after = (await ours())[0]!;
      expect(after.id).toBe(done.id);
      expect(after.reminders.filter((m) => m.kind === 'response')).toHaveLength(1);
      expect(after.overdue.filter((m) => m.kind === 'response')).toHaveLength(1);
      expect(after.supervisionOrderIds).toHaveLength(1);
      await checkPipeline({ edge: platform, services: priv.env, namespace, prefix: 'redis-', acked, ticketDevices: [id], from: t0 - 1_000, to: t0 + 42_000, ms: PIPELINE_MS });
    });
  });
}
