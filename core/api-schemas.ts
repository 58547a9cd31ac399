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
export const Readiness = z.object({
  ready: z.boolean(),
  checks: z.record(z.string(), z.boolean()),
  /** What needs attention without making the process unready (free disk space running low). */
  warnings: z.array(z.string()).optional(),
});

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
  /** What the series are: each reading, or 5-minute or hourly roll-ups (periods past the raw retention). */
  resolution: z.enum(['raw', '5m', '1h']),
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

// The governance KPIs (core/tickets/governance-kpis.ts; definitions in docs/TICKETS.md, section 4)

const rate = z.number().nullable();

export const CheckInKpi = z.object({
  /** The department (`null`: every department together). */
  key: z.string().nullable(),
  /** Summonses in the population. */
  summoned: z.number().int(),
  /** Checked in at or before the check-in deadline. */
  onTime: z.number().int(),
  /** Checked in after it. */
  late: z.number().int(),
  /** Not checked in and the deadline passed (a release after the deadline does not undo the miss). */
  missed: z.number().int(),
  /** Released before checking in and before the deadline: not due. */
  released: z.number().int(),
  /** Not checked in, deadline ahead: not in the rate. */
  pending: z.number().int(),
  /** 报到及时率 = onTime / (onTime + late + missed); null when nothing is due. */
  rate,
  /** Mean time from the summons to the check-in, over check-ins (ms). */
  meanMs: z.number().nullable(),
});
export type CheckInKpi = z.infer<typeof CheckInKpi>;

export const ReturnKpi = z.object({
  /** `unit:<id>` or `department:<id>`. */
  key: z.string(),
  /** Tickets of the population the party held (a unit) or led (a department) at some time. */
  handled: z.number().int(),
  /** Of those, tickets it returned. */
  returned: z.number().int(),
  /** Its returns, by the district's ruling: upheld (re-dispatched elsewhere), rejected (sent back), pending. */
  returns: z.number().int(),
  upheld: z.number().int(),
  rejected: z.number().int(),
  pending: z.number().int(),
  /** Return rate = returned / handled. */
  rate,
  /** Upheld share = upheld / (upheld + rejected): how often the district agreed. */
  upheldRate: rate,
});
export type ReturnKpi = z.infer<typeof ReturnKpi>;

export const ExtensionKpi = z.object({
  tickets: z.number().int(),
  /** Tickets with at least one request, and the requests by outcome. */
  requestedTickets: z.number().int(),
  requests: z.number().int(),
  approved: z.number().int(),
  refused: z.number().int(),
  /** Closed by the system: the deadline passed, or the ticket was resolved, before a decision. */
  lapsed: z.number().int(),
  pending: z.number().int(),
  /** Tickets with at least one approved extension. */
  extended: z.number().int(),
  /** Extension rate = extended / tickets. */
  rate,
  /** Closed on time only thanks to an extension: after the deadline first set, within the one in force. */
  onTimeByExtension: z.number().int(),
  /** Requests per holder at the time of asking. */
  byUnit: z.array(z.object({ key: z.string(), requests: z.number().int(), approved: z.number().int() })),
});
export type ExtensionKpi = z.infer<typeof ExtensionKpi>;

export const RecurrenceKpi = z.object({
  withinDays: z.number().int(),
  tickets: z.number().int(),
  /** Tickets opened within `withinDays` after a ticket of the same place and category was closed. */
  recurring: z.number().int(),
  rate,
  /** Per zone (null: outside zones) and category, most recurrences first. */
  byPlace: z.array(z.object({ zoneId: z.string().nullable(), category: z.string(), tickets: z.number().int(), recurring: z.number().int() })),
});
export type RecurrenceKpi = z.infer<typeof RecurrenceKpi>;

export const SatisfactionKpi = z.object({
  /** Tickets a people's report opened. */
  reported: z.number().int(),
  /** Reporters' answers (also those whose report joined a sensor's ticket), each report answering a resolution once. */
  rated: z.number().int(),
  satisfied: z.number().int(),
  basicallySatisfied: z.number().int(),
  dissatisfied: z.number().int(),
  /** 满意率 = (satisfied + basicallySatisfied) / rated. */
  rate,
  /** Answers saying the problem was not fixed (a resolved ticket reopened). */
  notFixed: z.number().int(),
  /** Closings by the reporter, and by the district after the reporter's time ran out. */
  closedByReporter: z.number().int(),
  closedByDistrict: z.number().int(),
  /** Resolved and waiting for the reporter; waiting for the district (time ran out). */
  awaitingReporter: z.number().int(),
  awaitingDistrict: z.number().int(),
});
export type SatisfactionKpi = z.infer<typeof SatisfactionKpi>;

export const GovernanceKpis = z.object({
  checkIns: z.array(CheckInKpi),
  returns: z.array(ReturnKpi),
  extensions: ExtensionKpi,
  recurrence: RecurrenceKpi,
  satisfaction: SatisfactionKpi,
});
export type GovernanceKpis = z.infer<typeof GovernanceKpis>;

export const KpiReport = Kpis.extend({
  asOf: z.number().int(),
  from: z.number(),
  to: z.number(),
  subcenter: z.string().nullable(),
  /** The department whose tickets (led or co-handled) the figures cover. */
  department: z.string().nullable(),
  grade: Grade.nullable(),
  truncated: z.boolean(),
  bySubcenter: z.array(SubcenterKpi),
  /** Check-ins, returns, extensions, recurrence and satisfaction over the tickets the scope handled. */
  governance: GovernanceKpis,
});

// People's reports and the decisions waiting on a center

/** A people's report as its filer, the admin and those who see its ticket read it (never its confirmation token). */
export const ReportView = z.object({
  id: z.string(),
  channel: z.enum(['grid', 'open311']),
  category: z.string(),
  grade: Grade,
  location: Location,
  note: z.string(),
  address: z.string().nullable(),
  /** Where its photo is served, if it has one. */
  photo: z.string().nullable(),
  /** Open311 `media_url`, as given: never fetched. */
  mediaUrl: z.string().nullable(),
  createdAt: z.number().int(),
  /** The ticket's status, or `received` until alerting has taken the report into a ticket. */
  status: z.string(),
  ticket: z
    .object({
      id: z.string(),
      status: z.string(),
      grade: Grade,
      subcenterId: z.string(),
      department: z.string(),
      resolvedAt: z.number().int().nullable(),
      closedAt: z.number().int().nullable(),
      closure: z.string().nullable(),
      /** This report opened the ticket: its reporter confirms the closing. */
      confirms: z.boolean(),
      /** Resolved, and waiting for this report's reporter. */
      awaitingConfirmation: z.boolean(),
      /** This report's reporter may answer now: the opener a resolution; a joined report once per resolution, also after the closing. */
      awaitingAnswer: z.boolean(),
    })
    .nullable(),
});
export type ReportView = z.infer<typeof ReportView>;
export const ReportFiled = ReportView.extend({
  /** The reporter's confirmation token: shown once, in this answer. */
  confirmToken: z.string(),
  /** The console's confirmation page for the reporter, relative to the server's address. */
  confirmUrl: z.string(),
});
export const ReportList = z.object({ reports: z.array(ReportView) });
/** What the reporter's confirmation link shows: the report, its ticket's latest word, the reporter's answers. */
export const ReportStatus = ReportView.extend({
  categoryName: z.string(),
  statusNote: z.string().nullable(),
  answers: z.array(z.object({ at: z.number().int(), resolvedAt: z.number().int(), fixed: z.boolean(), satisfaction: z.string(), note: z.string().optional() })),
});
export const PhotoStored = z.object({ id: z.string(), contentType: z.string(), bytes: z.number().int(), expiresAt: z.number().int() });
/** An image, as stored: served with its checked type, never sniffed. */
export const ImageBody = z.string();

/** What waits on the caller's decision: returns to rule on, requests for more time, reported tickets to close. */
export const Decisions = z.object({
  returns: z.array(Ticket),
  extensions: z.array(Ticket),
  confirmations: z.array(Ticket),
  truncated: z.boolean(),
});

// Tokens

/** `unit`: a unit or display token's unit, a department token's department, the district for a reporter key. */
export const TokenView = z.object({ id: z.string(), unit: z.string(), kind: z.enum(['unit', 'display', 'department', 'reporter']), label: z.string(), createdAt: z.number().int(), revokedAt: z.number().int().nullable() });
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
    /** A unit, and its level: a grid's worker reports and handles D tickets, a community C, a sub-center B and A. */
    z.object({ role: z.literal('unit'), unitId: z.string(), level: z.enum(['district', 'subcenter', 'community', 'grid']) }),
    /** A wall screen: the unit whose wall, and the sub-center it is scoped to (null: the whole city). */
    z.object({ role: z.literal('display'), unitId: z.string(), scope: z.string().nullable() }),
    /** A functional department: the tickets it leads or co-handles. */
    z.object({ role: z.literal('department'), department: z.string() }),
  ]),
  /** Communities and grids below the sub-centers (who holds C and D tickets), for names and the report form. */
  localUnits: z.array(z.object({ id: z.string(), name: z.string(), level: z.enum(['community', 'grid']), subcenter: z.string(), community: z.string().nullable() })),
  /** Response plans (预案) by category: the lead, per grade the co-handlers and their check-in windows (ms), the checklist. */
  responsePlans: z.record(z.string(), z.unknown()),
  /** Returns, extensions and reports: the limits in force (sla.yaml `governance`). */
  governance: z.record(z.string(), z.unknown()),
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
/** `POST requests`: the new request's id (a report's: follow it with GET requests/{id}), and the reporter's confirmation page. */
export const Open311PostAnswer = z.array(
  z.object({
    service_request_id: z.string(),
    service_notice: z.string(),
    account_id: z.null(),
    /** Not in the spec: the console's page where the reporter confirms the resolution, relative to the server's address. */
    confirm_url: z.string(),
  }),
);

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

// Storage and retention

const TaskRunView = z.object({ task: z.string(), at: z.number(), handled: z.number(), durationMs: z.number(), error: z.string().optional() });
const ByResolution = <T extends z.ZodType>(t: T) => z.object({ raw: t, '5m': t, '1h': t });

/** `GET /api/storage`: what the stores hold and how much room is left (core/retention/storage.ts). */
export const StorageView = z.object({
  takenAt: z.number(),
  databases: z.array(z.object({ name: z.string(), bytes: z.number() })),
  series: z
    .object({
      rows: ByResolution(z.number().nullable()),
      oldest: ByResolution(z.number().nullable()),
      files: z.array(z.object({ name: z.string(), bytes: z.number() })),
    })
    .nullable(),
  disk: z.object({ path: z.string(), freeBytes: z.number(), totalBytes: z.number(), warnBelowBytes: z.number(), low: z.boolean() }).nullable(),
  tasks: z.array(TaskRunView),
  retention: z.object({ rawMs: z.number(), fiveMinuteMs: z.number(), hourMs: z.number(), outboxMs: z.number(), silentMs: z.number() }),
});
export type StorageView = z.infer<typeof StorageView>;
