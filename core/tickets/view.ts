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
/** The bound that follows (checked by a test on a ticket with every field at its largest). */
export const MAX_TICKET_MESSAGE_BYTES = 32 * 1024;

type ViewOmitted = NonNullable<TicketView['omitted']>;

/** The API path of the full ticket. */
export function ticketHref(id: string): string {
  return `/api/tickets/${encodeURIComponent(id)}`;
}

function cutNote(e: TimelineEntry): TimelineEntry {
  return e.note !== undefined && e.note.length > VIEW_NOTE_CHARS ? { ...e, note: `${e.note.slice(0, VIEW_NOTE_CHARS - 1)}…` } : e;
}

export function ticketView(t: Ticket): TicketView {
  const { appliedAlertIds: _internal, ...rest } = t;
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
  if (omitted.timeline + omitted.alerts + omitted.devices > 0) view.omitted = omitted;
  return view;
}

/** A supervision order as messages carry it: its latest timeline entries. */
export function supervisionOrderView(o: SupervisionOrder): SupervisionOrder {
  return { ...o, timeline: o.timeline.slice(-VIEW_TIMELINE_ENTRIES).map(cutNote) };
}
