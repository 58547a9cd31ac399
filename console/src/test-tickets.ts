/** Tickets for the console's unit tests. */
import type { Ticket } from '../../core/schemas.js';

export const T0 = Date.UTC(2026, 5, 1, 8, 0, 0);
const MIN = 60_000;

export function ticket(over: Partial<Ticket> = {}): Ticket {
  return {
    id: 'SW-1',
    grade: 'B',
    baseGrade: 'B',
    gradeReasons: [],
    category: 'flooding',
    department: 'water-affairs',
    subcenterId: 'north',
    routedToFallback: false,
    zoneId: 'north-tunnel',
    ruleId: 'tunnel-flooding',
    mergeKey: 'tunnel-flooding|zone:north-tunnel',
    status: 'dispatched',
    title: '隧道积水 · 北隧道',
    createdAt: T0,
    updatedAt: T0,
    dispatchedAt: T0,
    respondBy: T0 + 30 * MIN,
    resolveBy: T0 + 12 * 60 * MIN,
    respondedAt: null,
    resolvedAt: null,
    closedAt: null,
    closure: null,
    location: { lat: 23.145, lon: 113.315 },
    alerts: [{ id: 'a1', fingerprint: 'f1', deviceId: 'wl-1', ruleId: 'tunnel-flooding', metric: 'water_level', value: 0.45, status: 'firing', firstSeen: T0, lastSeen: T0 }],
    alertCount: 1,
    devices: ['wl-1'],
    firstSeen: T0,
    lastSeen: T0,
    reminders: [],
    overdue: [],
    red: false,
    supervisionOrderIds: [],
    timeline: [
      { at: T0, actor: 'sensor:wl-1', action: 'created' },
      { at: T0, actor: 'system', action: 'dispatched' },
    ],
    version: 1,
    ...over,
  };
}

/** The ticket after a move at `at`, with the bookkeeping the server does (core/tickets/lifecycle.ts). */
export function moved(t: Ticket, status: Ticket['status'], at: number): Ticket {
  const next: Ticket = { ...t, status, updatedAt: at, timeline: [...t.timeline, { at, actor: 'admin', action: status }], version: t.version + 1 };
  if (['acknowledged', 'in_progress', 'resolved'].includes(status) && next.respondedAt === null) next.respondedAt = at;
  if (status === 'resolved') next.resolvedAt = at;
  if (status === 'closed') next.closedAt = at;
  return next;
}
