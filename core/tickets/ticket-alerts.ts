/**
 * A ticket's alerts, pure: which alert is a replay, how a fingerprint's state changes are
 * counted and when they are flapping, and how the list stays bounded. Used by the lifecycle
 * (mergeFiring, applyResolved) and by anything that rebuilds tickets from alerts.
 */
import type { FlappingPolicy } from '../city.js';
import type { Alert, Ticket, TicketAlert } from '../schemas.js';

/** Alert entries a ticket lists; beyond it the least recently seen resolved one rolls out. */
export const MAX_TICKET_ALERTS = 40;
/** Devices a ticket lists by name (grading counts them; the aggregation rows stay far below). */
export const MAX_TICKET_DEVICES = 100;
/** Ids of the latest applied alerts kept on the ticket, for alerts whose fingerprint rolled out. */
export const MAX_APPLIED_ALERT_IDS = 32;

const STATUS_RANK: Record<Alert['status'], number> = { firing: 0, resolved: 1 };

/**
 * True when the ticket already applied this alert or a later transition of its fingerprint: a
 * redelivery, or a replay of any prefix of the fingerprint's history. A fingerprint's
 * transitions are ordered by the episode's start, then firing before resolved (the detectors'
 * alert ids say the same: `<fingerprint>@<startsAt>:<status>`).
 */
export function isReplay(ticket: Ticket, alert: Alert): boolean {
  if (ticket.appliedAlertIds?.includes(alert.id)) return true;
  const entry = ticket.alerts.find((a) => a.fingerprint === alert.fingerprint);
  if (!entry) return false;
  if (entry.id === alert.id) return true;
  if (entry.startsAt === undefined) return false;
  if (alert.startsAt !== entry.startsAt) return alert.startsAt < entry.startsAt;
  return STATUS_RANK[alert.status] <= STATUS_RANK[entry.status];
}

export function rememberApplied(ids: readonly string[] | undefined, id: string): string[] {
  return [...(ids ?? []), id].slice(-MAX_APPLIED_ALERT_IDS);
}

export interface ChangeVerdict {
  entry: TicketAlert;
  /** The change made it start or stop flapping (false: no change of flapping state). */
  started: boolean;
  stopped: boolean;
}

/**
 * Records a state change of an alert entry at event time `at` and re-evaluates flapping: it
 * starts when the latest `high` changes all fall within `window`, and stops at a change that
 * leaves at most `low` changes within `window` before it (hysteresis, so an alert on the edge
 * does not flap in and out of flapping).
 */
export function recordChange(entry: TicketAlert, at: number, policy: FlappingPolicy): ChangeVerdict {
  const changes = [...(entry.changes ?? []), at].sort((a, b) => a - b).slice(-policy.high);
  const latest = changes.at(-1)!;
  const inWindow = changes.filter((t) => t > latest - policy.window).length;
  const was = entry.flapping === true;
  let flapping = was;
  if (!was && changes.length >= policy.high && inWindow >= policy.high) flapping = true;
  else if (was && inWindow <= policy.low) flapping = false;
  return { entry: { ...entry, changes, flapping }, started: !was && flapping, stopped: was && !flapping };
}

export function toTicketAlert(alert: Alert): TicketAlert {
  return {
    id: alert.id,
    fingerprint: alert.fingerprint,
    deviceId: alert.deviceId,
    ruleId: alert.ruleId,
    metric: alert.metric,
    value: alert.value,
    status: alert.status,
    firstSeen: alert.startsAt,
    lastSeen: alert.ts,
    startsAt: alert.startsAt,
    firings: alert.status === 'firing' ? 1 : 0,
    changes: [alert.ts],
    flapping: false,
    ...(alert.report ? { report: true } : {}),
  };
}

/** Who an alert speaks for in the timeline: the sensor, or the person who reported it. */
export function alertActor(alert: Pick<Alert, 'deviceId' | 'report'>): string {
  return alert.report ? alert.report.by : `sensor:${alert.deviceId}`;
}

/**
 * Adds an entry to a full list: the least recently seen resolved entry (or people's report, which
 * never resolves) rolls out: nothing waits on it. With every entry a sensor's still firing, the
 * new one is not listed: the older ones keep their place, so their resolutions still find them.
 * Returns the list and how many entries rolled out or were not listed.
 */
export function addBounded(alerts: readonly TicketAlert[], entry: TicketAlert, max = MAX_TICKET_ALERTS): { alerts: TicketAlert[]; rolledUp: number } {
  if (alerts.length < max) return { alerts: [...alerts, entry], rolledUp: 0 };
  let oldest = -1;
  alerts.forEach((a, i) => {
    if ((a.status === 'resolved' || a.report === true) && (oldest < 0 || a.lastSeen < alerts[oldest]!.lastSeen)) oldest = i;
  });
  if (oldest < 0) return { alerts: [...alerts], rolledUp: 1 };
  return { alerts: [...alerts.slice(0, oldest), ...alerts.slice(oldest + 1), entry], rolledUp: 1 };
}

export function addDevice(devices: readonly string[], deviceId: string): string[] {
  if (devices.includes(deviceId) || devices.length >= MAX_TICKET_DEVICES) return [...devices];
  return [...devices, deviceId];
}
