/**
 * Ingest: `sw.raw` → decode and validate → time-series store → `sw.readings` / `sw.events`,
 * rejections → `sw.deadletter`. The store write completes before the batch is acknowledged.
 */
import { swError, type StreetWatchError } from '../core/errors.js';
import type { CityIndex } from '../core/city-index.js';
import { deadLetter } from '../core/dead-letter.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, BusRecord, Clock, DeviceRegistry, SeriesStore, Subscription } from '../core/ports.js';
import type { CameraEvent, DeadLetter, DeviceRecord, RawPublish, Reading } from '../core/schemas.js';
import { classifyDeviceTopic, parseDeviceTopic } from '../core/topics.js';
import type { DecodeContext } from './decode.js';
import { decodePublish } from './decoders.js';

/** How long a device record is trusted before it is read again (location, removal). */
const DEVICE_CACHE_TTL_MS = 30_000;
/** A device's last-seen time is written at most this often. */
const TOUCH_INTERVAL_MS = 10_000;
/** Rejections reported one by one per publish; the rest are summarized in one more message. */
export const MAX_REJECTIONS_PER_PUBLISH = 10;

/**
 * The refusals a device is told about: the first ten as they are, then one
 * SW_ERR_MORE_REJECTIONS counting the rest by code, so that a bad pack of 1000 records costs the
 * device eleven messages, not a thousand. (Each refusal is still counted in /metrics by its code.)
 */
export function rejectionLetters(errors: readonly StreetWatchError[]): StreetWatchError[] {
  if (errors.length <= MAX_REJECTIONS_PER_PUBLISH) return [...errors];
  const rest = errors.slice(MAX_REJECTIONS_PER_PUBLISH);
  const byCode = new Map<string, number>();
  for (const e of rest) byCode.set(e.code, (byCode.get(e.code) ?? 0) + 1);
  const summary = [...byCode].map(([code, n]) => `${code} ×${n}`).join(', ');
  return [...errors.slice(0, MAX_REJECTIONS_PER_PUBLISH), swError('SW_ERR_MORE_REJECTIONS', rest.length, summary)];
}

export interface IngestOptions {
  bus: Bus;
  series: SeriesStore;
  devices: DeviceRegistry;
  /** Current city; read on every batch so a reload applies at once. */
  cityIndex: () => CityIndex;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  maxPayloadBytes: number;
  maxClockSkewMs: number;
  maxReadingAgeMs: number;
}

interface BatchOutput {
  readings: Reading[];
  events: CameraEvent[];
  dead: DeadLetter[];
  statuses: Map<string, { status: 'online' | 'offline'; at: number }>;
  seen: Set<string>;
}

export async function startIngest(opts: IngestOptions): Promise<Subscription> {
  const { bus, series, devices, clock, metrics } = opts;
  const log = opts.logger.child({ stage: 'ingest' });
  const cache = new Map<string, { device: DeviceRecord | undefined; at: number }>();
  const lastTouched = new Map<string, number>();

  async function lookupDevices(ids: Iterable<string>): Promise<Map<string, DeviceRecord | undefined>> {
    const now = clock.now();
    const out = new Map<string, DeviceRecord | undefined>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = cache.get(id);
      if (hit && now - hit.at < DEVICE_CACHE_TTL_MS) out.set(id, hit.device);
      else missing.push(id);
    }
    const fetched = await Promise.all(missing.map((id) => devices.get(id)));
    missing.forEach((id, i) => {
      cache.set(id, { device: fetched[i], at: now });
      out.set(id, fetched[i]);
    });
    return out;
  }

  function handleOne(raw: RawPublish, device: DeviceRecord | undefined, out: BatchOutput): void {
    const topic = parseDeviceTopic(raw.topic);
    const deviceId = topic?.deviceId ?? raw.clientId;
    const reject = (errors: StreetWatchError[]): void => {
      for (const e of errors) metrics.rejected.inc({ code: e.code });
      for (const d of rejectionLetters(errors)) out.dead.push(deadLetter(raw, deviceId, d));
    };
    if (!device) return reject([swError('SW_ERR_DEVICE_UNKNOWN', deviceId)]);
    out.seen.add(device.id);
    const ctx: DecodeContext = {
      deviceId: device.id,
      ref: raw.id,
      receivedAt: raw.receivedAt,
      maxPayloadBytes: opts.maxPayloadBytes,
      maxClockSkewMs: opts.maxClockSkewMs,
      maxReadingAgeMs: opts.maxReadingAgeMs,
    };
    const kind = topic ? classifyDeviceTopic(topic.rest) : 'unknown';
    const index = opts.cityIndex();
    const decoded = decodePublish(kind, raw.topic, raw.payload, ctx);
    for (const { index: _index, ...r } of decoded.readings) {
      r.loc ??= device.location ?? undefined;
      const place = index.place(r.loc);
      const reading: Reading = { ...r, zoneIds: place.zoneIds };
      if (place.subcenterId !== undefined) reading.subcenterId = place.subcenterId;
      out.readings.push(reading);
    }
    for (const { index: _index, ...e } of decoded.events) {
      e.loc ??= device.location ?? undefined;
      const place = index.place(e.loc);
      const event: CameraEvent = { ...e, zoneIds: place.zoneIds };
      if (place.subcenterId !== undefined) event.subcenterId = place.subcenterId;
      out.events.push(event);
    }
    if (decoded.status) out.statuses.set(device.id, { status: decoded.status, at: raw.receivedAt });
    if (decoded.rejections.length) reject(decoded.rejections);
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

  return bus.subscribe('sw.raw', 'ingest', async (records) => {
    const ids = new Set<string>();
    for (const { value } of records) ids.add(parseDeviceTopic(value.topic)?.deviceId ?? value.clientId);
    const known = await lookupDevices(ids);
    const out: BatchOutput = { readings: [], events: [], dead: [], statuses: new Map(), seen: new Set() };
    for (const { value: raw } of records) {
      try {
        handleOne(raw, known.get(parseDeviceTopic(raw.topic)?.deviceId ?? raw.clientId), out);
      } catch (err) {
        // A bug must cost one message, not the pipeline: it is dead-lettered and counted.
        log.error({ err, ref: raw.id }, 'unexpected error decoding a publish');
        metrics.rejected.inc({ code: 'SW_ERR_INTERNAL' });
        out.dead.push(deadLetter(raw, raw.clientId, swError('SW_ERR_INTERNAL', 'the publish could not be processed')));
      }
    }
    // Durable first: a batch is acknowledged only after its readings are stored.
    await series.write(out.readings);
    metrics.readingsStored.inc(out.readings.length);
    const now = clock.now();
    for (const r of out.readings) metrics.stageLag.observe({ stage: 'ingest' }, (now - r.receivedAt) / 1000);
    await Promise.all([
      out.readings.length ? bus.publish('sw.readings', out.readings.map((r): BusRecord<Reading> => ({ key: r.deviceId, value: r }))) : undefined,
      out.events.length ? bus.publish('sw.events', out.events.map((e): BusRecord<CameraEvent> => ({ key: e.deviceId, value: e }))) : undefined,
      out.dead.length ? bus.publish('sw.deadletter', out.dead.map((d): BusRecord<DeadLetter> => ({ key: d.deviceId, value: d }))) : undefined,
      ...[...out.statuses].map(([id, s]) => devices.setStatus(id, s.status, s.at)),
      devices.touch(dueForTouch(out.seen, now), now),
    ]);
  });
}
