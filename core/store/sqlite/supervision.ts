import type Database from 'better-sqlite3';
import type { SupervisionFilter, SupervisionStore } from '../../ports.js';
import type { SupervisionOrder } from '../../schemas.js';

export class SqliteSupervision implements SupervisionStore {
  private readonly byId;

  constructor(private readonly db: Database.Database) {
    this.byId = db.prepare<[string], { body: string }>('SELECT body FROM supervision_orders WHERE id = ?');
  }

  async get(id: string): Promise<SupervisionOrder | undefined> {
    const row = this.byId.get(id);
    return row && (JSON.parse(row.body) as SupervisionOrder);
  }

  async list(filter: SupervisionFilter = {}): Promise<SupervisionOrder[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.unitId !== undefined) {
      where.push('(issued_to = ? OR subcenter_id = ?)');
      params.push(filter.unitId, filter.unitId);
    }
    if (filter.ticketId !== undefined) {
      where.push('ticket_id = ?');
      params.push(filter.ticketId);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    params.push(filter.limit ?? 1000);
    return this.db
      .prepare<unknown[], { body: string }>(`SELECT body FROM supervision_orders ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`)
      .all(...params)
      .map((r) => JSON.parse(r.body) as SupervisionOrder);
  }
}
