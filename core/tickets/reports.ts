/**
 * People's reports (统一归集), pure. A grid worker's report, or a citizen's or 12345 system's
 * Open311 request, becomes an alert of its own kind on `sw.alerts`, so it merges exactly like a
 * sensor's: a flooding report at an underpass joins the ticket its water-level sensor opened,
 * and a sensor alert joins an open report ticket. A ticket a report opened is confirmed closed
 * by that reporter (上报人确认结案), who says whether it is fixed and how satisfied they are,
 * or, once the reporter's time has run out, by the district command center.
 */
import type { CityIndex } from '../city-index.js';
import type { GovernancePolicy } from '../city.js';
import { swError } from '../errors.js';
import type { Alert, Grade, Location, ReporterRating, Satisfaction, Ticket } from '../schemas.js';
import { appendTimeline } from './timeline.js';

/** Answers a ticket keeps from its reporter (one per resolution, so a handful in practice). */
export const MAX_RATINGS = 20;

/** What a report says, as the API took it in. */
export interface ReportIntake {
  id: string;
  channel: 'grid' | 'open311';
  /** The timeline's actor: `unit:<grid>` for a grid worker, `reporter:<report id>` for Open311. */
  actor: string;
  category: string;
  grade: Grade;
  location: Location;
  note: string;
  at: number;
}

const RISK_RANK = { high: 0, medium: 1, low: 2 } as const;

/**
 * The risk zone a report is about: of the zones containing the place, the riskiest (then the
 * lowest id), so that a report merges with the incident a sensor there would have opened.
 */
export function zoneOfReport(index: CityIndex, loc: Location): string | undefined {
  const zones = index.zones.containing(loc.lon, loc.lat);
  zones.sort((a, b) => RISK_RANK[a.risk] - RISK_RANK[b.risk] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return zones[0]?.id;
}

/** The alert a report stands for: its own fingerprint, firing once, never resolved by a reading. */
export function reportAlert(r: ReportIntake, index: CityIndex): Alert {
  const fingerprint = `report:${r.id}`;
  const alert: Alert = {
    id: `${fingerprint}@${r.at}:firing`,
    fingerprint,
    status: 'firing',
    ruleId: r.channel === 'grid' ? 'grid-report' : 'open311-report',
    deviceId: r.id,
    metric: 'report',
    value: 1,
    grade: r.grade,
    category: r.category,
    // Empty: alerting takes the category's department, as for a rule that names none.
    department: '',
    loc: r.location,
    ts: r.at,
    startsAt: r.at,
    summary: `${r.channel === 'grid' ? 'grid worker' : 'Open311'} report ${r.id}: ${r.note}`.slice(0, 512),
    report: { id: r.id, channel: r.channel, by: r.actor },
  };
  const zoneId = zoneOfReport(index, r.location);
  if (zoneId !== undefined) alert.zoneId = zoneId;
  const subcenterId = index.place(r.location).subcenterId;
  if (subcenterId !== undefined) alert.subcenterId = subcenterId;
  return alert;
}

/** The report that opened the ticket: its reporter is the one who confirms the closing. */
export function openingReport(ticket: Ticket): string | undefined {
  return ticket.origin === 'report' ? ticket.reports?.[0]?.id : undefined;
}

export interface ReporterAnswer {
  fixed: boolean;
  satisfaction: Satisfaction;
  note?: string | undefined;
}

/** Whether the report already answered the ticket's latest resolution. */
function answered(ticket: Ticket, reportId: string): boolean {
  return (ticket.ratings ?? []).some((r) => r.reportId === reportId && r.resolvedAt === ticket.resolvedAt);
}

/**
 * Whether a reporter may answer the ticket now. The reporter whose report opened it answers a
 * resolution (it confirms the closing). A reporter whose report joined a ticket another report
 * or a sensor opened answers once per resolution, also after the closing: the issue's KPI
 * counts "reporter satisfaction where reporters rate the closure", and a citizen whose report
 * joined a sensor's ticket rated nothing before.
 */
export function awaitsAnswer(ticket: Ticket, reportId: string): boolean {
  if (ticket.resolvedAt === null || answered(ticket, reportId)) return false;
  if (openingReport(ticket) === reportId) return ticket.status === 'resolved';
  return ticket.status === 'resolved' || (ticket.status === 'closed' && ticket.closedAt !== null && ticket.closedAt >= ticket.resolvedAt);
}

/**
 * A reporter answers a resolution; the rating counts in the KPIs either way. For the report that
 * opened the ticket, fixed closes it (closure by the reporter). For one that joined it, fixed
 * only records the answer: the sensor or reporter that opened it confirms the closing. Not
 * fixed reopens a resolved ticket and the holder must act again, as a new report there would;
 * a closed ticket stays closed (a later report opens a new one). The report's `ticketId` says
 * it is the ticket's (`ticket.reports` lists only the first ones).
 */
export function confirmByReporter(ticket: Ticket, report: { id: string; ticketId: string | null }, answer: ReporterAnswer, now: number): Ticket {
  const reportId = report.id;
  if (report.ticketId !== ticket.id) throw swError('SW_ERR_CONFIRMATION_REFUSED', ticket.id, `report ${reportId} is not on it`);
  const opener = openingReport(ticket) === reportId;
  if (!awaitsAnswer(ticket, reportId)) {
    const why = ticket.resolvedAt !== null && answered(ticket, reportId) ? 'this report already answered its resolution' : `it is ${ticket.status}: the reporter answers a resolution`;
    throw swError('SW_ERR_CONFIRMATION_REFUSED', ticket.id, why);
  }
  const actor = `reporter:${reportId}`;
  const rating: ReporterRating = { at: now, reportId, resolvedAt: ticket.resolvedAt!, fixed: answer.fixed, satisfaction: answer.satisfaction, ...(answer.note ? { note: answer.note } : {}) };
  const ratings = [...(ticket.ratings ?? []), rating].slice(-MAX_RATINGS);
  const said = `${answer.satisfaction}${answer.note ? `: ${answer.note}` : ''}`;
  if (answer.fixed && opener) {
    return {
      ...ticket,
      ratings,
      status: 'closed',
      closedAt: now,
      closure: { by: 'reporter', actor, at: now },
      updatedAt: now,
      timeline: appendTimeline(ticket.timeline, { at: now, actor, action: 'closed', note: `confirmed fixed by the reporter (${said})` }),
      version: ticket.version + 1,
    };
  }
  if (!answer.fixed && ticket.status === 'resolved') {
    return {
      ...ticket,
      ratings,
      status: 'reopened',
      updatedAt: now,
      timeline: appendTimeline(ticket.timeline, { at: now, actor, action: 'reopened', note: `the reporter says it is not fixed (${said})` }),
      version: ticket.version + 1,
    };
  }
  return {
    ...ticket,
    ratings,
    updatedAt: now,
    timeline: appendTimeline(ticket.timeline, { at: now, actor, action: 'rated', note: `${answer.fixed ? 'fixed' : 'not fixed'}, ${said}` }),
    version: ticket.version + 1,
  };
}

/** Whether the reporter's time to answer the current resolution has run out: the district decides. */
export function awaitsDistrict(ticket: Ticket): boolean {
  return ticket.status === 'resolved' && ticket.confirmationTimedOut != null && ticket.confirmationTimedOut.resolvedAt === ticket.resolvedAt;
}

/** When the reporter's answer to the current resolution is due, for a reported ticket. */
export function confirmationDue(ticket: Ticket, policy: GovernancePolicy['reports']): number | undefined {
  if (ticket.origin !== 'report' || ticket.status !== 'resolved' || ticket.resolvedAt === null || awaitsDistrict(ticket)) return undefined;
  return ticket.resolvedAt + policy.confirmWithin;
}

/** The district closes a reported ticket whose reporter did not answer in time. */
export function closeByDistrict(ticket: Ticket, actor: string, now: number, note?: string): Ticket {
  if (!awaitsDistrict(ticket)) throw swError('SW_ERR_CONFIRMATION_REFUSED', ticket.id, 'its reporter confirms the closing; the district decides only once the reporter\'s time has run out');
  return {
    ...ticket,
    status: 'closed',
    closedAt: now,
    closure: { by: 'district', actor, at: now },
    updatedAt: now,
    timeline: appendTimeline(ticket.timeline, { at: now, actor, action: 'closed', note: `closed by the district: the reporter did not answer in time${note ? `; ${note}` : ''}` }),
    version: ticket.version + 1,
  };
}
