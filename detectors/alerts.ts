/**
 * Alerts as the detectors emit them: one fingerprint per rule and subject (a device, or a zone
 * for zone-wide rules), and an id per transition that a replay reproduces exactly, so alerting
 * can drop a redelivered alert.
 */
import type { Grade, Alert, Location } from '../core/schemas.js';

/** Where an alert belongs: its risk zone, the sub-center's jurisdiction, the position. */
export interface AlertPlace {
  zoneId: string | null;
  subcenterId?: string | undefined;
  loc?: Location | undefined;
}

export interface AlertFacts {
  rule: { id: string; grade: Grade; category: string; department?: string | undefined };
  /** `deviceId`, or `zone:<zoneId>` for rules that watch a zone as a whole. */
  subject: string;
  status: 'firing' | 'resolved';
  /** When the condition began (event time; arrival time for deadman). */
  startsAt: number;
  /** The time of what caused the transition. */
  ts: number;
  deviceId: string;
  metric: string;
  value: number;
  threshold?: number | undefined;
  place: AlertPlace;
  summary: string;
}

export function alertFingerprint(ruleId: string, subject: string): string {
  return `${ruleId}/${subject}`;
}

export function makeAlert(f: AlertFacts): Alert {
  const fingerprint = alertFingerprint(f.rule.id, f.subject);
  const alert: Alert = {
    // Deterministic: a replayed batch produces the same id, so alerting can drop it.
    id: `${fingerprint}@${f.startsAt}:${f.status}`,
    fingerprint,
    status: f.status,
    ruleId: f.rule.id,
    deviceId: f.deviceId,
    metric: f.metric,
    value: f.value,
    grade: f.rule.grade,
    category: f.rule.category,
    // Empty: alerting takes the category's department from the city configuration.
    department: f.rule.department ?? '',
    ts: Math.round(f.ts),
    startsAt: Math.round(f.startsAt),
    summary: f.summary.slice(0, 512),
  };
  if (f.threshold !== undefined) alert.threshold = f.threshold;
  if (f.place.zoneId !== null) alert.zoneId = f.place.zoneId;
  if (f.place.subcenterId !== undefined) alert.subcenterId = f.place.subcenterId;
  if (f.place.loc) alert.loc = f.place.loc;
  return alert;
}

/** "12m", "1h 5m": how long, for summaries. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
}
