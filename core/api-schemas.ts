/**
 * What the HTTP API answers: the response bodies, as zod schemas. The route table
 * (api/routes/index.ts) names them per route, and the OpenAPI document is generated from them,
 * so a client generator or a test tool reads the same contract the server keeps.
 */
import { z } from 'zod';
import { errorCodes } from './errors.js';
import { ReadingSeries, ThresholdView } from './reading-charts.js';
import { ResolvedBasemap } from './basemap.js';
import { DeviceView, Grade, Location, SupervisionOrder, Ticket } from './schemas.js';

/** Every refusal: `{ "error": { "code", "message", "details"? } }` (core/errors.ts). */
export const ApiError = z.object({
  error: z.object({
    code: z.enum(errorCodes as [string, ...string[]]),
    message: z.string(),
    /** Structured detail safe to show: validation issues, `retryAfterSeconds`. */
    details: z.unknown().optional(),
  }),
});

/** The OpenAPI 3.1 document itself (its own meta-schema describes it further). */
export const OpenApiDocument = z.record(z.string(), z.unknown());

export const Health = z.object({ status: z.literal('ok') });
export const Readiness = z.object({ ready: z.boolean(), checks: z.record(z.string(), z.boolean()) });

// Devices

export const DeviceCreated = z.object({ id: z.string(), secret: z.string(), device: DeviceView });
export const DeviceSecret = z.object({ id: z.string(), secret: z.string() });
export const DeviceList = z.object({ devices: z.array(DeviceView) });

/** One line of a bulk import's answer; `secret` is present, once, for created and rotated devices. */
export const DeviceImportResult = z.discriminatedUnion('outcome', [
  z.object({ id: z.string(), outcome: z.enum(['created', 'rotated']), secret: z.string() }),
  z.object({ id: z.string(), outcome: z.literal('skipped') }),
  z.object({ id: z.string(), outcome: z.literal('failed'), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type DeviceImportResult = z.infer<typeof DeviceImportResult>;

export const DeviceImportAnswer = z.object({
  created: z.number().int(),
  rotated: z.number().int(),
  skipped: z.number().int(),
  failed: z.number().int(),
  results: z.array(DeviceImportResult),
});

export const DeviceReadings = z.object({
  deviceId: z.string(),
  /** Where the device is (provisioned), for the ticket page's map. */
  location: Location.nullable(),
  from: z.number(),
  to: z.number(),
  truncated: z.boolean(),
  series: z.array(ReadingSeries),
  thresholds: z.array(ThresholdView),
});

/** A refusal as the device received it on its errors topic, with when its publish arrived. */
export const DeviceErrorEntry = z.object({
  code: z.string(),
  message: z.string(),
  topic: z.string(),
  ref: z.string(),
  at: z.number().int(),
});

export const DeviceErrors = z.object({
  deviceId: z.string(),
  /** How many refusals are kept per device: older ones are gone. */
  kept: z.number().int(),
  /** Newest first. */
  errors: z.array(DeviceErrorEntry),
});

// Tickets

/** The delivery state of one outgoing message, as the ticket view shows it. */
export const DeliveryView = z.object({
  id: z.string(),
  channel: z.literal('webhook'),
  to: z.string(),
  event: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.number().int(),
  deliveredAt: z.number().int().optional(),
  nextAttemptAt: z.number().int().optional(),
});

export const TicketList = z.object({ tickets: z.array(Ticket) });
export const TicketDetail = Ticket.extend({
  supervisionOrders: z.array(SupervisionOrder),
  delivery: z.array(DeliveryView),
});
export const SupervisionOrderList = z.object({ supervisionOrders: z.array(SupervisionOrder) });

// KPIs (definitions in docs/TICKETS.md; computed by alerting/kpis.ts)

export const ResponseKpi = z.object({
  /** Tickets whose response is decided: responded, or past respondBy without a response. */
  due: z.number().int(),
  /** Responded at or before respondBy. */
  onTime: z.number().int(),
  /** Responded after respondBy. */
  late: z.number().int(),
  /** Not responded and past respondBy. */
  missed: z.number().int(),
  /** Not responded and respondBy still ahead: not counted in the rate. */
  pending: z.number().int(),
  /** 呼应及时率 = onTime / due; null when nothing is due. */
  rate: z.number().nullable(),
  /** Mean time from dispatch to the holder's response, over responded tickets (ms). */
  meanMs: z.number().nullable(),
});
export type ResponseKpi = z.infer<typeof ResponseKpi>;

export const HandlingKpi = z.object({
  closed: z.number().int(),
  /** Closed at or before resolveBy. */
  closedOnTime: z.number().int(),
  /** Not closed and past resolveBy. */
  openOverdue: z.number().int(),
  /** 处置及时率 = closedOnTime / (closed + openOverdue); null when both are zero. */
  rate: z.number().nullable(),
  /** Mean time from creation to the confirmed closing, over closed tickets (ms). */
  meanMsToClose: z.number().nullable(),
});
export type HandlingKpi = z.infer<typeof HandlingKpi>;

export const WhistleCount = z.object({
  /** The grade, category, zone or department; null for tickets outside any zone. */
  key: z.string().nullable(),
  /** Tickets (whistles blown). */
  tickets: z.number().int(),
  /** Alerts merged into them. */
  alerts: z.number().int(),
});
export type WhistleCount = z.infer<typeof WhistleCount>;

export const Kpis = z.object({
  tickets: z.number().int(),
  /** Tickets flagged red (a deadline was missed at some point). */
  red: z.number().int(),
  response: ResponseKpi,
  handling: HandlingKpi,
  byGrade: z.array(WhistleCount),
  byCategory: z.array(WhistleCount),
  byZone: z.array(WhistleCount),
  byDepartment: z.array(WhistleCount),
});
export type Kpis = z.infer<typeof Kpis>;

export const SubcenterKpi = z.object({ key: z.string(), tickets: z.number().int(), response: ResponseKpi, handling: HandlingKpi });
export type SubcenterKpi = z.infer<typeof SubcenterKpi>;

export const KpiReport = Kpis.extend({
  asOf: z.number().int(),
  from: z.number(),
  to: z.number(),
  subcenter: z.string().nullable(),
  grade: Grade.nullable(),
  truncated: z.boolean(),
  bySubcenter: z.array(SubcenterKpi),
});

// Tokens

export const TokenView = z.object({ id: z.string(), unit: z.string(), kind: z.enum(['unit', 'display']), label: z.string(), createdAt: z.number().int(), revokedAt: z.number().int().nullable() });
export const TokenIssued = TokenView.extend({ token: z.string() });
export const TokenList = z.object({ tokens: z.array(TokenView) });

export const IngestTokenView = z.object({ id: z.string(), device: z.string(), label: z.string(), createdAt: z.number().int(), revokedAt: z.number().int().nullable() });
export const IngestTokenIssued = IngestTokenView.extend({ token: z.string() });
export const IngestTokenList = z.object({ tokens: z.array(IngestTokenView) });

// HTTP ingest (api/ingest-batches.ts)

/** One record (telemetry) or pack (SenML) of an ingest batch, and what became of it. */
export const IngestRecordResult = z.object({
  index: z.number().int(),
  /** The device it was for; null when it named none. */
  deviceId: z.string().nullable(),
  /** Readings stored from it. */
  stored: z.number().int(),
  /** Its refusals, with the codes a device gets over MQTT; `record` is the SenML record within a pack. */
  errors: z.array(z.object({ record: z.number().int().optional(), code: z.string(), message: z.string() })),
});

export const IngestBatchAnswer = z.object({
  batchId: z.string(),
  /** Records (telemetry) or packs (SenML) in the batch. */
  records: z.number().int(),
  /** Readings stored. */
  stored: z.number().int(),
  /** Records or packs with at least one refusal. */
  refused: z.number().int(),
  /** One per record or pack, in order; null when a replayed answer was too big to keep. */
  results: z.array(IngestRecordResult).nullable(),
  /** True when this is the answer given to an earlier request with the same batch. */
  replayed: z.boolean().optional(),
});

/** A batch accepted but not yet processed: the same request, sent again, gets its answer. */
export const IngestBatchPending = z.object({ batchId: z.string(), status: z.literal('pending'), message: z.string() });

// Parked bus records (the admin's view; core/bus/failure-policy.ts)

/** A bus record a consumer group set aside with its cause; a raw publish's payload bytes as base64. */
export const ParkedView = z.object({
  id: z.string(),
  topic: z.string(),
  group: z.string(),
  key: z.string(),
  value: z.unknown(),
  cause: z.object({ code: z.string(), message: z.string() }),
  attempts: z.number().int(),
  parkedAt: z.number().int(),
  replayedAt: z.number().int().nullable(),
});
export const ParkedList = z.object({ parked: z.array(ParkedView) });

// The city and the console

/** GeoJSON (RFC 7946) as the city files hold it; geometry is a Polygon or MultiPolygon. */
export const FeatureCollection = z.object({
  type: z.literal('FeatureCollection'),
  features: z.array(
    z.object({
      type: z.literal('Feature'),
      geometry: z.object({ type: z.enum(['Polygon', 'MultiPolygon']), coordinates: z.array(z.unknown()) }),
      properties: z.record(z.string(), z.unknown()),
    }),
  ),
});

export const ConsoleConfig = z.object({
  city: z.object({ name: z.string(), district: z.object({ id: z.string(), name: z.string() }) }),
  departments: z.record(z.string(), z.string()),
  categories: z.record(z.string(), z.string()),
  sla: z.record(z.string(), z.unknown()),
  /** The base maps in force, resolved to XYZ templates (core/basemap.ts); null: the offline schematic. */
  map: ResolvedBasemap.nullable(),
  principal: z.union([
    z.object({ role: z.literal('admin') }),
    z.object({ role: z.literal('unit'), unitId: z.string() }),
    /** A wall screen: the unit whose wall, and the sub-center it is scoped to (null: the whole city). */
    z.object({ role: z.literal('display'), unitId: z.string(), scope: z.string().nullable() }),
  ]),
});

/** Text bodies: a page, a script, a metrics exposition, an event stream. */
export const TextBody = z.string();

// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the spec's fields, in JSON; the XML
// form has the same fields under the spec's root and item elements.

export const Open311Service = z.object({
  service_code: z.string(),
  service_name: z.string(),
  description: z.string(),
  metadata: z.boolean(),
  type: z.enum(['realtime', 'batch', 'blackbox']),
  keywords: z.string(),
  group: z.string(),
});
export type Open311Service = z.infer<typeof Open311Service>;
export const Open311Services = z.array(Open311Service);

export const Open311Request = z.object({
  service_request_id: z.string(),
  status: z.enum(['open', 'closed']),
  status_notes: z.string().nullable(),
  service_name: z.string(),
  service_code: z.string(),
  description: z.string(),
  agency_responsible: z.string(),
  requested_datetime: z.string(),
  updated_datetime: z.string(),
  expected_datetime: z.string(),
  address: z.string().nullable(),
  lat: z.number().nullable(),
  long: z.number().nullable(),
});
export type Open311Request = z.infer<typeof Open311Request>;
export const Open311Requests = z.array(Open311Request);

/** GeoReport v2 service discovery: where the endpoint is and how to get a key. */
export const Open311Discovery = z.object({
  changeset: z.string(),
  contact: z.string(),
  key_service: z.string(),
  endpoints: z.array(
    z.object({
      specification: z.string(),
      url: z.string(),
      changeset: z.string(),
      type: z.enum(['production', 'test']),
      formats: z.array(z.string()),
    }),
  ),
});
export type Open311Discovery = z.infer<typeof Open311Discovery>;
