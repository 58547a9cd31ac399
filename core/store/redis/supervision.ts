import type { SupervisionFilter, SupervisionStore } from '../../ports.js';
import type { SupervisionOrder } from '../../schemas.js';
import { CHUNK, DEFAULT_LIST_LIMIT, parseJson, type Ctx } from './context.js';

export class RedisSupervision implements SupervisionStore {
  constructor(private readonly c: Ctx) {}

  get(id: string): Promise<SupervisionOrder | undefined> {
    return this.c.run(async () => parseJson<SupervisionOrder>(await this.c.redis.hget(this.c.keys.order(id), 'body')));
  }

  list(filter: SupervisionFilter = {}): Promise<SupervisionOrder[]> {
    return this.c.run(async () => {
      // Orders are few per ticket and unit: the index gives the candidates, the rest is checked here.
      const ids = await this.c.redis.zrange(this.c.keys.orderIndex(filter), '0', '-1');
      const out: SupervisionOrder[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const pipe = this.c.redis.pipeline();
        for (const id of ids.slice(i, i + CHUNK)) pipe.hget(this.c.keys.order(id), 'body');
        for (const [err, body] of (await pipe.exec()) ?? []) {
          if (err) throw err;
          const o = parseJson<SupervisionOrder>(body as string | null);
          if (!o) continue;
          if (filter.unitId !== undefined && o.issuedTo !== filter.unitId && o.subcenterId !== filter.unitId) continue;
          if (filter.ticketId !== undefined && o.ticketId !== filter.ticketId) continue;
          if (filter.status !== undefined && o.status !== filter.status) continue;
          out.push(o);
        }
      }
      out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return out.slice(0, filter.limit ?? DEFAULT_LIST_LIMIT);
    });
  }
}
