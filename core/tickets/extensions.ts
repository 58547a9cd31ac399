/**
 * Deadline extensions (延期), pure. The holder (or the lead department) asks its parent for a
 * later resolution deadline, with a reason, before the deadline in force has passed; the parent
 * approves (the deadline moves, at most to what was asked) or refuses. One request waits at a
 * time, a ticket takes `maxPerTicket` of them, and one request reaches at most `maxDelay` past
 * the deadline in force. A request still waiting when the deadline passes, or when the ticket
 * is resolved, lapses: the miss is recorded as any other.
 */
import type { GovernancePolicy } from '../city.js';
import { swError } from '../errors.js';
import type { ExtensionRequest, Ticket } from '../schemas.js';
import { WORKING } from './statuses.js';
import { appendTimeline } from './timeline.js';

const iso = (t: number): string => new Date(t).toISOString();

export function pendingExtension(ticket: Ticket): ExtensionRequest | undefined {
  const last = ticket.extensions?.at(-1);
  return last && last.decision === null ? last : undefined;
}

export interface ExtensionAsk {
  /** The resolution deadline asked for. */
  to: number;
  reason: string;
  /** Who decides: the holder's parent center, or `admin` for a holder without one. */
  approver: string;
}

export function requestExtension(ticket: Ticket, ask: ExtensionAsk, actor: string, now: number, policy: GovernancePolicy['extensions']): Ticket {
  if (!WORKING.has(ticket.status)) throw swError('SW_ERR_TICKET_TRANSITION', ticket.id, ticket.status, 'extension');
  const refuse = (why: string): never => {
    throw swError('SW_ERR_EXTENSION_REFUSED', ticket.id, why);
  };
  if (pendingExtension(ticket)) refuse('a request is already waiting for a decision');
  // While a return waits, the district holds the ticket and rules first; the holder it settles on asks.
  if (ticket.returns?.at(-1)?.ruling === null) refuse('a return is waiting for the district\'s ruling');
  const asked = ticket.extensions ?? [];
  if (asked.length >= policy.maxPerTicket) refuse(`it has had ${asked.length} requests, the most a ticket may have`);
  if (now >= ticket.resolveBy) refuse(`the deadline in force (${iso(ticket.resolveBy)}) has passed: ask before it`);
  if (ask.to <= ticket.resolveBy) refuse(`the deadline asked for must be later than the one in force (${iso(ticket.resolveBy)})`);
  if (ask.to - ticket.resolveBy > policy.maxDelay) refuse(`one request reaches at most ${policy.maxDelay / 3_600_000} h past the deadline in force`);
  const request: ExtensionRequest = { at: now, by: actor, approver: ask.approver, subcenterId: ticket.subcenterId, from: ticket.resolveBy, to: ask.to, reason: ask.reason, decision: null };
  return {
    ...ticket,
    extensions: [...asked, request],
    updatedAt: now,
    timeline: appendTimeline(ticket.timeline, { at: now, actor, action: 'extension_requested', note: `resolve by ${iso(ticket.resolveBy)} → ${iso(ask.to)}, asked of ${ask.approver}: ${ask.reason}` }),
    version: ticket.version + 1,
  };
}

export interface ExtensionDecision {
  approved: boolean;
  /** A deadline earlier than the one asked for (approval only). */
  resolveBy?: number | undefined;
  note?: string | undefined;
}

/**
 * The parent's decision. An approval moves `resolveBy`, so the deadline timers, reminders and
 * the handling KPI all follow the deadline in force; it must come before the deadline it extends.
 */
export function decideExtension(ticket: Ticket, decision: ExtensionDecision, actor: string, now: number): Ticket {
  const pending = pendingExtension(ticket);
  if (!pending) throw swError('SW_ERR_EXTENSION_REFUSED', ticket.id, 'no request is waiting for a decision');
  let resolveBy = ticket.resolveBy;
  if (decision.approved) {
    if (now >= ticket.resolveBy) throw swError('SW_ERR_EXTENSION_REFUSED', ticket.id, `the deadline it would extend (${iso(ticket.resolveBy)}) has passed`);
    const granted = decision.resolveBy ?? pending.to;
    if (granted <= ticket.resolveBy || granted > pending.to) throw swError('SW_ERR_EXTENSION_REFUSED', ticket.id, `grant a deadline after ${iso(ticket.resolveBy)} and at most ${iso(pending.to)}`);
    resolveBy = granted;
  }
  const decided: ExtensionRequest = {
    ...pending,
    decision: { at: now, by: actor, approved: decision.approved, ...(decision.approved ? { resolveBy } : {}), ...(decision.note ? { note: decision.note } : {}) },
  };
  const what = decision.approved ? `approved: resolve by ${iso(resolveBy)}` : 'refused';
  return {
    ...ticket,
    resolveBy,
    extensions: [...ticket.extensions!.slice(0, -1), decided],
    updatedAt: now,
    timeline: appendTimeline(ticket.timeline, { at: now, actor, action: decision.approved ? 'extension_approved' : 'extension_refused', note: `${what}${decision.note ? `: ${decision.note}` : ''}` }),
    version: ticket.version + 1,
  };
}

/** Closes a request still waiting (the deadline passed, the ticket was resolved); the caller versions the change. */
export function lapsePendingExtension(ticket: Ticket, now: number, why: string): Ticket {
  const pending = pendingExtension(ticket);
  if (!pending) return ticket;
  const lapsed: ExtensionRequest = { ...pending, decision: { at: now, by: 'system', approved: false, note: `lapsed: ${why}` } };
  return {
    ...ticket,
    extensions: [...ticket.extensions!.slice(0, -1), lapsed],
    timeline: appendTimeline(ticket.timeline, { at: now, actor: 'system', action: 'extension_lapsed', note: why }),
  };
}
