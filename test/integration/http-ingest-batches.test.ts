/**
 * The batch memory of HTTP ingest, in both modes (the SQLite state store of the embedded mode,
 * Redis of the distributed one), in front of the real ingest stage: a batch id stores a batch
 * once, concurrent requests with one id publish once, and a system's memory holds its last
 * `kept` batch ids, forgetting the oldest (and their reports) beyond.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CityIndex } from '../../core/city-index.js';
import { loadCity } from '../../core/city.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { systemClock, type StateStore } from '../../core/ports.js';
import { provisionedDevice } from '../../core/schemas.js';
import { RedisStateStore } from '../../core/store/redis/state.js';
import { SqliteSeriesStore } from '../../core/store/sqlite/series.js';
import { SqliteStateStore } from '../../core/store/sqlite/state.js';
import { startIngest } from '../../ingest/stage.js';
import { dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { busSettled, tempLogBus } from '../support/bus.js';
import { FIXTURE_CITY } from '../support/harness.js';
import { batchDigest, BatchMemory, planTelemetry } from '../../api/ingest-batches.js';

const services = testServices();
const logger = createLogger(process.env.SW_TEST_LOG ?? 'silent');
const namespaces: string[] = [];
afterAll(() => Promise.all(namespaces.map((ns) => dropNamespace(services!, ns))));

const modes: [string, () => Promise<StateStore>][] = [['embedded (SQLite)', async () => new SqliteStateStore(fs.mkdtempSync(path.join(os.tmpdir(), 'sw-batches-')))]];
if (services) {
  modes.push([
    'distributed (Redis)',
    async () => {
      const namespace = testNamespace();
      namespaces.push(namespace);
      const s = new RedisStateStore({ url: services.REDIS_URL, namespace, logger });
      await s.connect();
      return s;
    },
  ]);
}

describe.each(modes)('HTTP ingest batch memory: %s', (_mode, open) => {
  async function setup(kept: number) {
    const state = await open();
    const series = new SqliteSeriesStore(fs.mkdtempSync(path.join(os.tmpdir(), 'sw-batches-series-')));
    const bus = tempLogBus();
    const city = new CityIndex(loadCity(FIXTURE_CITY));
    const published: string[] = [];
    const tap = await bus.subscribe('sw.raw', 'test-raw-tap', async (records) => void published.push(...records.map((r) => r.value.id)));
    const ingest = await startIngest({ bus, series, devices: state.devices, kv: state.kv, cityIndex: () => city, clock: systemClock, metrics: new Metrics(), logger, ingest: loadConfig({}).ingest });
    await state.devices.add(provisionedDevice({ id: 'sys', kind: 'system', location: { lat: 23.115, lon: 113.335 } }, 'h', 0));
    const memory = new BatchMemory({ kv: state.kv, bus, clock: systemClock, kept });
    const t0 = Date.now() - 1000;
    const send = (batchId: string, value: number) => {
      const records = [{ deviceId: 'sys', ts: t0 + value, values: { noise: value } }];
      return memory.send('sys', batchId, 'telemetry', 1, batchDigest('telemetry', records), () => planTelemetry('sys', records, async (id) => id === 'sys', { maxPayloadBytes: 65536, receivedAt: Date.now() }));
    };
    const close = async () => {
      await tap.close();
      await ingest.close();
      await bus.close();
      await series.close();
      await state.close();
    };
    // The log hands the tap its records at its own pace: wait for it before counting.
    const publishedNow = async () => (await busSettled(bus), published);
    return { state, series, published: publishedNow, send, close };
  }

  it('publishes a batch once, however many requests carry its id at once', async () => {
    const { published, send, close } = await setup(8);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => send('b-1', 40)));
    const answers = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.status === 200 ? [o.value.answer] : []));
    expect(answers.length).toBeGreaterThan(0);
    for (const a of answers) expect(a).toMatchObject({ batchId: 'b-1', stored: 1, refused: 0 });
    // The others were told to come back (SW_ERR_BATCH_PENDING), none published again.
    for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as { code: string }).code).toBe('SW_ERR_BATCH_PENDING');
    expect(await published()).toHaveLength(1);
    expect(await send('b-1', 40)).toMatchObject({ status: 200, answer: { replayed: true, stored: 1 } });
    await close();
  });

  it('remembers the last `kept` batch ids of a system and forgets the oldest, reports and all', async () => {
    const { state, series, published, send, close } = await setup(3);
    for (let i = 1; i <= 5; i++) expect(await send(`k-${i}`, 40 + i)).toMatchObject({ status: 200, answer: { stored: 1 } });
    expect(await published()).toHaveLength(5);
    // Still remembered: answered again, nothing published.
    for (const i of [3, 4, 5]) expect(await send(`k-${i}`, 40 + i)).toMatchObject({ status: 200, answer: { replayed: true } });
    expect(await published()).toHaveLength(5);
    // Forgotten: sent again (the store keeps one reading per device, metric and time all the same).
    expect(await send('k-1', 41)).toMatchObject({ status: 200, answer: { batchId: 'k-1' } });
    expect(await published()).toHaveLength(6);
    expect(await state.kv.getMany(['ingest:batches:sys'])).toEqual(new Map([['ingest:batches:sys', ['k-4', 'k-5', 'k-1']]]));
    const kept = await state.kv.getMany(['ingest:batch:sys:k-1', 'ingest:batch:sys:k-2', 'ingest:batch:sys:k-3']);
    expect([...kept.keys()]).toEqual(['ingest:batch:sys:k-1']);
    expect((await series.query({ deviceId: 'sys', from: 0, to: Date.now() + 60_000 })).map((r) => r.value)).toEqual([41, 42, 43, 44, 45]);
    await close();
  });
});
