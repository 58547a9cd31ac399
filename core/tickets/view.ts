/**
 * What goes out about a ticket (webhook bodies, the MQTT feed, server-sent events), bounded,
 * pure: the ticket's fields with its latest timeline entries and alerts only, long notes cut,
 * and a link to the full ticket. A receiver that wants the whole history asks the API.
 */
import type { SupervisionOrder, Ticket, TicketView, TimelineEntry } from '../schemas.js';

/** Latest timeline entries a message carries. */
export const VIEW_TIMELINE_ENTRIES = 10;
/** Most recently seen alert entries a message carries. */
export const VIEW_ALERTS = 10;
/** Devices, reminders, overdue marks and supervision order ids a message carries (the latest). */
export const VIEW_LIST = 20;
/** Characters of a timeline note a message carries. */
export const VIEW_NOTE_CHARS = 280;
/** Latest returns, extension requests and reporters' ratings a message carries: the last one, the one waiting if any. */
export const VIEW_GOVERNANCE = 1;
/** Latest people's reports a message carries (their ids; the reports are read through the API). */
export const VIEW_REPORTS = 3;
/** Characters of a return's, an extension's or a rating's reason or note a message carries. */
export const VIEW_GOVERNANCE_CHARS = 100;
/**
 * The bound that follows (checked by a test on a ticket with every field at its largest): 32 KiB
 * for the ticket's own fields and a supervision order, 16 KiB for joint handling (every
 * co-handler and checklist step) and the latest return, extension, reports and rating.
 */
export const MAX_TICKET_MESSAGE_BYTES = 48 * 1024;

type ViewOmitted = NonNullable<TicketView['omitted']>;

/** The API path of the full ticket. */
export function ticketHref(id: string): string {
  return `/api/tickets/${encodeURIComponent(id)}`;
}

function cut(text: string, max = VIEW_NOTE_CHARS): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function cutNote(e: TimelineEntry): TimelineEntry {
  return e.note !== undefined && e.note.length > VIEW_NOTE_CHARS ? { ...e, note: cut(e.note) } : e;
}

/**
 * The governance lists, bounded: the latest returns, extension requests and ratings (the one
 * waiting is always the last) with their texts cut, the latest reports. Co-handlers (at most
 * MAX_CO_HANDLERS) and the checklist (at most MAX_CHECKLIST_STEPS) go whole: a department's
 * console lists its joint tickets from the feed.
 */
function governanceView(t: Ticket, view: TicketView, omitted: ViewOmitted): void {
  const latest = <T>(key: 'returns' | 'extensions' | 'reports' | 'ratings', list: readonly T[] | undefined, n: number, map: (x: T) => T): T[] | undefined => {
    if (list === undefined) return undefined;
    if (list.length > n) omitted[key] = list.length - n;
    return list.slice(-n).map(map);
  };
  const short = (text: string): string => cut(text, VIEW_GOVERNANCE_CHARS);
  const returns = latest('returns', t.returns, VIEW_GOVERNANCE, (r) => ({ ...r, reason: short(r.reason), ruling: r.ruling && { ...r.ruling, note: short(r.ruling.note) } }));
  if (returns) view.returns = returns;
  const extensions = latest('extensions', t.extensions, VIEW_GOVERNANCE, (e) => ({ ...e, reason: short(e.reason), decision: e.decision && (e.decision.note === undefined ? e.decision : { ...e.decision, note: short(e.decision.note) }) }));
  if (extensions) view.extensions = extensions;
  const reports = latest('reports', t.reports, VIEW_REPORTS, (r) => r);
  if (reports) view.reports = reports;
  const ratings = latest('ratings', t.ratings, VIEW_GOVERNANCE, (r) => (r.note === undefined ? r : { ...r, note: short(r.note) }));
  if (ratings) view.ratings = ratings;
}

export function ticketView(t: Ticket): TicketView {
  // The units that held it and the departments that led it are the store's, for access (as the applied ids).
  const { appliedAlertIds: _internal, holders: _holders, leads: _leads, ...rest } = t;
  const alerts = t.alerts.length > VIEW_ALERTS ? [...t.alerts].sort((a, b) => b.lastSeen - a.lastSeen).slice(0, VIEW_ALERTS) : t.alerts;
  const omitted: ViewOmitted = {
    timeline: Math.max(0, t.timeline.length - VIEW_TIMELINE_ENTRIES),
    alerts: t.alerts.length - alerts.length,
    devices: Math.max(0, t.devices.length - VIEW_LIST),
  };
  const view: TicketView = {
    ...rest,
    title: t.title.slice(0, 256),
    gradeReasons: t.gradeReasons.slice(0, 8),
    alerts: alerts.map((a) => ({ ...a, changes: (a.changes ?? []).slice(-2) })),
    devices: t.devices.slice(0, VIEW_LIST),
    reminders: t.reminders.slice(-VIEW_LIST),
    overdue: t.overdue.slice(-VIEW_LIST),
    supervisionOrderIds: t.supervisionOrderIds.slice(-VIEW_LIST),
    timeline: t.timeline.slice(-VIEW_TIMELINE_ENTRIES).map(cutNote),
    href: ticketHref(t.id),
  };
  governanceView(t, view, omitted);
  if (Object.values(omitted).some((n) => n > 0)) view.omitted = omitted;
  return view;
}

/** A supervision order as messages carry it: its latest timeline entries. */
export function supervisionOrderView(o: SupervisionOrder): SupervisionOrder {
  return { ...o, timeline: o.timeline.slice(-VIEW_TIMELINE_ENTRIES).map(cutNote) };
}
