import { StreetWatchError } from '../../errors.js';
import type { ApiTokenRecord, ApiTokenStore } from '../../ports.js';
import type { Ctx } from './context.js';

export class RedisTokens implements ApiTokenStore {
  constructor(private readonly c: Ctx) {}

  add(t: ApiTokenRecord): Promise<void> {
    const { keys } = this.c;
    const fields: (string | number)[] = ['unit', t.unitId, 'kind', t.kind, 'hash', t.tokenHash, 'label', t.label, 'ca', t.createdAt];
    if (t.revokedAt !== null) fields.push('ra', t.revokedAt);
    return this.c.run(async () => {
      const added = await this.c.script('addToken')(4, keys.token(t.id), keys.tokenByHash(t.tokenHash), keys.tokens(), keys.tokens(t.unitId), t.id, t.tokenHash, ...fields);
      if (added === 0) throw new StreetWatchError('SW_ERR_INTERNAL', [`API token ${t.id} (or its hash) is already stored`]);
    });
  }

  findByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    return this.c.run(async () => {
      const id = await this.c.redis.get(this.c.keys.tokenByHash(tokenHash));
      return id === null ? undefined : (await this.read([id]))[0];
    });
  }

  list(unitId?: string): Promise<ApiTokenRecord[]> {
    // Oldest first, then by id: the sorted set's own order.
    return this.c.run(async () => this.read(await this.c.redis.zrange(this.c.keys.tokens(unitId), '0', '-1')));
  }

  revoke(id: string, at: number): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('revokeToken')(1, this.c.keys.token(id), at)) === 1);
  }

  private async read(ids: readonly string[]): Promise<ApiTokenRecord[]> {
    if (ids.length === 0) return [];
    const pipe = this.c.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.c.keys.token(id));
    const replies = (await pipe.exec()) ?? [];
    const out: ApiTokenRecord[] = [];
    ids.forEach((id, i) => {
      const [err, h] = replies[i] ?? [];
      if (err) throw err;
      const r = h as Record<string, string>;
      if (r?.hash === undefined) return;
      // Tokens stored before kinds existed are unit tokens.
      // Tokens stored before kinds existed are unit tokens.
      const kind = r.kind === 'display' || r.kind === 'department' || r.kind === 'reporter' ? r.kind : 'unit';
      out.push({ id, unitId: r.unit!, kind, tokenHash: r.hash, label: r.label ?? '', createdAt: Number(r.ca), revokedAt: r.ra === undefined ? null : Number(r.ra) });
    });
    return out;
  }
}
