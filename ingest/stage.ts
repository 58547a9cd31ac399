/**
 * Ingest: `sw.raw` → decode, validate and judge (publish.ts) → time-series store →
 * `sw.readings` / `sw.events`, rejections → `sw.deadletter`. The readings are durable before
 * anything announces them and before the batch's position is committed, and what ingest trusts
 * of each device (device-state.ts) moves on only once they are. Embedded, the store shares the
 * bus's database and all three are one transaction, so a batch is stored and announced exactly
 * once, even across a crash; distributed, a crash replays the batch and the store keeps one
 * point per reading.
 */
import { swError } from '../core/errors.js';
import type { CityIndex, Placement } from '../core/city-index.js';
import type { IngestConfig } from '../core/config.js';
import { deadLetter } from '../core/dead-letter.js';
import type { Logger } from '../core/logger.js';
import { observePublishLag, type Metrics } from '../core/metrics.js';
import type { DeviceStateHolder } from '../core/device-state.js';
import { ingestReport, type IngestReport } from '../core/ingest-report.js';
import type { Bus, BusRecord, Clock, DeviceRegistry, KeyValueStore, SeriesStore, Subscription } from '../core/ports.js';
import { MAX_GATEWAY_DEVICES, type CameraEvent, type DeadLetter, type Location, type RawPublish, type Reading } from '../core/schemas.js';
import { classifyDeviceTopic, parseDeviceTopic } from '../core/topics.js';
import type { DecodedReading } from './decode.js';
import { IngestDevices, type JudgedDevice } from './device-state.js';
import { processPublish, type KnownDevices, type PublishLimits } from './publish.js';
import { rejectionLetters } from './rejections.js';

/** How long a device record is trusted before it is read again (location, mobile, gateway, removal). */
const DEVICE_CACHE_TTL_MS = 30_000;
/** A device's last-seen time, last reading time and position are written at most this often. */
const TOUCH_INTERVAL_MS = 10_000;
/** Devices whose provisioning and trust state ingest holds in memory: a large city's fleet. */
export const DEFAULT_INGEST_DEVICES = 100_000;
/** Positioning noise a mobile device's jump is allowed on top of the speed limit: GNSS in street canyons is off by tens of metres. */
export const POSITION_SLACK_METRES = 100;

export interface IngestOptions {
  bus: Bus;
  series: SeriesStore;
  devices: DeviceRegistry;
  /** Where the reports of HTTP ingest's publishes go (RawPublish.reportTo). */
  kv: KeyValueStore;
  /** Current city; read on every batch so a reload applies at once. */
  cityIndex: () => CityIndex;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  ingest: IngestConfig;
  /** Devices held in memory (default DEFAULT_INGEST_DEVICES). */
  maxDevices?: number;
}

interface BatchOutput {
  readings: Reading[];
  events: CameraEvent[];
  dead: DeadLetter[];
  statuses: Map<string, { status: 'online' | 'offline'; at: number }>;
  seen: Set<string>;
  /** Trust state of the devices judged in this batch, kept once the batch is stored. */
  settled: Map<string, JudgedDevice>;
  /** HTTP ingest: what became of its publishes, by RawPublish.reportTo. */
  reports: Map<string, IngestReport>;
}

/**
 * The reading as `sw.readings` carries it, built field by field: the decoder's record index stays
 * behind, and copying every other key by name is several times cheaper per reading than an
 * object rest that leaves one out.
 */
function placedReading(r: DecodedReading, place: Placement): Reading {
  const reading: Reading = { deviceId: r.deviceId, metric: r.metric, value: r.value, ts: r.ts, receivedAt: r.receivedAt, ref: r.ref, zoneIds: place.zoneIds };
  if (r.unit !== undefined) reading.unit = r.unit;
  if (r.loc !== undefined) reading.loc = r.loc;
  if (place.subcenterId !== undefined) reading.subcenterId = place.subcenterId;
  return reading;
}

export interface Ingest extends Subscription {
  /** Its per-device caches, forgotten when a device is deleted (core/device-state.ts). */
  readonly deviceState: DeviceStateHolder;
}

export async function startIngest(opts: IngestOptions): Promise<Ingest> {
  const { bus, series, devices, clock, metrics } = opts;
  const log = opts.logger.child({ stage: 'ingest' });
  const lastTouched = new Map<string, number>();
  const known = new IngestDevices(devices, clock, {
    maxDevices: opts.maxDevices ?? DEFAULT_INGEST_DEVICES,
    recordTtlMs: DEVICE_CACHE_TTL_MS,
    saveIntervalMs: TOUCH_INTERVAL_MS,
    maxChildren: MAX_GATEWAY_DEVICES,
  });
  const limits: PublishLimits = { ...opts.ingest, positionSlackMetres: POSITION_SLACK_METRES };

  /** Devices judged earlier in the batch are judged on, from the state the batch gave them. */
  function batchView(out: BatchOutput): KnownDevices {
    return {
      device: (id) => known.device(id),
      trust: (id) => out.settled.get(id)?.state ?? known.trust(id),
      senmlDirectory: (id) => known.senmlDirectory(id),
    };
  }

  /**
   * Where a location falls, by the location object, for the city index in use: a fixed device's
   * readings all carry its provisioned location object (trust.ts), so each is placed once per
   * city and per record refresh instead of once per reading. Weakly held: an entry lives as long
   * as its location does (the device records ingest holds, at most `maxDevices`, or a reading
   * still in hand), and a new city index starts a new map.
   */
  let placements = { index: undefined as CityIndex | undefined, byLoc: new WeakMap<Location, Placement>() };
  function place(index: CityIndex, loc: Location | undefined): Placement {
    if (!loc) return index.place(loc);
    if (placements.index !== index) placements = { index, byLoc: new WeakMap() };
    let placement = placements.byLoc.get(loc);
    if (!placement) placements.byLoc.set(loc, (placement = index.place(loc)));
    return placement;
  }

  function handleOne(raw: RawPublish, view: KnownDevices, out: BatchOutput): void {
    const result = processPublish(raw, view, limits);
    for (const e of result.rejections) metrics.rejected.inc({ code: e.code });
    for (const d of rejectionLetters(result.rejections)) out.dead.push(deadLetter(raw, result.deviceId, d));
    const index = opts.cityIndex();
    for (const r of result.readings) out.readings.push(placedReading(r, place(index, r.loc)));
    for (const { index: _index, ...e } of result.events) {
      const place = index.place(e.loc);
      // The rest is this loop's own copy: keys are added to it, not spread into another (core/objects.ts).
      const event: CameraEvent = Object.assign(e, { zoneIds: place.zoneIds });
      if (place.subcenterId !== undefined) event.subcenterId = place.subcenterId;
      out.events.push(event);
    }
    if (raw.reportTo !== undefined) out.reports.set(raw.reportTo, ingestReport([...result.readings, ...result.events], result.rejections));
    if (known.device(result.deviceId)) out.seen.add(result.deviceId);
    if (result.status) out.statuses.set(result.deviceId, { status: result.status, at: raw.receivedAt });
    for (const { device, outcome } of result.settled) {
      const before = out.settled.get(device.id)?.changed;
      const changed = before ? { metrics: before.metrics || outcome.changed.metrics, lastReadingAt: before.lastReadingAt || outcome.changed.lastReadingAt, position: before.position || outcome.changed.position } : outcome.changed;
      out.settled.set(device.id, { device, state: outcome.state, changed });
      out.seen.add(device.id);
    }
  }

  function dueForTouch(seen: Set<string>, now: number): string[] {
    const due: string[] = [];
    for (const id of seen) {
      if (now - (lastTouched.get(id) ?? 0) >= TOUCH_INTERVAL_MS) {
        lastTouched.set(id, now);
        due.push(id);
      }
    }
    return due;
  }

  const deviceState: DeviceStateHolder = {
    name: 'ingest device caches',
    forget: (ids) => {
      for (const id of ids) {
        known.forget(id);
        lastTouched.delete(id);
      }
    },
    known: () => new Set([...known.ids(), ...lastTouched.keys()]),
  };

  // Observed for every publish that brought readings: the series' child is looked up once, not by its labels each time.
  const lag = metrics.stageLag.labels({ stage: 'ingest' });
  const subscription = await bus.subscribe('sw.raw', 'ingest', async (records, batch) => {
    const ids = new Set<string>();
    const gateways = new Set<string>();
    for (const { value } of records) {
      const topic = parseDeviceTopic(value.topic);
      const id = topic?.deviceId ?? value.clientId;
      ids.add(id);
      // A SenML publisher may speak for other devices: its list comes with it.
      if (topic && classifyDeviceTopic(topic.rest) === 'senml') gateways.add(id);
    }
    await known.load(ids, gateways);
    const out: BatchOutput = { readings: [], events: [], dead: [], statuses: new Map(), seen: new Set(), settled: new Map(), reports: new Map() };
    const view = batchView(out);
    for (const { value: raw } of records) {
      try {
        handleOne(raw, view, out);
      } catch (err) {
        // A bug must cost one message, not the pipeline: it is dead-lettered and counted.
        log.error({ err, ref: raw.id }, 'unexpected error decoding a publish');
        metrics.rejected.inc({ code: 'SW_ERR_INTERNAL' });
        const internal = swError('SW_ERR_INTERNAL', 'the publish could not be processed');
        out.dead.push(deadLetter(raw, raw.clientId, internal));
        if (raw.reportTo !== undefined) out.reports.set(raw.reportTo, ingestReport([], [internal]));
      }
    }
    const trust = known.due(out.settled);
    await series.write(out.readings, batch);
    batch.publish('sw.readings', out.readings.map((r): BusRecord<Reading> => ({ key: r.deviceId, value: r })));
    batch.publish('sw.events', out.events.map((e): BusRecord<CameraEvent> => ({ key: e.deviceId, value: e })));
    batch.publish('sw.deadletter', out.dead.map((d): BusRecord<DeadLetter> => ({ key: d.deviceId, value: d })));
    metrics.readingsStored.inc(out.readings.length);
    const now = clock.now();
    observePublishLag(lag, now, out.readings);
    // Device status, last-seen time and saved trust state: idempotent or merged forward, so a
    // replayed batch writes them again harmlessly.
    await Promise.all([
      ...[...out.statuses].map(([id, s]) => devices.setStatus(id, s.status, s.at)),
      devices.touch(dueForTouch(out.seen, now), now),
      devices.saveTrust(trust),
    ]);
    // Only once the readings are durable: HTTP ingest's answers say they are stored, and the
    // trust in memory moves on (a batch whose commit fails is judged again from the same state).
    batch.afterCommit(async () => {
      if (out.reports.size) await opts.kv.setMany(out.reports);
      known.commit(out.settled, trust);
    });
  });

  return {
    deviceState,
    async close() {
      await subscription.close();
      // What was trusted since the last save is kept for the next start.
      await devices.saveTrust(known.takeAll()).catch((err: unknown) => log.warn({ err }, 'could not save the devices\' trust state'));
    },
  };
}
