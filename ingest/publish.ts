/**
 * One publish from `sw.raw` through decoding and trust: what is stored, what is refused and why,
 * and what the devices' trust state becomes. Pure: the stage gives it the devices as they are
 * known (device-state.ts) and writes the outcome.
 */
import { swError, type StreetWatchError } from '../core/errors.js';
import type { DeviceRecord, RawPublish } from '../core/schemas.js';
import { classifyDeviceTopic, parseDeviceTopic } from '../core/topics.js';
import type { DecodedEvent, DecodedReading, PositionClaim } from './decode.js';
import { decodePublish, type DecodedPublish } from './decoders.js';
import type { SenmlDirectory } from './senml.js';
import { applyTrust, type DeviceTrustState, type TrustLimits, type TrustOutcome } from './trust.js';

export interface PublishLimits extends TrustLimits {
  maxPayloadBytes: number;
  maxClockSkewMs: number;
  maxReadingAgeMs: number;
}

/** The devices as ingest knows them at this moment. */
export interface KnownDevices {
  device(id: string): DeviceRecord | undefined;
  trust(id: string): DeviceTrustState;
  senmlDirectory(id: string): SenmlDirectory;
}

export interface PublishOutcome {
  /** The device of the topic (or the client, for a topic that names none). */
  deviceId: string;
  readings: DecodedReading[];
  events: DecodedEvent[];
  status?: 'online' | 'offline';
  /** Every refusal, in the order of the objects or records of the publish. */
  rejections: StreetWatchError[];
  /** New trust state per device heard (a gateway's pack can speak for several). */
  settled: { device: DeviceRecord; outcome: TrustOutcome }[];
}

export function processPublish(raw: RawPublish, known: KnownDevices, limits: PublishLimits): PublishOutcome {
  const topic = parseDeviceTopic(raw.topic);
  const deviceId = topic?.deviceId ?? raw.clientId;
  const device = known.device(deviceId);
  const out: PublishOutcome = { deviceId, readings: [], events: [], rejections: [], settled: [] };
  if (!device) {
    out.rejections.push(swError('SW_ERR_DEVICE_UNKNOWN', deviceId));
    return out;
  }
  const kind = topic ? classifyDeviceTopic(topic.rest) : 'unknown';
  const decoded = decodePublish(kind, raw.topic, raw.payload, {
    deviceId,
    ref: raw.id,
    receivedAt: raw.receivedAt,
    maxPayloadBytes: limits.maxPayloadBytes,
    maxClockSkewMs: limits.maxClockSkewMs,
    maxReadingAgeMs: limits.maxReadingAgeMs,
    ...(kind === 'senml' ? { senml: known.senmlDirectory(deviceId) } : {}),
  });
  if (decoded.status) out.status = decoded.status;
  out.rejections.push(...decoded.rejections);

  for (const [id, input] of byDevice(decoded)) {
    const subject = known.device(id);
    if (!subject) {
      // The directory only names provisioned devices; a device removed meanwhile is unknown.
      out.rejections.push(swError('SW_ERR_DEVICE_UNKNOWN', id));
      continue;
    }
    const outcome = applyTrust(subject, known.trust(id), { receivedAt: raw.receivedAt, readings: input.readings, events: input.events, positions: input.positions }, limits);
    out.readings.push(...outcome.readings);
    out.events.push(...outcome.events);
    out.rejections.push(...outcome.rejections);
    out.settled.push({ device: subject, outcome });
  }
  out.rejections.sort((a, b) => recordOf(a) - recordOf(b));
  return out;
}

type DeviceInput = Pick<DecodedPublish, 'readings' | 'events' | 'positions'>;

/**
 * A gateway's pack may speak for several devices: each is judged on its own state, in the order
 * the publish first names them. Nearly every publish speaks for one device only, and is taken
 * whole, without sorting its items.
 */
function byDevice(decoded: DecodedPublish): Iterable<[string, DeviceInput]> {
  const { readings, events, positions } = decoded;
  const first = readings[0]?.deviceId ?? events[0]?.deviceId ?? positions[0]?.deviceId;
  if (first === undefined) return [];
  const one = (x: { deviceId: string }) => x.deviceId === first;
  if (readings.every(one) && events.every(one) && positions.every(one)) return [[first, decoded]];
  const parts = new Map<string, { readings: DecodedReading[]; events: DecodedEvent[]; positions: PositionClaim[] }>();
  const part = (id: string) => parts.get(id) ?? parts.set(id, { readings: [], events: [], positions: [] }).get(id)!;
  for (const r of readings) part(r.deviceId).readings.push(r);
  for (const e of events) part(e.deviceId).events.push(e);
  for (const p of positions) part(p.deviceId).positions.push(p);
  return parts;
}

function recordOf(e: StreetWatchError): number {
  return (e.details as { record?: number } | undefined)?.record ?? -1;
}
