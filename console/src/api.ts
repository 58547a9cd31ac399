/**
 * The console's only door to the server: every call carries the operator's bearer token, and
 * every failure becomes an ApiError with the catalogued code and message the server sent.
 */
import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import type { ResolvedBasemap } from '../../core/basemap.js';
import type { DeviceHealth } from '../../core/device-health.js';
import type { ReadingSeries, ThresholdView } from '../../core/reading-charts.js';
import type { DeviceCreateBody, DeviceView, Grade, Location, SupervisionOrder, Ticket, TicketStatus } from '../../core/schemas.js';
import type { Kpis, SubcenterKpi } from '../../core/tickets/kpis.js';

export type { DeviceHealth } from '../../core/device-health.js';

/** A refusal a device received: code, message, topic, ref, and when its publish arrived. */
export interface DeviceErrorEntry {
  code: string;
  message: string;
  topic: string;
  ref: string;
  at: number;
}

/** A refused or failed call: `code` is the server's `SW_ERR_...`, or a client-side one. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** The route itself does not exist on this server (not the same as an unknown ticket). */
  get routeMissing(): boolean {
    return this.status === 404 && this.code === 'SW_ERR_NOT_FOUND' && this.message.startsWith('route ');
  }
}

/** The client-side codes, for failures that never reached the catalogue. */
export const NETWORK_ERROR = 'NETWORK';
export const BAD_RESPONSE = 'BAD_RESPONSE';

/**
 * Who the token belongs to: the admin, a unit (a street sub-center or the district center), or
 * a wall screen's display token, which reads the wall view of its `scope` (null: the whole city).
 */
export type Principal = { role: 'admin' } | { role: 'unit'; unitId: string } | { role: 'display'; unitId: string; scope: string | null };

export interface ConsoleConfig {
  city: { name: string; district: { id: string; name: string } };
  /** The city's names for departments and categories, by id. */
  departments: Record<string, string>;
  categories: Record<string, string>;
  sla: Record<Grade, { respondWithin: number; resolveWithin: number; remindBefore: number }>;
  /** The tile services the city draws its map on; null: the offline schematic alone. */
  map: ResolvedBasemap | null;
  principal: Principal;
}

export interface SubcenterProps {
  id: string;
  name: string;
  parent?: string;
}
export interface ZoneProps {
  id: string;
  name: string;
  kind: string;
  risk: 'high' | 'medium' | 'low';
  tags: string[];
}
export type Area<P> = FeatureCollection<Polygon | MultiPolygon, P>;

export interface DeviceReadings {
  deviceId: string;
  /** Where the device is (provisioned), WGS-84. */
  location: Location | null;
  from: number;
  to: number;
  truncated: boolean;
  series: ReadingSeries[];
  /** The threshold rules that apply where the device is, overrides resolved. */
  thresholds: ThresholdView[];
}

/** `GET /api/kpis`: the figures of docs/TICKETS.md section 4 over one period. */
export interface KpiReport extends Kpis {
  asOf: number;
  from: number;
  to: number;
  subcenter: string | null;
  grade: Grade | null;
  truncated: boolean;
  bySubcenter: SubcenterKpi[];
}

/** How one outgoing message (webhook) for a ticket stands. */
export interface DeliveryView {
  id: string;
  channel: string;
  to: string;
  event: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt?: number;
  nextAttemptAt?: number;
}

/** `GET /api/tickets/:id`: the ticket with its supervision orders and delivery state. */
export interface TicketDetail extends Ticket {
  supervisionOrders: SupervisionOrder[];
  delivery: DeliveryView[];
}

export type TokenKind = 'unit' | 'display';

export interface UnitToken {
  id: string;
  unit: string;
  kind: TokenKind;
  label: string;
  createdAt: number;
  revokedAt: number | null;
}

/** The operator's moves on a ticket, by the route segment that performs them. */
export type TicketAction = 'ack' | 'start' | 'feedback' | 'resolve' | 'close' | 'reassign';

export interface ActionBody {
  note?: string;
  /** Reassignment: the unit and/or department that takes the ticket over, and why. */
  subcenter?: string;
  department?: string;
  reason?: string;
}

export interface TicketQuery {
  subcenter?: string;
  status?: TicketStatus[];
  limit?: number;
}

export class ApiClient {
  constructor(
    readonly token: string,
    /** Called when the server no longer accepts the token (revoked, rotated). */
    private readonly onUnauthorized: () => void = () => undefined,
    private readonly base = '',
  ) {}

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: signal ?? null });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, NETWORK_ERROR, (err as Error).message);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(res.status, BAD_RESPONSE, `HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      if (res.status === 401) this.onUnauthorized();
      throw new ApiError(res.status, error?.code ?? BAD_RESPONSE, error?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
  }

  config(): Promise<ConsoleConfig> {
    return this.request('GET', '/api/console/config');
  }

  subcenters(): Promise<Area<SubcenterProps>> {
    return this.request('GET', '/api/subcenters');
  }

  zones(): Promise<Area<ZoneProps>> {
    return this.request('GET', '/api/zones');
  }

  async tickets(q: TicketQuery = {}): Promise<Ticket[]> {
    const params = new URLSearchParams();
    if (q.subcenter) params.set('subcenter', q.subcenter);
    if (q.status?.length) params.set('status', q.status.join(','));
    params.set('limit', String(q.limit ?? 500));
    return (await this.request<{ tickets: Ticket[] }>('GET', `/api/tickets?${params}`)).tickets;
  }

  ticket(id: string): Promise<TicketDetail> {
    return this.request('GET', `/api/tickets/${encodeURIComponent(id)}`);
  }

  act(id: string, action: TicketAction, body: ActionBody = {}): Promise<Ticket> {
    return this.request('POST', `/api/tickets/${encodeURIComponent(id)}/${action}`, body);
  }

  async devices(): Promise<DeviceView[]> {
    return (await this.request<{ devices: DeviceView[] }>('GET', '/api/devices')).devices;
  }

  provision(body: DeviceCreateBody): Promise<{ id: string; secret: string; device: DeviceView }> {
    return this.request('POST', '/api/devices', body);
  }

  readings(deviceId: string, q: { metric?: string; from: number; to: number }, signal?: AbortSignal): Promise<DeviceReadings> {
    const params = new URLSearchParams({ from: String(Math.floor(q.from)), to: String(Math.ceil(q.to)) });
    if (q.metric) params.set('metric', q.metric);
    return this.request('GET', `/api/devices/${encodeURIComponent(deviceId)}/readings?${params}`, undefined, signal);
  }

  /** A device's recent refusals (what it got on its errors topic), newest first. */
  async deviceErrors(deviceId: string, limit: number, signal?: AbortSignal): Promise<DeviceErrorEntry[]> {
    return (await this.request<{ errors: DeviceErrorEntry[] }>('GET', `/api/devices/${encodeURIComponent(deviceId)}/errors?limit=${limit}`, undefined, signal)).errors;
  }

  kpis(q: { grade?: Grade; from?: number; to?: number } = {}): Promise<KpiReport> {
    const params = new URLSearchParams();
    if (q.grade) params.set('grade', q.grade);
    if (q.from !== undefined) params.set('from', String(Math.floor(q.from)));
    if (q.to !== undefined) params.set('to', String(Math.ceil(q.to)));
    return this.request('GET', `/api/kpis?${params}`);
  }

  async tokens(): Promise<UnitToken[]> {
    return (await this.request<{ tokens: UnitToken[] }>('GET', '/api/tokens')).tokens;
  }

  issueToken(unit: string, kind: TokenKind = 'unit', label?: string): Promise<UnitToken & { token: string }> {
    return this.request('POST', '/api/tokens', label ? { unit, kind, label } : { unit, kind });
  }

  deviceHealth(): Promise<DeviceHealth> {
    return this.request('GET', '/api/console/device-health');
  }

  async supervisionOrders(): Promise<SupervisionOrder[]> {
    return (await this.request<{ supervisionOrders: SupervisionOrder[] }>('GET', '/api/supervision-orders?limit=500')).supervisionOrders;
  }

  /** The supervising center acknowledges a supervision order (督办单签收). */
  ackSupervision(id: string): Promise<SupervisionOrder> {
    return this.request('POST', `/api/supervision-orders/${encodeURIComponent(id)}/ack`, {});
  }

  revokeToken(id: string): Promise<void> {
    return this.request('DELETE', `/api/tokens/${encodeURIComponent(id)}`);
  }
}
