/**
 * The sub-centers' webhook receiver down for over a minute while tickets are raised, with the
 * retry backoff short enough (STREETWATCH_WEBHOOK_BACKOFF) that every message fails several
 * times; then back, and losing its first answers (it processed the POST, the sender saw a
 * dropped connection). The whole pipeline runs in one platform on Kafka, InfluxDB and Redis.
 *
 * Proves: the durable outbox keeps every message through the outage and retries it with
 * backoff; once the receiver answers, each message is delivered, the same body under the same
 * Idempotency-Key on every attempt, and the receiver acts on each key once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distributedEnv, dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { chaosRunnable, checkPipeline, scatteredPlaces, streamReadings } from '../support/chaos.js';
import { cityWithWebhooks, startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { IdempotentReceiver } from '../support/webhook-receiver.js';

const services = testServices();
const SECRET = 'chaos-webhook-secret-0003';
/** At least a minute, as the issue asks; with a 2 s first retry doubling to 8 s, five or more failures each. */
const OUTAGE_MS = 60_000;
const PIPELINE_MS = 90_000;
const DEVICES = 5;
const PER_DEVICE = 35;

/** Defined by test/chaos/outages.test.ts, next to the other outages so that their waits overlap. */
export function webhookOutage(): void {
  describe.skipIf(!chaosRunnable(services))('chaos: webhook receiver down for minutes', () => {
    const namespace = testNamespace();
    const receiver = new IdempotentReceiver(SECRET);
    let platform: TestPlatform;

    beforeAll(async () => {
      await receiver.up();
      const cityDir = cityWithWebhooks({ north: { url: receiver.url, secret: SECRET }, south: { url: receiver.url, secret: SECRET } });
      await receiver.down();
      // The unit's circuit breaker stays closed here (it would hold all but one probe back during
      // the outage): this suite proves each message's own retries; the breaker has its own tests.
      const env = { ...distributedEnv(services!, namespace), STREETWATCH_WEBHOOK_BACKOFF: '2s', STREETWATCH_WEBHOOK_MAX_BACKOFF: '8s', STREETWATCH_WEBHOOK_BREAKER_FAILURES: '1000' };
      platform = await startTestPlatform({ cityDir, env });
    }, 180_000);

    afterAll(async () => {
      await platform?.stop();
      await receiver.down();
      if (services) await dropNamespace(services, namespace);
    }, 120_000);

    it('delivers every message once per idempotency key after the outage', { timeout: OUTAGE_MS + PIPELINE_MS * 3 }, async () => {
      const downAt = Date.now();
      const devices = [];
      for (const [i, loc] of scatteredPlaces(DEVICES, 'south', 10).entries()) {
        const id = `hook-${i}`;
        devices.push({ id, secret: await platform.provision(id, loc, 'smoke') });
      }
      const t0 = Date.now() - 60_000;
      const stream = streamReadings({ mqttUrl: platform.mqttUrl, devices, metric: 'smoke', value: () => 50, count: PER_DEVICE, t0, stepMs: 1_000 });
      await stream.done;

      type View = { id: string; state: string; attempts: number; lastError: string | null };
      const deliveries = async (): Promise<View[][]> => {
        const tickets = ((await platform.api('GET', '/api/tickets')).body.tickets as { id: string; alerts: { deviceId: string }[] }[]).filter((t) => t.alerts.some((a) => a.deviceId.startsWith('hook-')));
        return Promise.all(tickets.map(async (t) => (await platform.api('GET', `/api/tickets/${t.id}`)).body.delivery as View[]));
      };
      await waitFor(async () => ((await deliveries()).length === DEVICES ? true : undefined), `${DEVICES} tickets`, PIPELINE_MS);
      // Several failed attempts per message, and the outage lasts its minute.
      await waitFor(
        async () => (Date.now() - downAt >= OUTAGE_MS && (await deliveries()).every((d) => d.every((m) => m.state === 'pending' && m.attempts >= 3)) ? true : undefined),
        'every message failing at least three times through a minute of outage',
        OUTAGE_MS + PIPELINE_MS,
      );
      const failed = (await deliveries()).flat();
      expect(failed.every((m) => m.lastError !== null)).toBe(true);
      expect(receiver.requests).toHaveLength(0);

      // Back, but the first two answers are lost after the receiver acted on the POST.
      receiver.dropResponses = 2;
      await receiver.up();
      await checkPipeline({ edge: platform, services: services!, namespace, prefix: 'hook-', acked: DEVICES * PER_DEVICE, ticketDevices: devices.map((d) => d.id), receiver, from: t0 - 1_000, to: t0 + PER_DEVICE * 1_000 + 1_000, ms: PIPELINE_MS });
      // The lost answers were retried under the same keys; nothing was acted on twice.
      const perKey = new Map<string, number>();
      for (const r of receiver.requests) perKey.set(r.key, (perKey.get(r.key) ?? 0) + 1);
      expect([...perKey.values()].filter((n) => n > 1).length).toBeGreaterThanOrEqual(1);
      expect([...receiver.processed.values()].every((n) => n === 1)).toBe(true);
    });
  });
}
