import { z } from 'zod';
import { TextBody } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import { TICKET_STATUSES, type Ticket } from '../../core/schemas.js';
import { ATOM_CONTENT_TYPE, CAP_CONTENT_TYPE, capAlert, capAtomIndex, type CapOptions } from '../cap.js';
import { route, type Route, type RouteContext } from '../route-table.js';

/** Most alerts the index lists: far above any city's open tickets of the published grades. */
export const CAP_MAX_ALERTS = 1000;
/** How long a closed ticket's Cancel stays in the index, so that every consumer polling it sees the cancellation. */
export const CAP_CANCEL_LISTED_MS = 24 * 3_600_000;
/** How far back the index looks for tickets closed within CAP_CANCEL_LISTED_MS (by creation time). */
export const CAP_CANCEL_LOOKBACK_MS = 90 * 86_400_000;

const OPEN = TICKET_STATUSES.filter((s) => s !== 'closed');
const AlertParams = z.strictObject({ id: z.string().min(1).max(128) });

function options(ctx: RouteContext, base: string): CapOptions {
  return { sender: ctx.cap.sender ?? `streetwatch.${ctx.cityIndex().city.district.id}`, alertUrl: (id) => `${base}/cap/alerts/${encodeURIComponent(id)}.xml` };
}

/** Whether a ticket has a message in force: open, or closed within the listing window, of a published grade. */
function published(t: Ticket, ctx: RouteContext, now: number): boolean {
  if (!ctx.cap.grades.includes(t.grade)) return false;
  return t.status !== 'closed' || (t.closedAt !== null && now - t.closedAt <= CAP_CANCEL_LISTED_MS);
}

/** The open tickets of the published grades, and those closed within the window (as Cancel), newest first. */
async function inForce(ctx: RouteContext): Promise<Ticket[]> {
  if (ctx.cap.grades.length === 0) return [];
  const now = ctx.clock.now();
  const [open, closed] = await Promise.all([
    ctx.state.tickets.list({ status: OPEN, grade: ctx.cap.grades, limit: CAP_MAX_ALERTS }),
    ctx.state.tickets.list({ status: 'closed', grade: ctx.cap.grades, createdFrom: now - CAP_CANCEL_LOOKBACK_MS, limit: CAP_MAX_ALERTS }),
  ]);
  return [...open, ...closed.filter((t) => published(t, ctx, now))].slice(0, CAP_MAX_ALERTS);
}

/**
 * CAP 1.2 for the public: each open ticket of the configured grades (STREETWATCH_CAP_GRADES) as a
 * CAP alert, its changes as Update and its closing as Cancel, with an Atom index. Public, as early
 * warnings are; a message carries the category, grade, place and deadline, never devices or notes.
 */
export const capRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/cap/alerts.atom',
    operationId: 'capIndex',
    summary: 'The CAP 1.2 alerts in force, as an Atom feed',
    description: 'One entry per ticket of the published grades that is open, or closed within the last 24 hours (its Cancel); each links to its CAP message.',
    tag: 'cap',
    access: 'public',
    responses: { 200: { description: 'Atom feed (RFC 4287)', schema: TextBody, contentType: 'application/atom+xml' } },
    handler: async (_input, req, reply, ctx) => {
      const base = `${req.protocol}://${req.host}`;
      const tickets = await inForce(ctx);
      return reply.header('content-type', ATOM_CONTENT_TYPE).send(capAtomIndex(tickets, ctx.cityIndex(), options(ctx, base), `${base}/cap/alerts.atom`, ctx.clock.now()));
    },
  }),
  route({
    method: 'GET',
    url: '/cap/alerts/:id.xml',
    operationId: 'capAlert',
    summary: "A ticket's CAP 1.2 message: Alert, Update or Cancel",
    tag: 'cap',
    access: 'public',
    params: AlertParams,
    responses: { 200: { description: 'The CAP `<alert>`', schema: TextBody, contentType: 'application/cap+xml' } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id } }, req, reply, ctx) => {
      const ticket = await ctx.state.tickets.get(id);
      if (!ticket || !published(ticket, ctx, ctx.clock.now())) throw swError('SW_ERR_NOT_FOUND', `CAP alert ${id}`);
      return reply.header('content-type', CAP_CONTENT_TYPE).send(capAlert(ticket, ctx.cityIndex(), options(ctx, `${req.protocol}://${req.host}`)));
    },
  }),
];
