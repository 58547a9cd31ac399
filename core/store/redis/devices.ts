import { StreetWatchError } from '../../errors.js';
import type { DeviceRegistry, DeviceTrustUpdate } from '../../ports.js';
import type { DevicePatch, DeviceRecord, DeviceSenml, TrustedPosition } from '../../schemas.js';
import { CHUNK, parseJson, type Ctx } from './context.js';

export class RedisDevices implements DeviceRegistry {
  constructor(private readonly c: Ctx) {}

  add(d: DeviceRecord): Promise<void> {
    const { keys } = this.c;
    const fields: (string | number)[] = ['kind', d.kind, 'secretHash', d.secretHash, 'createdAt', d.createdAt, 'status', d.status, 'mobile', d.mobile ? '1' : '0'];
    fields.push('senml', JSON.stringify(d.senml), 'metrics', JSON.stringify(d.metrics));
    if (d.location) fields.push('lat', String(d.location.lat), 'lon', String(d.location.lon));
    if (d.lastSeen !== null) fields.push('lastSeen', d.lastSeen);
    if (d.gateway !== null) fields.push('gateway', d.gateway);
    if (d.lastReadingAt !== null) fields.push('lastReadingAt', d.lastReadingAt);
    if (d.position !== null) fields.push('position', JSON.stringify(d.position));
    const deviceKeys = [keys.device(d.id), keys.devices, ...(d.gateway === null ? [] : [keys.gatewayDevices(d.gateway)])];
    return this.c.run(async () => {
      const added = await this.c.script('addDevice')(deviceKeys.length, ...deviceKeys, d.id, ...fields);
      if (added === 0) throw new StreetWatchError('SW_ERR_DEVICE_EXISTS', [d.id]);
    });
  }

  get(id: string): Promise<DeviceRecord | undefined> {
    return this.c.run(async () => toDevice(id, await this.c.redis.hgetall(this.c.keys.device(id))));
  }

  list(): Promise<DeviceRecord[]> {
    return this.c.run(async () => this.many(await this.c.redis.zrange(this.c.keys.devices, '0', '-1')));
  }

  children(gatewayId: string, limit: number): Promise<DeviceRecord[]> {
    return this.c.run(async () => {
      const ids = (await this.c.redis.smembers(this.c.keys.gatewayDevices(gatewayId))).sort().slice(0, limit);
      return this.many(ids);
    });
  }

  update(id: string, patch: DevicePatch): Promise<DeviceRecord | undefined> {
    const set: Record<string, string> = {};
    const del: string[] = [];
    if (patch.kind !== undefined) set.kind = patch.kind;
    if (patch.location !== undefined) {
      if (patch.location === null) del.push('lat', 'lon');
      else Object.assign(set, { lat: String(patch.location.lat), lon: String(patch.location.lon) });
    }
    if (patch.mobile !== undefined) set.mobile = patch.mobile ? '1' : '0';
    if (patch.gateway !== undefined) {
      if (patch.gateway === null) del.push('gateway');
      else set.gateway = patch.gateway;
    }
    if (patch.senml !== undefined) set.senml = JSON.stringify(patch.senml);
    return this.c.run(async () => {
      // cjson decodes an empty object as an empty array: the script reads both as "nothing".
      const done = await this.c.script('updateDevice')(1, this.c.keys.device(id), id, this.c.keys.gatewayDevicesPrefix, JSON.stringify(set), JSON.stringify(del));
      return done === 1 ? toDevice(id, await this.c.redis.hgetall(this.c.keys.device(id))) : undefined;
    });
  }

  saveTrust(updates: readonly DeviceTrustUpdate[]): Promise<void> {
    if (updates.length === 0) return Promise.resolve();
    return this.c.run(async () => {
      for (let i = 0; i < updates.length; i += CHUNK) {
        const chunk = updates.slice(i, i + CHUNK);
        await this.c.script('saveTrust')(chunk.length, ...chunk.map((u) => this.c.keys.device(u.id)), ...chunk.map((u) => JSON.stringify({ lastReadingAt: u.lastReadingAt, position: u.position, metrics: u.metrics })));
      }
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
    return this.c.run(async () => (await this.c.script('removeDevice')(2, this.c.keys.device(id), this.c.keys.devices, id, this.c.keys.gatewayDevicesPrefix)) === 1);
  }

  private async many(ids: readonly string[]): Promise<DeviceRecord[]> {
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
    mobile: h.mobile === '1',
    gateway: h.gateway ?? null,
    // Devices stored before these fields existed have none of them.
    senml: parseJson<DeviceSenml>(h.senml) ?? { name: null, map: [] },
    lastReadingAt: h.lastReadingAt === undefined ? null : Number(h.lastReadingAt),
    position: parseJson<TrustedPosition>(h.position) ?? null,
    metrics: parseJson<string[]>(h.metrics) ?? [],
  };
}
