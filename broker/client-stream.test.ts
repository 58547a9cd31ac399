import net from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ClientStream } from './client-stream.js';

const limits = { inflight: 4, maxQueuedBytes: 64 * 1024 };

/**
 * Reads the way aedes does: everything buffered at once, then nothing until what it read is
 * handled (here: on the next turn of the event loop), then again; on `readable` when idle.
 */
function readLikeAedes(stream: ClientStream): Buffer[] {
  const got: Buffer[] = [];
  let busy = false;
  const next = (): void => {
    const chunk = stream.read() as Buffer | null;
    if (!chunk) return;
    got.push(chunk);
    busy = true;
    setImmediate(() => {
      busy = false;
      next();
    });
  };
  stream.on('readable', () => {
    if (!busy) next();
  });
  return got;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
const total = (chunks: Buffer[]): number => chunks.reduce((n, c) => n + c.length, 0);
/** Waits until `bytes` have been read (or gives up after a generous while, and the test fails on the count). */
async function arrived(chunks: Buffer[], bytes: number): Promise<number> {
  for (let i = 0; i < 250 && total(chunks) < bytes; i++) await settle();
  return total(chunks);
}

describe('ClientStream', () => {
  it('passes every byte on in order, in slices, to a reader that reads the way aedes does', async () => {
    const transport = new PassThrough();
    const stream = new ClientStream(transport, limits, () => undefined);
    const got = readLikeAedes(stream);
    const sent = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    transport.write(sent.subarray(0, 120_000));
    transport.write(sent.subarray(120_000));
    expect(await arrived(got, sent.length)).toBe(sent.length);
    expect(Buffer.concat(got).equals(sent)).toBe(true);
    expect(Math.max(...got.map((c) => c.length))).toBeLessThanOrEqual(8 * 1024);
  });

  it('passes nothing on while held or while its window is full, and resumes when released', async () => {
    const transport = new PassThrough();
    const stream = new ClientStream(transport, limits, () => undefined);
    const got = readLikeAedes(stream);
    const release = stream.hold();
    transport.write(Buffer.alloc(50_000));
    await settle();
    expect(total(got)).toBe(0);
    release();
    expect(await arrived(got, 50_000)).toBe(50_000);

    const done = Array.from({ length: 4 }, () => stream.begin(100));
    expect(stream.reading).toBe(false);
    transport.write(Buffer.alloc(10_000));
    await settle();
    expect(total(got)).toBe(50_000);
    done[0]!();
    done[0]!();
    expect(await arrived(got, 60_000)).toBe(60_000);
    expect(stream.publishesInProgress).toBe(3);
  });

  it('stops reading once a quarter of its cap is in progress', () => {
    const stream = new ClientStream(new PassThrough(), limits, () => undefined);
    const done = stream.begin(16 * 1024);
    expect(stream.reading).toBe(false);
    done();
    expect(stream.reading).toBe(true);
  });

  it('holds at most one network read of a socket it has stopped reading', async () => {
    // A client floods a real socket; its first slice starts a publish that stays in progress, so
    // the connection is not read past it. What was read from the network and not parsed is all
    // the flood costs the broker: a network read (64 KiB) and what was left under the socket's
    // 16 KiB mark, not a second read on top of the first.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    try {
      const stream = new ClientStream(socket, { inflight: 1, maxQueuedBytes: 64 * 1024 * 1024 }, () => undefined);
      let parsed = 0;
      let finish: (() => void) | undefined;
      stream.on('readable', () => {
        for (let chunk = stream.read() as Buffer | null; chunk; chunk = stream.read() as Buffer | null) {
          parsed += chunk.length;
          finish ??= stream.begin(chunk.length);
        }
      });
      const flood = Buffer.alloc(4 * 1024 * 1024, 7);
      client.write(flood);
      let seen = -1;
      while (socket.bytesRead !== seen) {
        seen = socket.bytesRead;
        await new Promise((r) => setTimeout(r, 100));
      }
      const held = socket.bytesRead - parsed;
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(80 * 1024);
      expect(stream.unreadBytes).toBe(held);

      finish!();
      for (let i = 0; i < 250 && parsed < flood.length; i++) await settle();
      expect(parsed).toBe(flood.length);
    } finally {
      client.destroy();
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('closes itself, once, when what it holds passes the cap', async () => {
    // A transport that takes nothing: everything written waits in the stream.
    const transport = new PassThrough({ highWaterMark: 1 });
    transport.pause();
    const overflows: number[] = [];
    const stream = new ClientStream(transport, limits, (queued) => overflows.push(queued));
    for (let i = 0; i < 100 && !stream.destroyed; i++) stream.write(Buffer.alloc(1024));
    await settle();
    expect(stream.destroyed).toBe(true);
    expect(transport.destroyed).toBe(true);
    expect(overflows).toHaveLength(1);
    expect(overflows[0]).toBeGreaterThan(64 * 1024);
  });
});
