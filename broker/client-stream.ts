/**
 * One client's connection as aedes sees it: a stream between the network and the MQTT parser
 * that passes bytes on only while the broker can take more from that client.
 *
 * Aedes reads all a socket holds on every `readable` event, even while the packets of its last
 * read are still being handled (a `readable` event counts as a finished packet in its batch
 * counter), so a client that writes faster than its publishes are handed on is read ever
 * faster, and what it sent waits in memory: 3,000 publishes of 120 KB were parsed in 2.7 s and
 * took 360 MB while the publish throttle let 20 a second through. Here the network is read only
 * while nothing holds the client (a publish waiting for its rate, a refused subscription
 * waiting for its turn), while its publishes in progress are under a small window, and while
 * what it is sent is being read. Otherwise the socket buffer fills, the kernel stops reading,
 * and TCP pushes back on the client: nothing it sent is lost, and it costs the broker nothing.
 *
 * What one connection may hold in the broker at all (publishes in progress and bytes written
 * to it but not yet taken by the network) is capped; past the cap the connection is closed.
 * Every connection is also held while the broker as a whole has too many publishes waiting to
 * be handed on (the gate of hand-offs.ts).
 */
import { Duplex } from 'node:stream';
import type { ReadGate } from './hand-offs.js';

/** Bytes handed to the MQTT parser at a time: bounds the packets of one read however small they are. */
const READ_SLICE_BYTES = 4 * 1024;
/** Reading also stops when the bytes of publishes in progress reach this share of the queue cap. */
const INFLIGHT_SHARE_OF_QUEUE = 4;

export interface ClientFlowLimits {
  /** Publishes of one connection in progress (being authorized or handed on) at which it is no longer read. */
  inflight: number;
  /** Bytes one connection may hold in the broker: publishes in progress and what is written to it but not yet sent. */
  maxQueuedBytes: number;
}

export class ClientStream extends Duplex {
  private holds = 0;
  private inflight = 0;
  private inflightBytes = 0;
  /** Whether the parser side asked for more and was not given it yet. */
  private wanted = false;
  private sourceEnded = false;
  private overflowed = false;
  /** Reads again once the gate opens. */
  private readonly wake = (): void => this.pump();

  constructor(
    readonly transport: Duplex,
    private readonly limits: ClientFlowLimits,
    /** Called once, when the connection is closed for holding more than its cap. */
    private readonly onOverflow: (queuedBytes: number) => void,
    /** Shut while the broker as a whole holds too much: no connection is read. */
    private readonly gate?: ReadGate,
  ) {
    super({ readableHighWaterMark: READ_SLICE_BYTES, allowHalfOpen: false });
    transport.on('readable', () => this.pump());
    transport.once('end', () => {
      this.sourceEnded = true;
      this.pump();
    });
    transport.once('error', (err) => this.destroy(err));
    transport.once('close', () => this.destroy());
    // Output taken by the network again: the client reads, so it may be read again too.
    this.on('drain', () => this.pump());
  }

  /** Bytes this connection holds in the broker now. */
  get queuedBytes(): number {
    return this.inflightBytes + this.writableLength + this.transport.writableLength;
  }

  /** Bytes read from the network and not yet parsed: the transport's buffer and the slice handed to the parser. */
  get unreadBytes(): number {
    return this.transport.readableLength + this.readableLength;
  }

  /** Publishes of this connection in progress now. */
  get publishesInProgress(): number {
    return this.inflight;
  }

  /** Whether the network is being read for this connection now. */
  get reading(): boolean {
    return this.holds === 0 && this.inflight < this.limits.inflight && this.inflightBytes * INFLIGHT_SHARE_OF_QUEUE < this.limits.maxQueuedBytes && !this.writableNeedDrain && (this.gate?.open ?? true);
  }

  /** A publish of `bytes` starts being handled; the function returned says it is done (once). */
  begin(bytes: number): () => void {
    this.inflight++;
    this.inflightBytes += bytes;
    this.checkQueued();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inflight--;
      this.inflightBytes -= bytes;
      this.pump();
    };
  }

  /** Stops reading until the function returned is called (once). */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.pump();
    };
  }

  override _read(): void {
    this.wanted = true;
    this.pump();
  }

  override read(size?: number): Buffer | null {
    const chunk = super.read(size) as Buffer | null;
    // A read that empties a full buffer asks for nothing more (Node calls `_read` only when a
    // read starts below the mark), and aedes reads again only on `readable`: if what it got held
    // no whole packet, both would wait for the other. The next slice goes in now.
    if (this.readableLength < this.readableHighWaterMark) {
      this.wanted = true;
      this.pump();
    }
    return chunk;
  }

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const ok = super.write(chunk, encoding as BufferEncoding, cb as (err?: Error | null) => void);
    this.checkQueued();
    return ok;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.transport.write(chunk)) cb();
    else this.transport.once('drain', () => cb());
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    // mqtt-packet corks while it writes a packet's parts: one network write for them all.
    this.transport.cork();
    let ok = true;
    for (const { chunk } of chunks) ok = this.transport.write(chunk);
    this.transport.uncork();
    if (ok) cb();
    else this.transport.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.transport.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.gate?.forget(this.wake);
    this.transport.destroy(err ?? undefined);
    cb(err);
  }

  private pump(): void {
    while (this.wanted && this.reading && !this.destroyed) {
      // A slice at a time, the rest left in the transport: while its buffer is over its mark it
      // reads nothing more from the network. Taking a whole network read (64 KiB) let the
      // transport read the next at once, and a connection stopped here then held both.
      const available = this.transport.readableLength;
      const chunk = (available > 0 ? this.transport.read(Math.min(available, READ_SLICE_BYTES)) : this.transport.read()) as Buffer | null;
      if (chunk === null) {
        if (this.sourceEnded) {
          this.wanted = false;
          this.push(null);
        }
        return;
      }
      this.wanted = this.push(chunk);
    }
    if (this.wanted && this.gate && !this.gate.open && !this.destroyed) this.gate.whenOpen(this.wake);
  }

  private checkQueued(): void {
    if (this.overflowed || this.destroyed) return;
    const queued = this.queuedBytes;
    if (queued <= this.limits.maxQueuedBytes) return;
    this.overflowed = true;
    this.onOverflow(queued);
    this.destroy();
  }
}
