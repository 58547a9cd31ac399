import { once, type EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { retainedIndexedPersistence } from './retained-index.js';

const packet = (topic: string, payload: string) => ({ cmd: 'publish' as const, topic, payload: Buffer.from(payload), qos: 1 as const, retain: true, dup: false, brokerId: 'b', brokerCounter: 1 });

async function topicsOf(stream: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const p of stream) out.push(`${(p as { topic: string }).topic}=${(p as { payload: Buffer }).payload.toString()}`);
  return out.sort();
}

describe('retained messages by topic', () => {
  it('finds the retained message of an exact filter, the latest one, and forgets a cleared one', async () => {
    const p = retainedIndexedPersistence();
    // As aedes does: the persistence is ready once it has its broker.
    const callbacks = p as unknown as EventEmitter & { broker: unknown };
    const ready = once(callbacks, 'ready');
    callbacks.broker = {};
    await ready;
    // Aedes stores without a callback and awaits the promise.
    const store = (topic: string, payload: string): Promise<void> => (p.storeRetained as unknown as (pkt: unknown) => Promise<void>)(packet(topic, payload));
    await store('v1/devices/a/status', 'offline');
    await store('v1/devices/a/status', 'online');
    await new Promise<void>((resolve, reject) => p.storeRetained(packet('v1/devices/b/status', 'online'), (err) => (err ? reject(err) : resolve())));
    await store('v1/devices/c/status', 'online');
    await store('v1/devices/c/status', '');
    expect(await topicsOf(p.createRetainedStreamCombi(['v1/devices/a/status', 'v1/devices/c/status', 'v1/devices/z/status']))).toEqual(['v1/devices/a/status=online']);
    expect(await topicsOf(p.createRetainedStream('v1/devices/b/status'))).toEqual(['v1/devices/b/status=online']);
    // Wildcards take the stock path and see the same messages.
    expect(await topicsOf(p.createRetainedStreamCombi(['v1/devices/+/status']))).toEqual(['v1/devices/a/status=online', 'v1/devices/b/status=online']);
    expect(await topicsOf(p.createRetainedStream('#'))).toEqual(['v1/devices/a/status=online', 'v1/devices/b/status=online']);
  });
});
