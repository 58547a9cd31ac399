import { DEVICE_ERROR_LOG_SIZE, type DeviceErrorLog, type DeviceErrorRecord } from '../../ports.js';
import type { Ctx } from './context.js';

/**
 * The device error rings in Redis: a sorted set per device, scored by arrival time, each member
 * the refusal's JSON (so a redelivered one is the same member and is kept once), trimmed to the
 * newest in the same MULTI as the append.
 */
export class RedisDeviceErrors implements DeviceErrorLog {
  constructor(
    private readonly c: Ctx,
    private readonly capacity = DEVICE_ERROR_LOG_SIZE,
  ) {}

  append(deviceId: string, errors: readonly DeviceErrorRecord[]): Promise<void> {
    if (errors.length === 0) return Promise.resolve();
    const key = this.c.keys.deviceErrors(deviceId);
    return this.c.run(async () => {
      const tx = this.c.redis.multi();
      for (const e of errors) tx.zadd(key, 'NX', e.at, JSON.stringify([e.ref, e.code, e.message, e.topic, e.at]));
      tx.zremrangebyrank(key, 0, -(this.capacity + 1));
      await tx.exec();
    });
  }

  recent(deviceId: string, limit = this.capacity): Promise<DeviceErrorRecord[]> {
    return this.c.run(async () => {
      const members = await this.c.redis.zrevrange(this.c.keys.deviceErrors(deviceId), 0, Math.min(limit, this.capacity) - 1);
      return members.map((m) => {
        const [ref, code, message, topic, at] = JSON.parse(m) as [string, string, string, string, number];
        return { code, message, topic, ref, at };
      });
    });
  }

  clear(deviceId: string): Promise<void> {
    return this.c.run(async () => {
      await this.c.redis.del(this.c.keys.deviceErrors(deviceId));
    });
  }
}
