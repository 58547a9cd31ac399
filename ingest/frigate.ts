/**
 * `v1/devices/{id}/frigate/events`: Frigate NVR event messages, unchanged, mapped onto camera
 * events. Pure, no I/O.
 *
 * Frigate publishes one message when a tracked object is first confirmed (`new`), more while it
 * is tracked (`update`: a better snapshot, a zone change) and one when it is gone (`end`). Each
 * carries the object's state `before` and `after` the change; the event is built from `after`.
 */
import { swError } from '../core/errors.js';
import { FrigateEvent } from '../core/adapter-schemas.js';
import { METRIC_RE } from '../core/schemas.js';
import { describeZodError } from '../core/zod-issues.js';
import { checkTimestamp, jsonPayload, NOT_JSON, type DecodeContext, type Decoded, type DecodedEvent } from './decode.js';

/** Frigate labels come from its label map ("person", "traffic light"): as an event type, `traffic_light`. */
export function eventTypeOfLabel(label: string): string {
  return label.trim().toLowerCase().replace(/[^a-z0-9_]+/g, '_');
}

export function decodeFrigateEvent(payload: Buffer, ctx: DecodeContext): Decoded<DecodedEvent> {
  const out: Decoded<DecodedEvent> = { items: [], rejections: [] };
  const data = jsonPayload(payload, ctx, out);
  if (data === NOT_JSON) return out;
  const parsed = FrigateEvent.safeParse(data);
  if (!parsed.success) {
    out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', describeZodError(parsed.error)));
    return out;
  }
  const { type: phase, after } = parsed.data;
  const type = eventTypeOfLabel(after.label);
  if (!METRIC_RE.test(type)) {
    out.rejections.push(swError('SW_ERR_PAYLOAD_SCHEMA', `after.label: ${JSON.stringify(after.label)} does not make an event type (letters, digits, "_", starting with a letter)`));
    return out;
  }
  // The frame the state comes from; an `end` may carry only its end time.
  const seconds = after.frame_time ?? (phase === 'end' ? after.end_time : undefined) ?? after.start_time;
  const ts = seconds == null ? ctx.receivedAt : Math.round(seconds * 1000);
  const tsError = checkTimestamp(ts, ctx);
  if (tsError) {
    out.rejections.push(tsError);
    return out;
  }
  const event: DecodedEvent = {
    // Derived from Frigate's own ids, so a message the NVR sends twice is recognised downstream.
    id: `frigate:${after.id}:${phase}:${ts}`,
    deviceId: ctx.deviceId,
    type,
    phase,
    trackId: after.id,
    camera: after.camera,
    ts,
    receivedAt: ctx.receivedAt,
    ref: ctx.ref,
    index: 0,
  };
  // Frigate decides whether an object is real on its best score so far, not the current frame's.
  const score = after.top_score ?? after.score;
  if (score != null) event.score = score;
  const zones = after.entered_zones ?? after.current_zones;
  if (zones && zones.length > 0) event.cameraZones = [...zones];
  if (after.stationary != null) event.stationary = after.stationary;
  if (after.false_positive != null) event.falsePositive = after.false_positive;
  out.items.push(event);
  return out;
}
