/**
 * The alert node's logic: an operator alert from a message, checked against the platform's
 * contract (OperatorAlert) before it is sent, so a flow learns of a mistake at once, with the
 * same wording the platform would use.
 */
import { StreetWatchError } from '../../core/errors.js';
import { OperatorAlert } from '../../core/schemas.js';
import { describeZodError } from '../../core/zod-issues.js';

/** The node's settings; empty fields come from the message. */
export interface AlertSettings {
  ruleId: string;
  grade: string;
  category: string;
  department?: string;
  summary?: string;
}

/** The parts of a Node-RED message the alert is made from. */
export interface AlertSource {
  /** A reading (or any object with deviceId, metric, value, ts, loc). */
  payload?: unknown;
  /** Set by the threshold node: the transition and its start. */
  threshold?: { status?: unknown; startsAt?: unknown; bound?: unknown };
  /** Set by the geofence node. */
  zone?: { id?: unknown } | null;
  /** Anything here overrides the rest: a function node's way to set fields directly. */
  alert?: Record<string, unknown>;
}

const pick = (o: unknown, key: string): unknown => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined);
const given = (entries: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined && v !== ''));

/**
 * The alert a message stands for: the node's settings, the reading in `payload`, the threshold
 * transition, the geofence's zone, then `msg.alert` over all of them. Throws a coded
 * SW_ERR_PAYLOAD_SCHEMA naming the first field that is wrong.
 */
export function operatorAlertFrom(msg: AlertSource, settings: AlertSettings, ref: string): OperatorAlert {
  const p = msg.payload;
  const candidate = {
    ...given({
      ruleId: settings.ruleId,
      grade: settings.grade,
      category: settings.category,
      department: settings.department,
      summary: settings.summary,
      deviceId: pick(p, 'deviceId'),
      metric: pick(p, 'metric'),
      value: pick(p, 'value'),
      ts: pick(p, 'ts'),
      loc: pick(p, 'loc'),
      status: msg.threshold?.status,
      startsAt: msg.threshold?.startsAt,
      threshold: msg.threshold?.bound,
      zoneId: msg.zone?.id,
      ref,
    }),
    ...(msg.alert ?? {}),
  };
  const parsed = OperatorAlert.safeParse(candidate);
  if (!parsed.success) throw new StreetWatchError('SW_ERR_PAYLOAD_SCHEMA', [describeZodError(parsed.error)]);
  return parsed.data;
}
