/**
 * Live ticket updates. `/api/stream` is a server-sent event stream scoped to the token; it is
 * read with fetch rather than EventSource, because EventSource cannot send the Authorization
 * header and a token in the URL would end up in access logs. A server without the stream gets
 * polled instead, so the inbox stays current either way.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { SupervisionOrder, Ticket, TicketEventType } from '../../core/schemas.js';

export type LiveState = 'connecting' | 'stream' | 'polling' | 'offline';

/** What a ticket event says beyond the ticket itself. */
export interface LiveEvent {
  type: TicketEventType | undefined;
  /** The supervision order issued or acted on (`ticket.overdue`, `supervision.updated`). */
  supervisionOrder?: SupervisionOrder;
}

export interface LiveHandlers {
  /** A ticket changed (opened, acted on, merged, overdue...): its state after the change. */
  ticket(t: Ticket, ev: LiveEvent): void;
  /** Changes may have been missed (connected, reconnected, an event without a ticket): reload. */
  resync(): void;
  state(s: LiveState): void;
  /** The server refused the token. */
  unauthorized(): void;
}

export interface LiveOptions {
  token: string;
  url?: string;
  /** Reload interval when the server has no stream. */
  pollMs?: number;
  /** First reconnection delay; doubles up to `maxRetryMs`, unless the server sets `retry:`. */
  retryMs?: number;
  maxRetryMs?: number;
}

export const DEFAULT_POLL_MS = 3_000;
export const DEFAULT_RETRY_MS = 1_000;
export const DEFAULT_MAX_RETRY_MS = 30_000;

export interface Live {
  close(): void;
}

export function startLive(opts: LiveOptions, handlers: LiveHandlers): Live {
  const url = opts.url ?? '/api/stream';
  const abort = new AbortController();
  let lastEventId: string | undefined;
  let serverRetry: number | undefined;
  let pollTimer: ReturnType<typeof setInterval> | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  async function run(): Promise<void> {
    let delay = opts.retryMs ?? DEFAULT_RETRY_MS;
    handlers.state('connecting');
    while (!abort.signal.aborted) {
      const outcome = await connect();
      if (outcome === 'stop' || abort.signal.aborted) return;
      if (outcome === 'no-stream') {
        handlers.state('polling');
        handlers.resync();
        pollTimer = setInterval(() => handlers.resync(), opts.pollMs ?? DEFAULT_POLL_MS);
        return;
      }
      if (outcome === 'streamed') delay = opts.retryMs ?? DEFAULT_RETRY_MS;
      handlers.state('offline');
      await sleep(serverRetry ?? delay);
      delay = Math.min(delay * 2, opts.maxRetryMs ?? DEFAULT_MAX_RETRY_MS);
    }
  }

  async function connect(): Promise<'stop' | 'no-stream' | 'streamed' | 'failed'> {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token}`, accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    let res: Response;
    try {
      res = await fetch(url, { headers, cache: 'no-store', signal: abort.signal });
    } catch {
      return abort.signal.aborted ? 'stop' : 'failed';
    }
    if (res.status === 401) {
      handlers.unauthorized();
      return 'stop';
    }
    if (res.status === 404) return 'no-stream';
    if (!res.ok || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
      void res.body?.cancel();
      return 'failed';
    }
    handlers.state('stream');
    // Whatever happened while we were not connected is not replayed by every server: catch up.
    handlers.resync();
    const parser = createParser({
      onEvent: (ev) => {
        if (ev.id !== undefined) lastEventId = ev.id;
        dispatch(ev, handlers);
      },
      onRetry: (ms) => {
        serverRetry = ms;
      },
    });
    try {
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch {
      if (abort.signal.aborted) return 'stop';
    }
    return 'streamed';
  }

  void run();
  return {
    close() {
      abort.abort();
      if (pollTimer !== undefined) clearInterval(pollTimer);
    },
  };
}

/**
 * One event to the handlers. An event carrying a ticket (a `sw.tickets` event, or the ticket
 * itself) updates it in place; any other event means "something changed", so reload.
 */
export function dispatch(ev: Pick<EventSourceMessage, 'event' | 'data'>, handlers: Pick<LiveHandlers, 'ticket' | 'resync'>): void {
  if (ev.event === 'ping' || ev.event === 'heartbeat' || ev.data === '') return;
  let body: unknown;
  try {
    body = JSON.parse(ev.data);
  } catch {
    handlers.resync();
    return;
  }
  const wrapped = body as { ticket?: unknown; supervisionOrder?: SupervisionOrder } | null;
  const ticket = isTicket(body) ? body : isTicket(wrapped?.ticket) ? (wrapped.ticket as Ticket) : undefined;
  if (!ticket) return handlers.resync();
  const event: LiveEvent = { type: ev.event as TicketEventType | undefined };
  if (!isTicket(body) && isOrder(wrapped?.supervisionOrder)) event.supervisionOrder = wrapped.supervisionOrder;
  handlers.ticket(ticket, event);
}

function isOrder(x: unknown): x is SupervisionOrder {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Partial<SupervisionOrder>;
  return typeof o.id === 'string' && typeof o.ticketId === 'string' && typeof o.issuedTo === 'string' && typeof o.status === 'string';
}

function isTicket(x: unknown): x is Ticket {
  if (typeof x !== 'object' || x === null) return false;
  const t = x as Partial<Ticket>;
  return typeof t.id === 'string' && typeof t.status === 'string' && typeof t.subcenterId === 'string' && Array.isArray(t.timeline);
}
