import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ClientStream } from './client-stream.js';
import { HandOffs } from './hand-offs.js';

/** A hand-off that settles when told to. */
function pending(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('HandOffs', () => {
  it('runs at most its concurrency at once, the rest in arrival order as earlier ones settle, failed or not', async () => {
    const handOffs = new HandOffs({ concurrency: 2, maxWaiting: 100 });
    const tasks = Array.from({ length: 5 }, () => pending());
    const started: number[] = [];
    const results = tasks.map((t, i) =>
      handOffs
        .run(() => {
          started.push(i);
          return t.promise;
        })
        .then(
          () => 'ok',
          (err: Error) => err.message,
        ),
    );
    expect(started).toEqual([0, 1]);
    expect([handOffs.inProgress, handOffs.queued]).toEqual([2, 3]);
    tasks[1]!.reject(new Error('refused'));
    await flush();
    expect(started).toEqual([0, 1, 2]);
    tasks[0]!.resolve();
    await flush();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const t of tasks) t.resolve();
    await flush();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(await Promise.all(results)).toEqual(['ok', 'refused', 'ok', 'ok', 'ok']);
    expect([handOffs.inProgress, handOffs.queued]).toEqual([0, 0]);
  });

  it('counts a task that throws as settled', async () => {
    const handOffs = new HandOffs({ concurrency: 1, maxWaiting: 100 });
    await expect(
      handOffs.run(() => {
        throw new Error('bad record');
      }),
    ).rejects.toThrow('bad record');
    await expect(handOffs.run(() => Promise.resolve(7))).resolves.toBe(7);
  });

  it('shuts the gate when its waiting line is full and opens it at half, waking each connection that waited once', async () => {
    const handOffs = new HandOffs({ concurrency: 1, maxWaiting: 4 });
    const tasks = Array.from({ length: 6 }, () => pending());
    const runs = tasks.map((t) => handOffs.run(() => t.promise));
    expect(handOffs.queued).toBe(5);
    expect(handOffs.open).toBe(false);
    const woken: string[] = [];
    const wake = (name: string) => () => woken.push(name);
    const a = wake('a');
    handOffs.whenOpen(a);
    handOffs.whenOpen(a);
    handOffs.whenOpen(wake('b'));
    const gone = wake('gone');
    handOffs.whenOpen(gone);
    handOffs.forget(gone);
    // 5 waiting, then 4, 3: still shut; at 2 (half of 4) it opens.
    for (let i = 0; i < 2; i++) {
      tasks[i]!.resolve();
      await flush();
      expect(handOffs.open).toBe(false);
      expect(woken).toEqual([]);
    }
    tasks[2]!.resolve();
    await flush();
    expect(handOffs.queued).toBe(2);
    expect(handOffs.open).toBe(true);
    expect(woken).toEqual(['a', 'b']);
    // Open: asked now, woken now.
    handOffs.whenOpen(wake('c'));
    expect(woken).toEqual(['a', 'b', 'c']);
    for (const t of tasks) t.resolve();
    await Promise.all(runs);
  });

  it('wakes only as many connections as the room holds at their window each, the rest in order on later turns', async () => {
    // 20 waiting shut the gate; it opens at 10, leaving room for 10 more: two windows of 5.
    const handOffs = new HandOffs({ concurrency: 1, maxWaiting: 20, perConnection: 5 });
    const tasks = Array.from({ length: 21 }, () => pending());
    const runs = tasks.map((t) => handOffs.run(() => t.promise));
    expect(handOffs.open).toBe(false);
    const woken: number[] = [];
    for (let i = 0; i < 8; i++) handOffs.whenOpen(() => woken.push(i));
    for (let i = 0; i < 10; i++) tasks[i]!.resolve();
    while (handOffs.queued > 10) await Promise.resolve();
    expect(handOffs.open).toBe(true);
    expect(woken).toEqual([0, 1]);
    // The woken brought nothing this turn: the next check phase wakes the next two, and so on.
    await flush();
    expect(woken).toEqual([0, 1, 2, 3]);
    await flush();
    await flush();
    expect(woken).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const t of tasks) t.resolve();
    await Promise.all(runs);
  });

  it('wakes one connection at a time when its window is larger than the room', async () => {
    const handOffs = new HandOffs({ concurrency: 1, maxWaiting: 2, perConnection: 64 });
    const tasks = Array.from({ length: 3 }, () => pending());
    const runs = tasks.map((t) => handOffs.run(() => t.promise));
    const woken: number[] = [];
    for (let i = 0; i < 3; i++) handOffs.whenOpen(() => woken.push(i));
    tasks[0]!.resolve();
    await flush();
    expect(woken).toEqual([0]);
    await flush();
    expect(woken).toEqual([0, 1]);
    for (const t of tasks) t.resolve();
    await Promise.all(runs);
    await flush();
    expect(woken).toEqual([0, 1, 2]);
  });

  it('holds every connection while the gate is shut and lets each read on when it opens', async () => {
    const handOffs = new HandOffs({ concurrency: 1, maxWaiting: 2 });
    const limits = { inflight: 64, maxQueuedBytes: 1024 * 1024 };
    const transports = [new PassThrough(), new PassThrough()];
    const streams = transports.map((t) => new ClientStream(t, limits, () => undefined, handOffs));
    const got = streams.map((s) => {
      const chunks: Buffer[] = [];
      s.on('readable', () => {
        for (let c; (c = s.read() as Buffer | null); ) chunks.push(c);
      });
      return chunks;
    });
    const tasks = Array.from({ length: 3 }, () => pending());
    const runs = tasks.map((t) => handOffs.run(() => t.promise));
    expect(handOffs.open).toBe(false);
    expect(streams.map((s) => s.reading)).toEqual([false, false]);
    transports[0]!.write(Buffer.alloc(100, 1));
    transports[1]!.write(Buffer.alloc(100, 2));
    await flush();
    expect(got.map((g) => g.length)).toEqual([0, 0]);
    // One settles: one waiting of 2 is half, the gate opens and both are read.
    tasks[0]!.resolve();
    await flush();
    await flush();
    expect(handOffs.open).toBe(true);
    expect(got.map((g) => Buffer.concat(g).length)).toEqual([100, 100]);
    for (const t of tasks) t.resolve();
    await Promise.all(runs);
    for (const s of streams) s.destroy();
  });

  it('forgets a connection destroyed while it waited for the gate', async () => {
    const handOffs = new HandOffs({ concurrency: 1, maxWaiting: 1 });
    const tasks = Array.from({ length: 2 }, () => pending());
    const runs = tasks.map((t) => handOffs.run(() => t.promise));
    const transport = new PassThrough();
    const stream = new ClientStream(transport, { inflight: 64, maxQueuedBytes: 1024 * 1024 }, () => undefined, handOffs);
    stream.on('readable', () => stream.read());
    transport.write(Buffer.alloc(10));
    await flush();
    expect((handOffs as unknown as { shut: Set<unknown> }).shut.size).toBe(1);
    stream.destroy();
    await flush();
    expect((handOffs as unknown as { shut: Set<unknown> }).shut.size).toBe(0);
    for (const t of tasks) t.resolve();
    await Promise.all(runs);
  });
});
