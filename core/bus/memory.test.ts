import { describe, expect, it } from 'vitest';
import { busContract } from '../../test/contract/bus.contract.js';
import { MemoryBus } from './memory.js';

busContract('memory', async () => new MemoryBus());

describe('MemoryBus', () => {
  it('resolves a publish only after every group has processed it', async () => {
    const bus = new MemoryBus();
    const done: string[] = [];
    await bus.subscribe('sw.deadletter', 'slow', async () => {
      await new Promise((r) => setTimeout(r, 50));
      done.push('slow');
    });
    await bus.subscribe('sw.deadletter', 'fast', async () => void done.push('fast'));
    await bus.publish('sw.deadletter', [{ key: 'k', value: { ref: 'r', deviceId: 'k', clientId: 'k', topic: 't', code: 'c', message: 'm', receivedAt: 1, payload: '', truncated: false } }]);
    expect(done.sort()).toEqual(['fast', 'slow']);
    await bus.close();
  });

  it('rejects pending publishes when it closes, so nothing is acknowledged unprocessed', async () => {
    const bus = new MemoryBus();
    await bus.subscribe('sw.deadletter', 'stuck', async () => {
      throw new Error('store down');
    });
    const pending = bus.publish('sw.deadletter', [{ key: 'k', value: { ref: 'r', deviceId: 'k', clientId: 'k', topic: 't', code: 'c', message: 'm', receivedAt: 1, payload: '', truncated: false } }]);
    await new Promise((r) => setTimeout(r, 20));
    await bus.close();
    await expect(pending).rejects.toMatchObject({ code: 'SW_ERR_UNAVAILABLE' });
  });

  it('batches records published in the same turn', async () => {
    const bus = new MemoryBus();
    const sizes: number[] = [];
    await bus.subscribe('sw.deadletter', 'g', async (rs) => void sizes.push(rs.length));
    const letter = { ref: 'r', deviceId: 'k', clientId: 'k', topic: 't', code: 'c', message: 'm', receivedAt: 1, payload: '', truncated: false };
    await Promise.all(Array.from({ length: 100 }, () => bus.publish('sw.deadletter', [{ key: 'k', value: letter }])));
    expect(sizes).toEqual([100]);
    await bus.close();
  });
});
