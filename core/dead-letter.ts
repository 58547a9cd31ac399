import type { StreetWatchError } from './errors.js';
import { DEAD_LETTER_PAYLOAD_CAP, DEVICE_ERROR_TEXT_MAX, type DeadLetter, type DeviceErrorMessage, type RawPublish } from './schemas.js';

/**
 * A topic may be 64 KiB long and messages quote it: cut, so that a rejection is never bigger than
 * the published schema allows, nor than the publish that caused it.
 */
function cut(text: string): string {
  return text.length <= DEVICE_ERROR_TEXT_MAX ? text : `${text.slice(0, DEVICE_ERROR_TEXT_MAX - 1)}…`;
}

/** The dead-letter record of a rejected publish, with its payload capped. */
export function deadLetter(raw: RawPublish, deviceId: string, error: StreetWatchError): DeadLetter {
  const truncated = raw.payload.length > DEAD_LETTER_PAYLOAD_CAP;
  return {
    ref: raw.id,
    deviceId,
    clientId: raw.clientId,
    topic: cut(raw.topic),
    code: error.code,
    message: cut(error.message),
    receivedAt: raw.receivedAt,
    payload: (truncated ? raw.payload.subarray(0, DEAD_LETTER_PAYLOAD_CAP) : raw.payload).toString('base64'),
    truncated,
  };
}

/** What the device receives on `v1/devices/{id}/errors`. */
export function deviceErrorMessage(d: DeadLetter): DeviceErrorMessage {
  return { code: d.code, message: d.message, topic: d.topic, ref: d.ref };
}
