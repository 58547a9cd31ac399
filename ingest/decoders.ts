/**
 * One entry point per device topic: which decoder reads a publish, by the kind of its topic.
 * Adding a vendor format is a new decoder and a line here.
 */
import { swError, type StreetWatchError } from '../core/errors.js';
import type { classifyDeviceTopic } from '../core/topics.js';
import { decodeCameraEvent, decodeStatus, decodeTelemetry, type DecodeContext, type DecodedEvent, type DecodedReading, type PositionClaim } from './decode.js';
import { decodeFrigateEvent } from './frigate.js';
import { decodeSenml } from './senml.js';

export interface DecodedPublish {
  readings: DecodedReading[];
  events: DecodedEvent[];
  /** Positions the payload states (claims: trust.ts decides whether they are believed). */
  positions: PositionClaim[];
  status?: 'online' | 'offline';
  rejections: StreetWatchError[];
}

export function decodePublish(kind: ReturnType<typeof classifyDeviceTopic>, topic: string, payload: Buffer, ctx: DecodeContext): DecodedPublish {
  switch (kind) {
    case 'telemetry':
    case 'senml': {
      const { items, rejections, positions = [] } = kind === 'telemetry' ? decodeTelemetry(payload, ctx) : decodeSenml(payload, ctx);
      return { readings: items, events: [], positions, rejections };
    }
    case 'events':
    case 'frigate-event': {
      const { items, rejections, positions = [] } = kind === 'events' ? decodeCameraEvent(payload, ctx) : decodeFrigateEvent(payload, ctx);
      return { readings: [], events: items, positions, rejections };
    }
    case 'status':
      try {
        return { readings: [], events: [], positions: [], status: decodeStatus(payload), rejections: [] };
      } catch (err) {
        return { readings: [], events: [], positions: [], rejections: [err as StreetWatchError] };
      }
    default:
      // `frigate-other` never gets here (the broker drops it), `errors` is refused by the ACL.
      return { readings: [], events: [], positions: [], rejections: [swError('SW_ERR_TOPIC_UNKNOWN', topic)] };
  }
}
