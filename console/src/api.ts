/**
 * The console's only door to the server: every call carries the operator's bearer token, and
 * every failure becomes an ApiError with the catalogued code and message the server sent.
 */
import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import type { StorageView } from '../../core/api-schemas.js';
import type { ResolvedBasemap } from '../../core/basemap.js';
import type { DeviceHealth } from '../../core/device-health.js';
import type { ReadingSeries, ThresholdView } from '../../core/reading-charts.js';
import type { DeviceCreateBody, DeviceView, Grade, Location, SupervisionOrder, Ticket, TicketStatus } from '../../core/schemas.js';
import type { Kpis, SubcenterKpi } from '../../core/tickets/kpis.js';
import type { GovernanceKpis } from '../../core/tickets/governance-kpis.js';
import type { ReportView } from '../../core/api-schemas.js';

export type { ReportView } from '../../core/api-schemas.js';

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

/** The four levels of units: who holds which grade (GOVERNANCE.md). */
export type UnitLevel = 'district' | 'subcenter' | 'community' | 'grid';

/**
 * Who the token belongs to: the admin, a unit (a street sub-center, a community, a grid or the
 * district center), a wall screen's display token, which reads the wall view of its `scope`
 * (null: the whole city), or a functional department (the tickets it leads or co-handles).
 */
export type Principal =
  | { role: 'admin' }
  | { role: 'unit'; unitId: string; level: UnitLevel }
  | { role: 'display'; unitId: string; scope: string | null }
  | { role: 'department'; department: string };

/** A community or grid below a sub-center. */
export interface LocalUnit {
  id: string;
  name: string;
  level: 'community' | 'grid';
  subcenter: string;
  community: string | null;
}

/** A category's response plan (预案), as the console shows it. */
export interface PlanView {
  lead: string;
  grades: Partial<Record<'A' | 'B', { lead?: string; coHandlers: { department: string; checkInWithin: number }[] }>>;
  checklist: { id: string; text: string }[];
}

export interface ConsoleConfig {
  city: { name: string; district: { id: string; name: string } };
  /** The city's names for departments and categories, by id. */
  departments: Record<string, string>;
  categories: Record<string, string>;
  sla: Record<Grade, { respondWithin: number; resolveWithin: number; remindBefore: number }>;
  /** The tile services the city draws its map on; null: the offline schematic alone. */
  map: ResolvedBasemap | null;
  principal: Principal;
  /** Communities and grids below the sub-centers. */
  localUnits: LocalUnit[];
  responsePlans: Record<string, PlanView>;
  governance: { returns: { maxPerTicket: number }; extensions: { maxPerTicket: number; maxDelay: number }; reports: { grade: Grade; confirmWithin: number } };
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
  /** Each reading, or 5-minute or hourly roll-ups where the period is past the raw retention. */
  resolution: 'raw' | '5m' | '1h';
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
  department: string | null;
  governance: GovernanceKpis;
}

/** `GET /api/decisions`: what waits on this center. */
export interface Decisions {
  returns: Ticket[];
  extensions: Ticket[];
  confirmations: Ticket[];
  truncated: boolean;
}

/** A report just filed: its view, and the reporter's confirmation token and page (shown once). */
export interface FiledReport extends ReportView {
  confirmToken: string;
  confirmUrl: string;
}

/** What the reporter's confirmation link shows. */
export interface ReportStatus extends ReportView {
  categoryName: string;
  statusNote: string | null;
  answers: { at: number; resolvedAt: number; fixed: boolean; satisfaction: string; note?: string }[];
}

export type Satisfaction = 'satisfied' | 'basically_satisfied' | 'dissatisfied';

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

export type TokenKind = 'unit' | 'display' | 'department' | 'reporter';

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
  department?: string;
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
    if (q.department) params.set('department', q.department);
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

  /** What the stores hold, free disk space and the retention job's last runs (admin). */
  storage(signal?: AbortSignal): Promise<StorageView> {
    return this.request('GET', '/api/storage', undefined, signal);
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

  /** `owner`: a unit (unit and display tokens), a department (department tokens); a reporter key names none. */
  issueToken(owner: string, kind: TokenKind = 'unit', label?: string): Promise<UnitToken & { token: string }> {
    const body: Record<string, string> = { kind };
    if (kind === 'department') body.department = owner;
    else if (kind !== 'reporter') body.unit = owner;
    if (label) body.label = label;
    return this.request('POST', '/api/tokens', body);
  }

  // Joint handling, returns, extensions (docs/TICKETS.md, sections 10 to 12)

  summon(id: string, department: string, reason: string, checkInWithin?: string): Promise<Ticket> {
    return this.request('POST', `/api/tickets/${encodeURIComponent(id)}/co-handlers`, checkInWithin ? { department, reason, checkInWithin } : { department, reason });
  }

  /** A co-handling department's move: check in, feedback, finish; the holder's: release. */
  coHandler(id: string, department: string, move: 'check-in' | 'feedback' | 'finish' | 'release', text?: string): Promise<Ticket> {
    const body = move === 'release' ? { reason: text ?? '' } : text ? { note: text } : {};
    return this.request('POST', `/api/tickets/${encodeURIComponent(id)}/co-handlers/${encodeURIComponent(department)}/${move}`, body);
  }

  tickStep(id: string, step: string): Promise<Ticket> {
    return this.request('POST', `/api/tickets/${encodeURIComponent(id)}/checklist/${encodeURIComponent(step)}`, {});
  }

  returnTicket(id: string, reason: string): Promise<Ticket> {
    return this.request('POST', `/api/tickets/${encodeURIComponent(id)}/return`, { reason });
  }

  ruleOnReturn(id: string, body: { decision: 'reassigned' | 'sent_back'; subcenter?: string; department?: string; note: string }): Promise<Ticket> {
    return this.request('POST', `/api/tickets/${encodeURIComponent(id)}/return/ruling`, body);
  }

  requestExtension(id: string, resolveBy: number, reason: string): Promise<Ticket> {
    return this.request('POST', `/api/tickets/${encodeURIComponent(id)}/extension`, { resolveBy, reason });
  }

  decideExtension(id: string, body: { approved: boolean; resolveBy?: number; note?: string }): Promise<Ticket> {
    return this.request('POST', `/api/tickets/${encodeURIComponent(id)}/extension/decision`, body);
  }

  decisions(): Promise<Decisions> {
    return this.request('GET', '/api/decisions');
  }

  // People's reports (section 13)

  /** Uploads a photo as the image itself (the server checks its bytes). */
  async uploadPhoto(file: Blob): Promise<{ id: string }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/reports/photos`, { method: 'POST', headers: { authorization: `Bearer ${this.token}`, 'content-type': file.type, accept: 'application/json' }, body: file });
    } catch (err) {
      throw new ApiError(0, NETWORK_ERROR, (err as Error).message);
    }
    const json = (await res.json().catch(() => undefined)) as { id?: string; error?: { code?: string; message?: string } } | undefined;
    if (!res.ok) throw new ApiError(res.status, json?.error?.code ?? BAD_RESPONSE, json?.error?.message ?? `HTTP ${res.status}`);
    return { id: json!.id! };
  }

  fileReport(body: { category: string; note: string; location: Location; photo?: string; grade?: Grade; address?: string }): Promise<FiledReport> {
    return this.request('POST', '/api/reports', body);
  }

  async reports(limit = 100): Promise<ReportView[]> {
    return (await this.request<{ reports: ReportView[] }>('GET', `/api/reports?limit=${limit}`)).reports;
  }

  report(id: string): Promise<ReportView> {
    return this.request('GET', `/api/reports/${encodeURIComponent(id)}`);
  }

  /** A report's photo as an object URL (it needs the bearer token, so no plain <img src>); the caller revokes it. */
  async photoUrl(id: string): Promise<string> {
    const res = await fetch(`${this.base}/api/reports/${encodeURIComponent(id)}/photo`, { headers: { authorization: `Bearer ${this.token}` } });
    if (!res.ok) throw new ApiError(res.status, 'SW_ERR_NOT_FOUND', `photo of report ${id}`);
    return URL.createObjectURL(await res.blob());
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

/**
 * The reporter's side, with no account: the confirmation link's token reads the report's status
 * and answers the resolution (上报人确认结案).
 */
export class ReporterLink {
  constructor(
    readonly reportId: string,
    private readonly token: string,
    private readonly base = '',
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null });
    } catch (err) {
      throw new ApiError(0, NETWORK_ERROR, (err as Error).message);
    }
    const json = (await res.json().catch(() => undefined)) as (T & { error?: { code?: string; message?: string } }) | undefined;
    if (!res.ok) throw new ApiError(res.status, json?.error?.code ?? BAD_RESPONSE, json?.error?.message ?? `HTTP ${res.status}`);
    return json as T;
  }

  status(): Promise<ReportStatus> {
    return this.call('GET', `/api/reports/${encodeURIComponent(this.reportId)}/status?token=${encodeURIComponent(this.token)}`);
  }

  confirm(answer: { fixed: boolean; satisfaction: Satisfaction; note?: string }): Promise<ReportView> {
    return this.call('POST', `/api/reports/${encodeURIComponent(this.reportId)}/confirm`, { token: this.token, ...answer });
  }
}
