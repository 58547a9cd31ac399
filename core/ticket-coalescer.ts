/**
 * Live ticket feeds (server-sent events, the MQTT feed) coalesce bursts of one ticket's updates:
 * the first event of a ticket goes at once, `ticket.updated` events within the window after it
 * are held and only the latest goes when the window ends. Other event types (created,
 * reassigned, overdue...) always go at once, and supersede a held update. The webhook outbox
 * does the same durably (OutboxPolicy); this is its in-memory twin for feeds without replay.
 */
import { DEFAULT_WEBHOOK_COALESCE_MS } from './config.js';
import type { TicketEvent } from './schemas.js';

/** The live feeds' window: the webhooks' default, so every channel shows a burst the same way. */
export const LIVE_COALESCE_MS = DEFAULT_WEBHOOK_COALESCE_MS;

interface Window {
  until: number;
  held: TicketEvent | undefined;
  timer: NodeJS.Timeout;
}

export class TicketEventCoalescer {
  /** One entry per ticket that changed within the window: bounded by the change rate times the window. */
  private readonly windows = new Map<string, Window>();
  private closed = false;

  constructor(
    private readonly emit: (event: TicketEvent) => void,
    private readonly windowMs = LIVE_COALESCE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  push(event: TicketEvent): void {
    if (this.closed) return;
    const id = event.ticket.id;
    const w = this.windows.get(id);
    if (w && event.type === 'ticket.updated' && this.now() < w.until) {
      if (!w.held || w.held.ticket.version <= event.ticket.version) w.held = event;
      return;
    }
    if (w?.held && w.held.ticket.version > event.ticket.version) return;
    this.send(id, event);
  }

  /** Stops the timers; what is held is dropped (live feeds have no replay: a client reloads). */
  close(): void {
    this.closed = true;
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
  }

  get size(): number {
    return this.windows.size;
  }

  private send(id: string, event: TicketEvent): void {
    const prev = this.windows.get(id);
    if (prev) clearTimeout(prev.timer);
    this.emit(event);
    const timer = setTimeout(() => this.expire(id), this.windowMs);
    timer.unref();
    this.windows.set(id, { until: this.now() + this.windowMs, held: undefined, timer });
  }

  private expire(id: string): void {
    const w = this.windows.get(id);
    if (!w) return;
    if (w.held) this.send(id, w.held);
    else this.windows.delete(id);
  }
}
