import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { DeviceRegistry } from '../core/ports.js';
import type { DeviceRecord } from '../core/schemas.js';
import { hashSecret } from '../core/secret-hash.js';
import { connectPath } from './connect-path.js';

const SECRET = 'correct horse battery staple';

async function setup() {
  const secretHash = await hashSecret(SECRET);
  const devices = { get: async (id: string) => (id === 'wl-1' ? ({ id, secretHash } as DeviceRecord) : undefined) } as DeviceRegistry;
  const path = connectPath({
    limits: loadConfig({}).mqtt.limits,
    devices,
    tokens: undefined,
    operatorToken: undefined,
    loginThrottle: { refusedFor: () => 0, failed: () => undefined },
    addressOf: () => '127.0.0.1',
    isConnected: () => false,
    metrics: new Metrics({ defaultMetrics: false }),
    logger: createLogger('silent'),
  });
  const authenticate = (clientId: string, password: Buffer): Promise<boolean> =>
    new Promise((resolve) => path.authenticate!({ id: clientId } as Client, clientId, password, (_err, ok) => resolve(ok ?? false)));
  return { authenticate };
}

describe('connectPath', () => {
  it('overwrites the password of a CONNECT once it is judged, accepted or refused', async () => {
    const { authenticate } = await setup();
    const right = Buffer.from(SECRET);
    const wrong = Buffer.from('not the secret');
    expect(await authenticate('wl-1', right)).toBe(true);
    expect(await authenticate('wl-1', wrong)).toBe(false);
    expect([right.every((b) => b === 0), wrong.every((b) => b === 0)]).toEqual([true, true]);
    // The next connection brings its own copy: the remembered digest still lets it in.
    expect(await authenticate('wl-1', Buffer.from(SECRET))).toBe(true);
  });
});
