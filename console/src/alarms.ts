/**
 * Alarms: what must catch a person's eye (and ear) now, pure, from the tickets and supervision
 * orders as they stand. An alarm lasts as long as its cause, and the one who must act ends it by
 * acting, recorded on the server (so every tab and the wall agree, and a reload brings back what
 * is still unanswered):
 * - `new`: an A or B ticket waiting for its holder's acknowledgment (签收), for the holder;
 *   acknowledging (or starting, or resolving) the ticket ends it. A reassignment raises it anew
 *   for the new holder.
 * - `overdue`: a ticket that missed a deadline (red, GOVERNANCE.md: 督办), for its holder, until a
 *   person acts on the ticket after the miss: acknowledges it if the response was missed, or
 *   answers with feedback or a move if the resolution was.
 * - `supervision`: a supervision order (督办单) issued to the viewer's center, until the center
 *   acknowledges it.
 * The admin and a whole-city wall see every unit's alarms.
 */
import type { Grade, SupervisionOrder, Ticket } from '../../core/schemas.js';

export type AlarmKind = 'new' | 'overdue' | 'supervision';

export interface Alarm {
  /** Changes when the same ticket raises the alarm again (a new holder, a new miss). */
  key: string;
  kind: AlarmKind;
  ticketId: string;
  /** The ticket's title, when the viewer holds the ticket; a supervisor may only know its id. */
  title: string;
  grade: Grade | null;
  since: number;
  orderId?: string;
}

/** The chime repeats this often while an alarm is unanswered: often enough to be heard across a room, not a siren. */
export const CHIME_REPEAT_MS = 8_000;

/** Grades whose new tickets sound the alarm: B and A involve the sub-center's departments or the district. */
export const ALARM_GRADES: readonly Grade[] = ['A', 'B'];
/** Statuses in which a ticket still waits for its holder to answer the call. */
const AWAITING: readonly Ticket['status'][] = ['dispatched', 'reopened'];

/** A person (not the system or a sensor) wrote this timeline entry. */
function byPerson(actor: string): boolean {
  return actor === 'admin' || actor.startsWith('unit:');
}

export interface AlarmViewer {
  /** The unit whose alarms these are; undefined: everyone's (the admin, the district's wall). */
  unitId: string | undefined;
  /** Whether to include supervision orders (a display token cannot read them). */
  supervision: boolean;
}

export function activeAlarms(tickets: readonly Ticket[], orders: readonly SupervisionOrder[], viewer: AlarmViewer): Alarm[] {
  const mine = (unit: string): boolean => viewer.unitId === undefined || viewer.unitId === unit;
  const alarms: Alarm[] = [];
  const titles = new Map<string, Ticket>();
  for (const t of tickets) {
    titles.set(t.id, t);
    if (t.status === 'closed' || !mine(t.subcenterId)) continue;
    const miss = t.overdue.at(-1);
    if (miss && !t.timeline.some((e) => e.at >= miss.at && byPerson(e.actor))) {
      alarms.push({ key: `overdue:${t.id}:${miss.at}`, kind: 'overdue', ticketId: t.id, title: t.title, grade: t.grade, since: miss.at });
    } else if (ALARM_GRADES.includes(t.grade) && AWAITING.includes(t.status)) {
      alarms.push({ key: `new:${t.id}:${t.dispatchedAt}`, kind: 'new', ticketId: t.id, title: t.title, grade: t.grade, since: t.dispatchedAt });
    }
  }
  if (viewer.supervision) {
    for (const o of orders) {
      if (o.status !== 'issued' || !mine(o.issuedTo)) continue;
      const t = titles.get(o.ticketId);
      alarms.push({ key: `supervision:${o.id}`, kind: 'supervision', ticketId: o.ticketId, title: t?.title ?? o.ticketId, grade: t?.grade ?? null, since: o.createdAt, orderId: o.id });
    }
  }
  // The most urgent first: supervision and overdue before new, A before B, then the oldest.
  const rank: Record<AlarmKind, number> = { supervision: 0, overdue: 1, new: 2 };
  return alarms.sort((a, b) => rank[a.kind] - rank[b.kind] || (a.grade ?? 'Z').localeCompare(b.grade ?? 'Z') || a.since - b.since || a.key.localeCompare(b.key));
}

/** Alarms in `now` whose key was not in `before`: each is announced once (a notification). */
export function freshAlarms(before: ReadonlySet<string>, now: readonly Alarm[]): Alarm[] {
  return now.filter((a) => !before.has(a.key));
}
