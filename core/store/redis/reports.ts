import type { ReportFilter, ReportPhoto, ReportRecord, ReportStore } from '../../ports.js';
import { CHUNK, type Ctx } from './context.js';

/** Reports and their photos; the link of a report to its ticket is written by the ticket's save script. */
export class RedisReports implements ReportStore {
  constructor(private readonly c: Ctx) {}

  add(r: ReportRecord): Promise<void> {
    const { keys } = this.c;
    const { ticketId, ...rest } = r;
    return this.c.run(async () => {
      const fields: (string | number)[] = ['body', JSON.stringify(rest), 'by', r.filedBy, 'ca', r.createdAt, 'ea', r.expiresAt];
      if (ticketId !== null) fields.push('tid', ticketId);
      // Ids carry 30 random bits per day (as tickets'): a clash is not checked for.
      await this.c.redis
        .multi()
        .hset(keys.report(r.id), ...fields)
        .zadd(keys.reportIndex(), r.createdAt, r.id)
        .zadd(keys.reportIndex(r.filedBy), r.createdAt, r.id)
        .zadd(keys.reportExpiry(), r.expiresAt, r.id)
        .exec();
    });
  }

  get(id: string): Promise<ReportRecord | undefined> {
    return this.c.run(async () => (await this.read([id]))[0]);
  }

  list(filter: ReportFilter = {}): Promise<ReportRecord[]> {
    const limit = filter.limit ?? 200;
    return this.c.run(async () => {
      const ids = await this.c.redis.zrange(this.c.keys.reportIndex(filter.filedBy), '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, limit);
      const out = await this.read(ids);
      // The embedded store's order: newest first, then by id.
      return out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }

  addPhoto(p: ReportPhoto): Promise<void> {
    const { keys } = this.c;
    return this.c.run(async () => {
      await this.c.redis
        .multi()
        .hset(keys.photo(p.id), 'ct', p.contentType, 'bytes', p.bytes, 'by', p.filedBy, 'ca', p.createdAt, 'ea', p.expiresAt)
        .zadd(keys.photoExpiry(), p.expiresAt, p.id)
        .exec();
    });
  }

  photo(id: string): Promise<ReportPhoto | undefined> {
    return this.c.run(async () => {
      const h = await this.c.redis.hgetallBuffer(this.c.keys.photo(id));
      if (!h.bytes || !h.ct) return undefined;
      return {
        id,
        contentType: h.ct.toString('utf8') as ReportPhoto['contentType'],
        bytes: h.bytes,
        filedBy: h.by?.toString('utf8') ?? '',
        createdAt: Number(h.ca?.toString('utf8')),
        expiresAt: Number(h.ea?.toString('utf8')),
      };
    });
  }

  prune(now: number, limit: number): Promise<number> {
    return this.c.run(async () => Number(await this.c.script('pruneReports')(0, this.c.keys.prefix, now, limit)));
  }

  private async read(ids: readonly string[]): Promise<ReportRecord[]> {
    const out: ReportRecord[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const pipe = this.c.redis.pipeline();
      for (const id of ids.slice(i, i + CHUNK)) pipe.hmget(this.c.keys.report(id), 'body', 'tid');
      for (const [err, reply] of (await pipe.exec()) ?? []) {
        if (err) throw err;
        const [body, tid] = reply as [string | null, string | null];
        if (body) out.push({ ...(JSON.parse(body) as Omit<ReportRecord, 'ticketId'>), ticketId: tid });
      }
    }
    return out;
  }
}
