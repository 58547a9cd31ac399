import { StreetWatchError } from '../../errors.js';
import type { IngestTokenRecord, IngestTokenStore } from '../../ports.js';
import type { Ctx } from './context.js';

/** Ingest tokens, kept as API tokens are (and written by the same scripts) under their own keys. */
export class RedisIngestTokens implements IngestTokenStore {
  constructor(private readonly c: Ctx) {}

  add(t: IngestTokenRecord): Promise<void> {
    const { keys } = this.c;
    const fields: (string | number)[] = ['device', t.deviceId, 'hash', t.tokenHash, 'label', t.label, 'ca', t.createdAt];
    if (t.revokedAt !== null) fields.push('ra', t.revokedAt);
    return this.c.run(async () => {
      const added = await this.c.script('addToken')(4, keys.ingestToken(t.id), keys.ingestTokenByHash(t.tokenHash), keys.ingestTokens(), keys.ingestTokens(t.deviceId), t.id, t.tokenHash, ...fields);
      if (added === 0) throw new StreetWatchError('SW_ERR_INTERNAL', [`ingest token ${t.id} (or its hash) is already stored`]);
    });
  }

  findByHash(tokenHash: string): Promise<IngestTokenRecord | undefined> {
    return this.c.run(async () => {
      const id = await this.c.redis.get(this.c.keys.ingestTokenByHash(tokenHash));
      return id === null ? undefined : (await this.read([id]))[0];
    });
  }

  list(deviceId?: string): Promise<IngestTokenRecord[]> {
    return this.c.run(async () => this.read(await this.c.redis.zrange(this.c.keys.ingestTokens(deviceId), '0', '-1')));
  }

  revoke(id: string, at: number): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('revokeToken')(1, this.c.keys.ingestToken(id), at)) === 1);
  }

  private async read(ids: readonly string[]): Promise<IngestTokenRecord[]> {
    if (ids.length === 0) return [];
    const pipe = this.c.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.c.keys.ingestToken(id));
    const replies = (await pipe.exec()) ?? [];
    const out: IngestTokenRecord[] = [];
    ids.forEach((id, i) => {
      const [err, h] = replies[i] ?? [];
      if (err) throw err;
      const r = h as Record<string, string>;
      if (r?.hash === undefined) return;
      out.push({ id, deviceId: r.device!, tokenHash: r.hash, label: r.label ?? '', createdAt: Number(r.ca), revokedAt: r.ra === undefined ? null : Number(r.ra) });
    });
    return out;
  }
}
