import type { FastifyRequest } from 'fastify';
import { ImageBody, PhotoStored, ReportFiled, ReportList, ReportStatus, ReportView } from '../../core/api-schemas.js';
import type { ReportView as ReportViewT } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import type { ReportRecord } from '../../core/ports.js';
import { ReportBody, ReportConfirmBody, ReportListQuery, ReportParams, ReportTokenQuery, type Ticket } from '../../core/schemas.js';
import { awaitsAnswer, openingReport } from '../../core/tickets/reports.js';
import { bearerToken } from '../auth.js';
import type { ApiPrincipal } from '../context.js';
import { PHOTO_TYPES, sendPhoto } from '../report-intake.js';
import { route, type Route, type RouteContext } from '../route-table.js';
import { ticketRole } from '../ticket-access.js';

/** Where the console's confirmation page for a report is, relative to the server's address. */
export const confirmPath = (id: string, token: string): string => `/#/confirm/${encodeURIComponent(id)}/${encodeURIComponent(token)}`;

/** What the filer, the admin and those who see its ticket read of a report (never its confirmation token's hash). */
export function reportView(r: ReportRecord, ticket: Ticket | undefined): ReportViewT {
  return {
    id: r.id,
    channel: r.channel,
    category: r.category,
    grade: r.grade,
    location: r.location,
    note: r.note,
    address: r.address,
    photo: r.photoId === null ? null : `/api/reports/${r.id}/photo`,
    mediaUrl: r.mediaUrl,
    createdAt: r.createdAt,
    status: ticket?.status ?? 'received',
    ticket: ticket
      ? {
          id: ticket.id,
          status: ticket.status,
          grade: ticket.grade,
          subcenterId: ticket.subcenterId,
          department: ticket.department,
          resolvedAt: ticket.resolvedAt,
          closedAt: ticket.closedAt,
          closure: ticket.closure?.by ?? null,
          confirms: openingReport(ticket) === r.id,
          awaitingConfirmation: openingReport(ticket) === r.id && ticket.status === 'resolved',
          awaitingAnswer: awaitsAnswer(ticket, r.id),
        }
      : null,
  };
}

/** The latest word of whoever handles the ticket (a unit, a department, the admin), for the reporter. */
function latestNote(ticket: Ticket): string | null {
  for (let i = ticket.timeline.length - 1; i >= 0; i--) {
    const e = ticket.timeline[i]!;
    if (e.note !== undefined && /^(unit|department):|^admin$/.test(e.actor)) return e.note;
  }
  return null;
}

/** A report the caller may read: its filer, the admin, or anyone who sees the ticket it joined. */
async function readable(req: FastifyRequest, id: string, ctx: RouteContext): Promise<{ report: ReportRecord; ticket: Ticket | undefined }> {
  const { state } = ctx;
  const report = await state.reports.get(id);
  const ticket = report?.ticketId ? await state.tickets.get(report.ticketId) : undefined;
  const p = req.principal!;
  const mine = report && (p.role === 'admin' || ctx.reportIntake.filerOf(p) === report.filedBy);
  if (!report || (!mine && !(ticket && (await ticketRole(p, ticket, state.supervision, ctx.cityIndex()))))) throw swError('SW_ERR_NOT_FOUND', `report ${id}`);
  return { report, ticket };
}

/**
 * The reporter without an account: the confirmation link's token; or a bearer token (the one
 * that filed the report, or the admin's). A wrong link token counts as a failed login of the
 * address, so a link cannot be guessed faster than a bearer token.
 */
async function answering(req: FastifyRequest, id: string, token: string | undefined, ctx: RouteContext): Promise<ReportRecord> {
  const wait = ctx.loginFailures.refusedFor(req.ip);
  if (wait > 0) {
    ctx.metrics.limited.inc({ limit: 'http_auth_failures' });
    throw swError('SW_ERR_RATE_LIMITED', `too many failed confirmation tokens from this address, retry in ${Math.ceil(wait / 1000)} s`);
  }
  const bearer = bearerToken(req.headers.authorization);
  const principal: ApiPrincipal | undefined = bearer === undefined ? undefined : await ctx.login(bearer, req.ip);
  const report = await ctx.state.reports.get(id);
  if (!report || !ctx.reportIntake.mayAnswerFor(report, principal ?? null, token)) {
    if (token !== undefined) ctx.loginFailures.failed(req.ip);
    throw swError('SW_ERR_NOT_FOUND', `report ${id} (or a wrong confirmation token)`);
  }
  return report;
}

const readers = { access: 'units', departments: true, reporters: true } as const;

/**
 * People's reports (统一归集). Grid workers (any unit's token) file reports with a photo, note
 * and place and follow them; reporter keys read the reports they filed (they file through
 * Open311); the reporter answers the resolution of the ticket its report opened, with the
 * confirmation link's token (public) or with the token that filed it.
 */
export const reportRoutes: readonly Route[] = [
  route({
    method: 'POST',
    url: '/api/reports',
    operationId: 'fileReport',
    summary: "File a people's report (a grid worker's: photo, note, place)",
    description:
      "By a unit's token (a grid worker's) or the admin. The report becomes an alert of its own kind on sw.alerts and merges like a sensor's: at a place where a ticket of its category is open, it joins that ticket. Limited per token (`STREETWATCH_REPORTS_PER_HOUR`, `STREETWATCH_REPORT_BURST`). The answer carries the reporter's confirmation token, once.",
    tag: 'reports',
    access: 'units',
    body: ReportBody,
    responses: { 201: { description: 'Filed', schema: ReportFiled } },
    errors: ['SW_ERR_REFERENCE_UNKNOWN', 'SW_ERR_NOT_FOUND', 'SW_ERR_RATE_LIMITED'],
    handler: async ({ body }, req, reply, ctx) => {
      const { report, confirmToken } = await ctx.reportIntake.file(req.principal!, { channel: 'grid', category: body.category, grade: body.grade, location: body.location, note: body.note, address: body.address, photoId: body.photo });
      return reply.status(201).send({ ...reportView(report, undefined), confirmToken, confirmUrl: confirmPath(report.id, confirmToken) });
    },
  }),
  route({
    method: 'POST',
    url: '/api/reports/photos',
    operationId: 'uploadReportPhoto',
    summary: "Upload a report's photo",
    description:
      'The image itself as the body (JPEG, PNG or WebP; its bytes must be that image), at most `STREETWATCH_PHOTO_MAX_BYTES`; then name its id as `photo` in POST /api/reports. Kept for `STREETWATCH_PHOTO_RETENTION`; counts against the token\'s report limit.',
    tag: 'reports',
    access: 'units',
    rawBody: PHOTO_TYPES,
    bodyLimit: (ctx) => ctx.reports.photoMaxBytes,
    responses: { 201: { description: 'Stored', schema: PhotoStored } },
    errors: ['SW_ERR_PHOTO_INVALID', 'SW_ERR_RATE_LIMITED'],
    handler: async (_input, req, reply, ctx) => {
      if (!Buffer.isBuffer(req.body)) throw swError('SW_ERR_PHOTO_INVALID', `send the image itself as the body, with content type ${PHOTO_TYPES.join(', ')}`);
      const photo = await ctx.reportIntake.photo(req.principal!, req.headers['content-type'], req.body);
      return reply.status(201).send({ id: photo.id, contentType: photo.contentType, bytes: photo.bytes.length, expiresAt: photo.expiresAt });
    },
  }),
  route({
    method: 'GET',
    url: '/api/reports',
    operationId: 'listReports',
    summary: 'The reports the caller filed, newest first (all, for the admin)',
    tag: 'reports',
    access: 'units',
    reporters: true,
    query: ReportListQuery,
    responses: { 200: { description: 'Reports with their tickets\' status', schema: ReportList } },
    handler: async ({ query: q }, req, _reply, ctx) => {
      const p = req.principal!;
      const reports = await ctx.state.reports.list(p.role === 'admin' ? { limit: q.limit } : { filedBy: ctx.reportIntake.filerOf(p), limit: q.limit });
      const tickets = new Map<string, Ticket | undefined>();
      for (const r of reports) if (r.ticketId !== null && !tickets.has(r.ticketId)) tickets.set(r.ticketId, await ctx.state.tickets.get(r.ticketId));
      return { reports: reports.map((r) => reportView(r, r.ticketId === null ? undefined : tickets.get(r.ticketId))) };
    },
  }),
  route({
    method: 'GET',
    url: '/api/reports/:id',
    operationId: 'getReport',
    summary: 'One report, with the status of the ticket it joined',
    description: 'Its filer, the admin, or anyone who sees the ticket it joined.',
    tag: 'reports',
    ...readers,
    params: ReportParams,
    responses: { 200: { description: 'The report', schema: ReportView } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params }, req, _reply, ctx) => {
      const { report, ticket } = await readable(req, params.id, ctx);
      return reportView(report, ticket);
    },
  }),
  route({
    method: 'GET',
    url: '/api/reports/:id/photo',
    operationId: 'getReportPhoto',
    summary: "A report's photo",
    description: 'Served as the image type its bytes were checked to be, `nosniff`, with a sandboxing content security policy; 404 past its retention.',
    tag: 'reports',
    ...readers,
    params: ReportParams,
    responses: { 200: { description: 'The image', schema: ImageBody, contentType: 'image/jpeg', also: { 'image/png': ImageBody, 'image/webp': ImageBody } } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params }, req, reply, ctx) => {
      const { report } = await readable(req, params.id, ctx);
      const photo = report.photoId === null ? undefined : await ctx.state.reports.photo(report.photoId);
      if (!photo || photo.expiresAt <= ctx.clock.now()) throw swError('SW_ERR_NOT_FOUND', `photo of report ${report.id} (none, or past its retention)`);
      return sendPhoto(reply, photo);
    },
  }),
  route({
    method: 'GET',
    url: '/api/reports/:id/status',
    operationId: 'getReportStatus',
    summary: "The reporter's view of a report, with its confirmation link's token",
    description: "No account needed: the token of the report's confirmation link (or a bearer token that may read it). A wrong token is 404 and counts as a failed login of the address.",
    tag: 'reports',
    access: 'public',
    params: ReportParams,
    query: ReportTokenQuery,
    responses: { 200: { description: "The report, its ticket's latest word, the reporter's answers", schema: ReportStatus } },
    errors: ['SW_ERR_NOT_FOUND', 'SW_ERR_RATE_LIMITED'],
    handler: async ({ params: { id }, query: { token } }, req, _reply, ctx) => {
      const report = await answering(req, id, token, ctx);
      const ticket = report.ticketId === null ? undefined : await ctx.state.tickets.get(report.ticketId);
      return {
        ...reportView(report, ticket),
        categoryName: ctx.cityIndex().city.categories.get(report.category)?.name ?? report.category,
        statusNote: ticket ? latestNote(ticket) : null,
        answers: (ticket?.ratings ?? []).filter((r) => r.reportId === report.id).map(({ reportId: _r, ...a }) => a),
      };
    },
  }),
  route({
    method: 'POST',
    url: '/api/reports/:id/confirm',
    operationId: 'confirmReport',
    summary: 'The reporter answers the resolution (上报人确认结案)',
    description:
      "With the confirmation link's `token`, or a bearer token (the one that filed the report, or the admin's). The report that opened the ticket confirms it: `fixed` closes the ticket (closure by the reporter). A report that joined a ticket a sensor or another report opened answers once per resolution, also after the closing: `fixed` is recorded only. Not fixed reopens a resolved ticket. Every answer counts in the satisfaction KPI.",
    tag: 'reports',
    access: 'public',
    params: ReportParams,
    body: ReportConfirmBody,
    responses: { 200: { description: 'The report with its ticket as answered', schema: ReportView } },
    errors: ['SW_ERR_NOT_FOUND', 'SW_ERR_CONFIRMATION_REFUSED', 'SW_ERR_RATE_LIMITED', 'SW_ERR_TICKET_CONFLICT'],
    handler: async ({ params: { id }, body }, req, _reply, ctx) => {
      const report = await answering(req, id, body.token, ctx);
      const ticket = await ctx.reportIntake.confirm(report, { fixed: body.fixed, satisfaction: body.satisfaction, note: body.note });
      return reportView(report, ticket);
    },
  }),
];
