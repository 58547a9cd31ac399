/**
 * The parse-or-reject step every JSON payload goes through, devices' and operators' alike:
 * pure, no I/O, each refusal a catalogued error.
 */
import { isUtf8 } from 'node:buffer';
import { swError } from './errors.js';

/** Size, encoding and JSON checks shared by every JSON topic; the byte cap comes first. */
export function parseJsonPayload(payload: Buffer, maxBytes: number): unknown {
  if (payload.length > maxBytes) throw swError('SW_ERR_PAYLOAD_TOO_LARGE', payload.length, maxBytes);
  if (!isUtf8(payload)) throw swError('SW_ERR_PAYLOAD_ENCODING');
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw swError('SW_ERR_PAYLOAD_JSON', (err as Error).message.slice(0, 200));
  }
}
