import type Database from 'better-sqlite3';
import type { ReportFilter, ReportPhoto, ReportRecord, ReportStore } from '../../ports.js';

interface ReportRow {
  ticket_id: string | null;
  body: string;
}

interface PhotoRow {
  id: string;
  content_type: ReportPhoto['contentType'];
  bytes: Buffer;
  filed_by: string;
  created_at: number;
  expires_at: number;
}

/** Reports and their photos; the link of a report to its ticket is written with the ticket (tickets.ts). */
export class SqliteReports implements ReportStore {
  private readonly insert;
  private readonly byId;
  private readonly all;
  private readonly byFiler;
  private readonly insertPhoto;
  private readonly photoById;
  private readonly expiredReports;
  private readonly expiredPhotos;
  private readonly dropReport;
  private readonly dropPhoto;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare('INSERT INTO reports (id, filed_by, ticket_id, created_at, expires_at, body) VALUES (@id, @filedBy, @ticketId, @createdAt, @expiresAt, @body)');
    this.byId = db.prepare<[string], ReportRow>('SELECT ticket_id, body FROM reports WHERE id = ?');
    this.all = db.prepare<[number], ReportRow>('SELECT ticket_id, body FROM reports ORDER BY created_at DESC, id LIMIT ?');
    this.byFiler = db.prepare<[string, number], ReportRow>('SELECT ticket_id, body FROM reports WHERE filed_by = ? ORDER BY created_at DESC, id LIMIT ?');
    this.insertPhoto = db.prepare('INSERT INTO report_photos (id, content_type, bytes, filed_by, created_at, expires_at) VALUES (@id, @contentType, @bytes, @filedBy, @createdAt, @expiresAt)');
    this.photoById = db.prepare<[string], PhotoRow>('SELECT * FROM report_photos WHERE id = ?');
    this.expiredReports = db.prepare<[number, number], { id: string }>('SELECT id FROM reports WHERE expires_at <= ? ORDER BY expires_at LIMIT ?');
    this.expiredPhotos = db.prepare<[number, number], { id: string }>('SELECT id FROM report_photos WHERE expires_at <= ? ORDER BY expires_at LIMIT ?');
    this.dropReport = db.prepare('DELETE FROM reports WHERE id = ?');
    this.dropPhoto = db.prepare('DELETE FROM report_photos WHERE id = ?');
  }

  async add(r: ReportRecord): Promise<void> {
    const { ticketId, ...rest } = r;
    this.insert.run({ id: r.id, filedBy: r.filedBy, ticketId, createdAt: r.createdAt, expiresAt: r.expiresAt, body: JSON.stringify(rest) });
  }

  async get(id: string): Promise<ReportRecord | undefined> {
    const row = this.byId.get(id);
    return row && toReport(row);
  }

  async list(filter: ReportFilter = {}): Promise<ReportRecord[]> {
    const limit = filter.limit ?? 200;
    return (filter.filedBy === undefined ? this.all.all(limit) : this.byFiler.all(filter.filedBy, limit)).map(toReport);
  }

  async addPhoto(p: ReportPhoto): Promise<void> {
    this.insertPhoto.run(p);
  }

  async photo(id: string): Promise<ReportPhoto | undefined> {
    const r = this.photoById.get(id);
    return r && { id: r.id, contentType: r.content_type, bytes: r.bytes, filedBy: r.filed_by, createdAt: r.created_at, expiresAt: r.expires_at };
  }

  async prune(now: number, limit: number): Promise<number> {
    return this.db.transaction(() => {
      let n = 0;
      for (const { id } of this.expiredReports.all(now, limit)) n += this.dropReport.run(id).changes;
      for (const { id } of this.expiredPhotos.all(now, Math.max(0, limit - n))) n += this.dropPhoto.run(id).changes;
      return n;
    })();
  }
}

function toReport(row: ReportRow): ReportRecord {
  return { ...(JSON.parse(row.body) as Omit<ReportRecord, 'ticketId'>), ticketId: row.ticket_id };
}
