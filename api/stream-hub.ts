/**
 * Server-sent events for the web console: every ticket event on `sw.tickets`, fanned out to the
 * connected streams that may see it (the admin: all; a unit: the events it is a recipient of).
 * Each API instance consumes the topic in a group of its own, so every instance sees every
 * event whichever instance its clients are connected to.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { Bus, Subscription } from '../core/ports.js';
import type { TicketEvent } from '../core/schemas.js';

/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
export const STREAM_HEARTBEAT_MS = 15_000;
/** A client this far behind (bytes not yet taken by its socket) is dropped rather than buffered for. */
export const STREAM_MAX_BUFFER = 1024 * 1024;
/** What a browser waits before reconnecting (the SSE `retry` field). */
const RETRY_MS = 3_000;

interface StreamClient {
  unitId: string | undefined;
  res: ServerResponse;
}

export class TicketStreamHub {
  private readonly clients = new Set<StreamClient>();
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    private readonly sub: Subscription,
    private readonly log: Logger,
  ) {
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), STREAM_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  static async start(bus: Bus, log: Logger): Promise<TicketStreamHub> {
    let hub: TicketStreamHub | undefined;
    // From the latest record: a new group per process must not replay the topic's history.
    const sub = await bus.subscribe(
      'sw.tickets',
      `api-stream-${randomUUID()}`,
      async (records) => {
        for (const { value } of records) hub?.publish(value);
      },
      { from: 'latest' },
    );
    hub = new TicketStreamHub(sub, log);
    return hub;
  }

  /** Starts an event stream on a raw response; `unitId` undefined means the admin. */
  open(res: ServerResponse, unitId: string | undefined): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to, which would hold events back.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${RETRY_MS}\n: connected\n\n`);
    const client: StreamClient = { unitId, res };
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
  }

  get size(): number {
    return this.clients.size;
  }

  private publish(event: TicketEvent): void {
    const data: Record<string, unknown> = { event: event.type, id: event.id, at: event.at, recipients: event.recipients, ticket: event.ticket };
    if (event.supervisionOrder) data.supervisionOrder = event.supervisionOrder;
    const frame = `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.clients) {
      if (c.unitId === undefined || event.recipients.includes(c.unitId)) this.write(c, frame);
    }
  }

  private broadcast(frame: string): void {
    for (const c of this.clients) this.write(c, frame);
  }

  private write(c: StreamClient, frame: string): void {
    if (c.res.writableLength > STREAM_MAX_BUFFER) {
      this.log.warn({ unitId: c.unitId }, 'event stream client too slow, disconnected');
      this.clients.delete(c);
      c.res.destroy();
      return;
    }
    c.res.write(frame);
  }

  /** Ends every stream (so the server can close) and stops consuming. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    await this.sub.close();
  }
}
