/**
 * Server-sent events for the web console: every ticket event on `sw.tickets`, fanned out to the
 * connected streams that may see it (the admin: all; a unit: the events it is a recipient of).
 * Each API instance consumes the topic in a group of its own, so every instance sees every
 * event whichever instance its clients are connected to. Bursts of one ticket's updates are
 * coalesced (core/ticket-coalescer.ts) and each event carries a bounded view of the ticket. A
 * unit's stream ends when its token is revoked: at once on this instance, within
 * STREAM_TOKEN_CHECK_MS on the others.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { Bus, Subscription } from '../core/ports.js';
import type { TicketEvent } from '../core/schemas.js';
import { TicketEventCoalescer } from '../core/ticket-coalescer.js';
import { supervisionOrderView, ticketView } from '../core/tickets/view.js';

/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
export const STREAM_HEARTBEAT_MS = 15_000;
/** A client this far behind (bytes not yet taken by its socket) is dropped rather than buffered for. */
export const STREAM_MAX_BUFFER = 1024 * 1024;
/** How often the tokens of open unit streams are checked: a token revoked on another API instance ends its streams within this. */
export const STREAM_TOKEN_CHECK_MS = 5_000;
/** What a browser waits before reconnecting (the SSE `retry` field). */
const RETRY_MS = 3_000;

/**
 * Who an event stream is for: the unit whose events it carries (undefined: all of them), and
 * the token it was opened with (undefined for the admin token): the token's id and its unit.
 */
export interface StreamViewer {
  unitId: string | undefined;
  token: { id: string; unitId: string } | undefined;
}

interface StreamClient {
  unitId: string | undefined;
  token: StreamViewer['token'];
  res: ServerResponse;
}

export interface StreamHubOptions {
  bus: Bus;
  log: Logger;
  /** Whether a unit token may still stream (not revoked, its unit still in the city). */
  tokenValid: (tokenId: string, unitId: string) => Promise<boolean>;
}

export class TicketStreamHub {
  private readonly clients = new Set<StreamClient>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly tokenCheck: NodeJS.Timeout;
  private readonly coalescer: TicketEventCoalescer;
  private readonly log: Logger;

  private constructor(
    private readonly sub: Subscription,
    private readonly opts: StreamHubOptions,
  ) {
    this.log = opts.log;
    this.coalescer = new TicketEventCoalescer((e) => this.publish(e));
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), STREAM_HEARTBEAT_MS);
    this.heartbeat.unref();
    this.tokenCheck = setInterval(() => void this.checkTokens(), STREAM_TOKEN_CHECK_MS);
    this.tokenCheck.unref();
  }

  static async start(opts: StreamHubOptions): Promise<TicketStreamHub> {
    let hub: TicketStreamHub | undefined;
    // From the latest record: a new group per process must not replay the topic's history.
    const sub = await opts.bus.subscribe(
      'sw.tickets',
      `api-stream-${randomUUID()}`,
      async (records) => {
        for (const { value } of records) hub?.coalescer.push(value);
      },
      { from: 'latest' },
    );
    hub = new TicketStreamHub(sub, opts);
    return hub;
  }

  /** Ends the streams opened with a token, as soon as it is revoked. */
  revokeToken(tokenId: string): void {
    for (const c of this.clients) if (c.token?.id === tokenId) this.drop(c, 'token revoked');
  }

  /** Starts an event stream on a raw response. */
  open(res: ServerResponse, viewer: StreamViewer): void {
    const { unitId } = viewer;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to, which would hold events back.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${RETRY_MS}\n: connected\n\n`);
    const client: StreamClient = { unitId, token: viewer.token, res };
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
  }

  get size(): number {
    return this.clients.size;
  }

  /** Ends the streams whose token is no longer valid (revoked on another instance). */
  private async checkTokens(): Promise<void> {
    const tokens = new Map<string, string>();
    for (const c of this.clients) if (c.token) tokens.set(c.token.id, c.token.unitId);
    for (const [tokenId, unitId] of tokens) {
      let valid = true;
      try {
        valid = await this.opts.tokenValid(tokenId, unitId);
      } catch (err) {
        // The store is unreachable: keep the stream, look again next time.
        this.log.warn({ err }, 'event stream token check failed');
      }
      if (!valid) this.revokeToken(tokenId);
    }
  }

  private drop(c: StreamClient, why: string): void {
    this.log.info({ unitId: c.unitId, why }, 'event stream closed');
    this.clients.delete(c);
    c.res.end();
  }

  private publish(event: TicketEvent): void {
    const data: Record<string, unknown> = { event: event.type, id: event.id, at: event.at, recipients: event.recipients, ticket: ticketView(event.ticket) };
    if (event.supervisionOrder) data.supervisionOrder = supervisionOrderView(event.supervisionOrder);
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
    clearInterval(this.tokenCheck);
    this.coalescer.close();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    await this.sub.close();
  }
}
