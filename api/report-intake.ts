/**
 * People's reports (统一归集) as the API takes them in, for its own routes and Open311 alike:
 * each is checked, rate-limited per token, stored, and published on `sw.alerts` as an alert of
 * its own kind, so that alerting merges it like any sensor's (core/tickets/reports.ts). Photos
 * are images only (checked by their bytes), bounded in size, and kept for the photo retention.
 * A reporter confirms the resolution with the token of its confirmation link, or with the
 * token that filed the report.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { ReportLimits } from '../core/config.js';
import { StreetWatchError, swError } from '../core/errors.js';
import { newDayId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { ReportPhoto, ReportRecord } from '../core/ports.js';
import { KeyedRateLimiter } from '../core/rate-limit.js';
import type { Grade, Location, Ticket } from '../core/schemas.js';
import { commitTicket, withConflictRetry } from '../core/tickets/commit.js';
import { confirmByReporter, reportAlert, type ReporterAnswer } from '../core/tickets/reports.js';
import { principalActor, type ApiContext, type ApiPrincipal } from './context.js';

/** What a photo's first bytes must be, per accepted type. SVG and anything else that can carry script is refused. */
const IMAGE_MAGIC: readonly [ReportPhoto['contentType'], (b: Buffer) => boolean][] = [
  ['image/jpeg', (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['image/png', (b) => b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))],
  ['image/webp', (b) => b.length > 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP'],
];
export const PHOTO_TYPES: readonly string[] = IMAGE_MAGIC.map(([t]) => t);

export interface ReportInput {
  channel: 'grid' | 'open311';
  category: string;
  grade?: Grade | undefined;
  location: Location;
  note: string;
  address?: string | undefined;
  photoId?: string | undefined;
  mediaUrl?: string | undefined;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

export class ReportIntake {
  private readonly limiter: KeyedRateLimiter;

  constructor(
    private readonly ctx: ApiContext,
    readonly limits: ReportLimits,
    private readonly log: Logger,
  ) {
    this.limiter = new KeyedRateLimiter({ ratePerSecond: limits.perHour / 3600, burst: limits.burst }, ctx.clock);
  }

  /** Who files: `unit:<id>`, `key:<token id>` or `admin`; reports are limited per filer. */
  filerOf(principal: ApiPrincipal): string {
    return principalActor(principal);
  }

  private take(filer: string): void {
    if (this.limiter.take(filer)) return;
    const retryAfterSeconds = Math.ceil(this.limiter.waitMs(filer) / 1000);
    this.ctx.metrics.limited.inc({ limit: 'reports' });
    throw new StreetWatchError('SW_ERR_RATE_LIMITED', [`this token filed ${this.limits.burst} reports or photos in a row, retry in ${retryAfterSeconds} s`], { details: { retryAfterSeconds } });
  }

  /** Stores a photo after checking its bytes are the image its content type says. */
  async photo(principal: ApiPrincipal, contentType: string | undefined, bytes: Buffer): Promise<ReportPhoto> {
    const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const check = IMAGE_MAGIC.find(([t]) => t === type);
    if (!check) throw swError('SW_ERR_PHOTO_INVALID', `content type ${type || '(none)'} is not one of ${PHOTO_TYPES.join(', ')}`);
    if (!check[1](bytes)) throw swError('SW_ERR_PHOTO_INVALID', `the bytes are not a ${type} image`);
    const filer = this.filerOf(principal);
    this.take(filer);
    const now = this.ctx.clock.now();
    const photo: ReportPhoto = { id: newDayId('PH', now), contentType: check[0], bytes, filedBy: filer, createdAt: now, expiresAt: now + this.limits.photoRetentionMs };
    await this.ctx.state.reports.addPhoto(photo);
    this.ctx.metrics.reports.inc({ channel: 'photo' });
    return photo;
  }

  /**
   * Takes a report in: stored, then published on `sw.alerts`. Resolves with the record and the
   * confirmation token (shown once, stored as its hash).
   */
  async file(principal: ApiPrincipal, input: ReportInput): Promise<{ report: ReportRecord; confirmToken: string }> {
    const index = this.ctx.cityIndex();
    const { city } = index;
    if (!city.categories.has(input.category) && !city.rules.some((r) => r.category === input.category)) throw swError('SW_ERR_REFERENCE_UNKNOWN', 'category', input.category);
    const filer = this.filerOf(principal);
    if (input.photoId !== undefined) {
      const photo = await this.ctx.state.reports.photo(input.photoId);
      if (!photo || photo.filedBy !== filer || photo.expiresAt <= this.ctx.clock.now()) throw swError('SW_ERR_NOT_FOUND', `photo ${input.photoId} (upload it with this token first)`);
    }
    this.take(filer);
    const now = this.ctx.clock.now();
    const id = newDayId('RP', now);
    const confirmToken = randomBytes(24).toString('base64url');
    const report: ReportRecord = {
      id,
      channel: input.channel,
      filedBy: filer,
      // A grid worker speaks for its unit; a citizen behind an Open311 key is the report itself.
      actor: principal.role === 'unit' ? `unit:${principal.unitId}` : `reporter:${id}`,
      category: input.category,
      grade: input.grade ?? city.sla.governance.reports.grade,
      location: input.location,
      note: input.note,
      address: input.address ?? null,
      photoId: input.photoId ?? null,
      mediaUrl: input.mediaUrl || null,
      confirmTokenHash: sha256(confirmToken).toString('hex'),
      createdAt: now,
      expiresAt: now + this.limits.retentionMs,
      ticketId: null,
    };
    await this.ctx.state.reports.add(report);
    const alert = reportAlert({ id, channel: input.channel, actor: report.actor, category: report.category, grade: report.grade, location: report.location, note: report.note, at: now }, index);
    await this.ctx.bus.publish('sw.alerts', [{ key: alert.fingerprint, value: alert }]);
    this.ctx.metrics.reports.inc({ channel: input.channel });
    this.log.info({ reportId: id, channel: input.channel, category: report.category, filedBy: filer }, 'report filed');
    return { report, confirmToken };
  }

  /**
   * Whether the caller may act for the reporter of `report`: the confirmation link's token, the
   * token that filed it, or the admin.
   */
  mayAnswerFor(report: ReportRecord, principal: ApiPrincipal | null, token: string | undefined): boolean {
    if (principal?.role === 'admin') return true;
    if (principal && this.filerOf(principal) === report.filedBy) return true;
    return token !== undefined && timingSafeEqual(sha256(token), Buffer.from(report.confirmTokenHash, 'hex'));
  }

  /** The reporter's answer to the resolution of the ticket its report opened or joined. */
  async confirm(report: ReportRecord, answer: ReporterAnswer): Promise<Ticket> {
    if (report.ticketId === null) throw swError('SW_ERR_CONFIRMATION_REFUSED', report.id, 'it has not been taken into a ticket yet');
    const ticketId = report.ticketId;
    const { state, bus, cityIndex, metrics, clock } = this.ctx;
    return withConflictRetry(async () => {
      const ticket = await state.tickets.get(ticketId);
      if (!ticket) throw swError('SW_ERR_NOT_FOUND', `ticket ${ticketId}`);
      const now = clock.now();
      const next = confirmByReporter(ticket, report, answer, now);
      const event = next.status === ticket.status ? 'ticket.updated' : next.status === 'closed' ? 'ticket.closed' : 'ticket.reopened';
      await commitTicket({ tickets: state.tickets, bus, cityIndex, metrics }, next, event, now);
      return next;
    });
  }
}

/**
 * Sends a stored photo: only ever as the image type its bytes were checked to be, never sniffed
 * (`nosniff`), sandboxed and without script (CSP), and as an attachment name, so a crafted file
 * cannot run as a page of this origin.
 */
export function sendPhoto(reply: FastifyReply, photo: ReportPhoto): FastifyReply {
  const ext = photo.contentType.split('/')[1];
  return reply
    .header('content-type', photo.contentType)
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('content-disposition', `inline; filename="${photo.id}.${ext}"`)
    .header('cache-control', 'private, max-age=3600')
    .send(photo.bytes);
}
