/**
 * The tickets this token holds (the admin: all), kept current: one load, then live updates
 * (see live.ts). Pages subscribe to it; it never holds a ticket older than one it has seen.
 * With `supervision`, it also keeps the supervision orders the token sees (the alarms need
 * those issued to the unit); a display token cannot read them.
 */
import type { SupervisionOrder, Ticket } from '../../core/schemas.js';
import { ApiError, type ApiClient } from './api.js';
import { startLive, type Live, type LiveState } from './live.js';

/** Most tickets loaded at once: the open ones and the latest closed ones. */
export const FEED_LIMIT = 500;
/** Most supervision orders kept (the server lists the newest first). */
export const FEED_ORDER_LIMIT = 500;

export interface FeedOptions {
  /** A unit's feed lists the tickets it holds, as `GET /api/tickets` does for its token. */
  unitId?: string | undefined;
  /** Also keep the supervision orders (not for display tokens, which may not read them). */
  supervision?: boolean;
}

export interface FeedNews {
  kind: 'new' | 'updated';
  ticket: Ticket;
  /** Increases with every piece of news, so the same ticket can be announced twice. */
  seq: number;
}

export class TicketFeed {
  private readonly byId = new Map<string, Ticket>();
  private readonly ordersById = new Map<string, SupervisionOrder>();
  private readonly unitId: string | undefined;
  private readonly supervision: boolean;
  private readonly listeners = new Set<() => void>();
  private live: Live | undefined;
  private loading: Promise<void> | undefined;
  private reloadAgain = false;
  private seq = 0;
  loaded = false;
  state: LiveState = 'connecting';
  error: ApiError | undefined;
  /** Tickets that arrived after the first load, highlighted until the operator opens them. */
  readonly fresh = new Set<string>();
  news: FeedNews | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly onUnauthorized: () => void,
    opts: FeedOptions = {},
  ) {
    this.unitId = opts.unitId;
    this.supervision = opts.supervision ?? false;
  }

  start(): void {
    this.live = startLive(
      { token: this.client.token },
      {
        ticket: (t, ev) => {
          if (ev.supervisionOrder) this.upsertOrder(ev.supervisionOrder, true);
          this.upsert(t);
        },
        resync: () => void this.reload(),
        state: (s) => {
          this.state = s;
          this.emit();
        },
        unauthorized: this.onUnauthorized,
      },
    );
  }

  stop(): void {
    this.live?.close();
    this.listeners.clear();
  }

  get(id: string): Ticket | undefined {
    return this.byId.get(id);
  }

  list(): Ticket[] {
    return [...this.byId.values()];
  }

  orders(): SupervisionOrder[] {
    return [...this.ordersById.values()];
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reloads the list; calls made while a load is running share one follow-up load. */
  reload(): Promise<void> {
    if (this.loading) {
      this.reloadAgain = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          const [tickets, orders] = await Promise.all([this.client.tickets({ limit: FEED_LIMIT }), this.supervision ? this.client.supervisionOrders() : undefined]);
          if (orders) {
            this.ordersById.clear();
            for (const o of orders.slice(0, FEED_ORDER_LIMIT)) this.ordersById.set(o.id, o);
          }
          const seen = new Set(tickets.map((t) => t.id));
          for (const t of tickets) this.upsert(t, false);
          // Gone from the list: closed long ago and pushed out by the limit, or reassigned away.
          for (const id of this.byId.keys()) if (!seen.has(id)) this.byId.delete(id);
          this.loaded = true;
          this.error = undefined;
        } while (this.reloadAgain);
      } catch (err) {
        this.error = err instanceof ApiError ? err : new ApiError(0, 'NETWORK', String(err));
      } finally {
        this.loading = undefined;
        this.emit();
      }
    })();
    return this.loading;
  }

  /** A ticket as the server now has it; ignored when an equal or newer version is held. */
  upsert(t: Ticket, emit = true): void {
    const held = this.byId.get(t.id);
    if (held && held.version >= t.version) return;
    if (this.unitId !== undefined && t.subcenterId !== this.unitId) {
      // Reassigned away, or an event about a ticket the unit supervises: not in its list.
      if (held && this.byId.delete(t.id) && emit) this.emit();
      return;
    }
    this.byId.set(t.id, t);
    if (this.loaded) {
      if (!held) this.fresh.add(t.id);
      this.news = { kind: held ? 'updated' : 'new', ticket: t, seq: ++this.seq };
    }
    if (emit) this.emit();
  }

  /** A supervision order as the server now has it (from an event, or after an action). */
  upsertOrder(o: SupervisionOrder, emit = false): void {
    const held = this.ordersById.get(o.id);
    if (held && held.updatedAt > o.updatedAt) return;
    this.ordersById.set(o.id, o);
    if (this.ordersById.size > FEED_ORDER_LIMIT) {
      // The oldest goes: Map keeps insertion order.
      this.ordersById.delete(this.ordersById.keys().next().value!);
    }
    if (emit) this.emit();
  }

  /** The operator has seen it. */
  markSeen(id: string): void {
    if (this.fresh.delete(id)) this.emit();
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }
}
