import { StreetWatchError } from '../../errors.js';
import type { DeviceRegistry } from '../../ports.js';
import type { DeviceRecord } from '../../schemas.js';
import { CHUNK, type Ctx } from './context.js';

export class RedisDevices implements DeviceRegistry {
  constructor(private readonly c: Ctx) {}

  add(d: DeviceRecord): Promise<void> {
    const { keys } = this.c;
    const fields: (string | number)[] = ['kind', d.kind, 'secretHash', d.secretHash, 'createdAt', d.createdAt, 'status', d.status];
    if (d.location) fields.push('lat', String(d.location.lat), 'lon', String(d.location.lon));
    if (d.lastSeen !== null) fields.push('lastSeen', d.lastSeen);
    return this.c.run(async () => {
      const added = await this.c.script('addDevice')(2, keys.device(d.id), keys.devices, d.id, ...fields);
      if (added === 0) throw new StreetWatchError('SW_ERR_DEVICE_EXISTS', [d.id]);
    });
  }

  get(id: string): Promise<DeviceRecord | undefined> {
    return this.c.run(async () => toDevice(id, await this.c.redis.hgetall(this.c.keys.device(id))));
  }

  list(): Promise<DeviceRecord[]> {
    return this.c.run(async () => {
      const ids = await this.c.redis.zrange(this.c.keys.devices, '0', '-1');
      const out: DeviceRecord[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        const pipe = this.c.redis.pipeline();
        for (const id of chunk) pipe.hgetall(this.c.keys.device(id));
        const replies = (await pipe.exec()) ?? [];
        chunk.forEach((id, j) => {
          const [err, hash] = replies[j] ?? [];
          if (err) throw err;
          const d = toDevice(id, hash as Record<string, string>);
          if (d) out.push(d);
        });
      }
      return out;
    });
  }

  setSecretHash(id: string, secretHash: string): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('setIfExists')(1, this.c.keys.device(id), 'secretHash', secretHash)) === 1);
  }

  setStatus(id: string, status: DeviceRecord['status'], at: number): Promise<void> {
    return this.c.run(async () => void (await this.c.script('setStatus')(1, this.c.keys.device(id), status, at)));
  }

  touch(ids: readonly string[], at: number): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.c.run(async () => {
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        await this.c.script('touch')(chunk.length, ...chunk.map((id) => this.c.keys.device(id)), at);
      }
    });
  }

  remove(id: string): Promise<boolean> {
    return this.c.run(async () => (await this.c.script('removeDevice')(2, this.c.keys.device(id), this.c.keys.devices, id)) === 1);
  }
}

function toDevice(id: string, h: Record<string, string> | null | undefined): DeviceRecord | undefined {
  if (!h || h.kind === undefined) return undefined;
  return {
    id,
    kind: h.kind,
    location: h.lat === undefined || h.lon === undefined ? null : { lat: Number(h.lat), lon: Number(h.lon) },
    secretHash: h.secretHash ?? '',
    createdAt: Number(h.createdAt),
    status: (h.status ?? 'unknown') as DeviceRecord['status'],
    lastSeen: h.lastSeen === undefined ? null : Number(h.lastSeen),
  };
}
