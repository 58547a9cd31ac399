/**
 * The contract. zod schemas here define every device payload, bus message and API body;
 * TypeScript types (and, later, JSON Schema and OpenAPI) are derived from them.
 * Untrusted input: `.strict()` objects, finite numbers, `.max()` on every string and array.
 */
import { z } from 'zod';
import { SENML_NAME_RE } from './adapter-schemas.js';
import type { Category, City, Department, Subcenter, Zone } from './city.js';
import { Duration } from './duration.js';

export const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const METRIC_RE = /^[a-z][a-z0-9_]{0,63}$/;
/** Sub-center, zone and rule ids: like device ids, safe in topics and URLs. */
export const ENTITY_ID_RE = DEVICE_ID_RE;

/** Readings older than this are refused as implausible (device clock never set). */
export const MIN_READING_TS = Date.UTC(2000, 0, 1);
/** Most readings a single telemetry publish may carry (array form). */
export const MAX_TELEMETRY_BATCH = 1000;
/** Most metrics in one telemetry object. */
export const MAX_METRICS_PER_READING = 256;

export const DeviceId = z.string().regex(DEVICE_ID_RE, 'must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$');
export const EntityId = z.string().regex(ENTITY_ID_RE, 'must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$');
export const MetricName = z.string().regex(METRIC_RE, 'must match ^[a-z][a-z0-9_]{0,63}$');

export const Location = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
});
export type Location = z.infer<typeof Location>;

/** Epoch milliseconds, or an RFC 3339 date-time with an explicit offset. */
export const Timestamp = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).max(40).transform((s) => Date.parse(s)),
]);

// ---------------------------------------------------------------------------------------
// Device → platform payloads

export const TelemetryObject = z.strictObject({
  ts: Timestamp.optional(),
  values: z
    .record(MetricName, z.union([z.number(), z.boolean()]))
    .refine((v) => Object.keys(v).length > 0, 'must hold at least one metric')
    .refine((v) => Object.keys(v).length <= MAX_METRICS_PER_READING, `must hold at most ${MAX_METRICS_PER_READING} metrics`),
  loc: Location.optional(),
});
export type TelemetryObject = z.infer<typeof TelemetryObject>;

export const TelemetryPayload = z.union([
  TelemetryObject,
  z.array(TelemetryObject).min(1).max(MAX_TELEMETRY_BATCH),
]);

export const CameraEventPayload = z.strictObject({
  ts: Timestamp.optional(),
  id: z.string().min(1).max(128).optional(),
  type: z.string().regex(METRIC_RE, 'must match ^[a-z][a-z0-9_]{0,63}$'),
  score: z.number().min(0).max(1).optional(),
  count: z.number().int().min(0).max(1_000_000).optional(),
  loc: Location.optional(),
  snapshot: z.string().max(2048).optional(),
});
export type CameraEventPayload = z.infer<typeof CameraEventPayload>;

export const DeviceStatusPayload = z.enum(['online', 'offline']);

/** Platform → device on `v1/devices/{id}/errors`: one rejected publish (or part of one). */
/** The longest message and topic an error message carries; longer ones are cut. */
export const DEVICE_ERROR_TEXT_MAX = 1024;

export const DeviceErrorMessage = z.strictObject({
  /** A stable code from the error catalogue, e.g. `SW_ERR_PAYLOAD_SCHEMA`. */
  code: z.string().regex(/^SW_ERR_[A-Z_]+$/).max(64),
  message: z.string().max(DEVICE_ERROR_TEXT_MAX),
  /** The topic the rejected publish was sent to (cut to its first 1024 characters). */
  topic: z.string().max(DEVICE_ERROR_TEXT_MAX),
  /** The id the platform gave the publish; several rejections of one publish share it. */
  ref: z.string().max(64),
});
export type DeviceErrorMessage = z.infer<typeof DeviceErrorMessage>;

// ---------------------------------------------------------------------------------------
// Bus messages

/** `sw.raw`: an accepted MQTT publish, exactly as the device sent it. */
export interface RawPublish {
  /** Unique id; devices see it as `ref` in error messages. */
  id: string;
  clientId: string;
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  receivedAt: number;
  /**
   * HTTP ingest: the key-value key under which ingest writes what became of the publish (an
   * IngestReport, core/ingest-report.ts), for the API to answer record by record.
   */
  reportTo?: string;
}

/** `sw.readings`: one normalized measurement. */
export const Reading = z.object({
  deviceId: DeviceId,
  metric: MetricName,
  value: z.number(),
  unit: z.string().max(16).optional(),
  /** Event time: when the device measured it (epoch ms). */
  ts: z.number().int(),
  /** Arrival time at the broker (epoch ms). */
  receivedAt: z.number().int(),
  loc: Location.optional(),
  /** Risk zones containing `loc`, sorted by id. */
  zoneIds: z.array(EntityId).max(64),
  /** Sub-center whose jurisdiction contains `loc`. */
  subcenterId: EntityId.optional(),
  /** The raw publish it came from. */
  ref: z.string().max(64),
});
export type Reading = z.infer<typeof Reading>;

/** `sw.events`: a normalized camera or analytics event. */
export const CameraEvent = z.object({
  /** Unique per message. */
  id: z.string().max(128),
  deviceId: DeviceId,
  /** What was seen: `crowd`, `fire`, `smoke`, `person`, `car`, `illegal_parking`... */
  type: z.string().max(64),
  score: z.number().optional(),
  count: z.number().optional(),
  /**
   * For tracked objects (Frigate): `new` when first seen, `update` while tracked, `end` when
   * gone. Events without a phase are instantaneous analytics results.
   */
  phase: z.enum(['new', 'update', 'end']).optional(),
  /** The tracked object's id, the same across its phases. */
  trackId: z.string().max(128).optional(),
  /** The camera's name when one device reports for several (a Frigate NVR). */
  camera: z.string().max(64).optional(),
  /** Zones as the camera names them (Frigate `entered_zones`), not the city's risk zones. */
  cameraZones: z.array(z.string().max(64)).max(32).optional(),
  /** The object has not moved for a while (parked car, furniture): not a new detection. */
  stationary: z.boolean().optional(),
  /** The analytics flagged the detection as a false positive. */
  falsePositive: z.boolean().optional(),
  ts: z.number().int(),
  receivedAt: z.number().int(),
  loc: Location.optional(),
  zoneIds: z.array(EntityId).max(64),
  subcenterId: EntityId.optional(),
  snapshot: z.string().max(2048).optional(),
  ref: z.string().max(64),
});
export type CameraEvent = z.infer<typeof CameraEvent>;

export const Grade = z.enum(['A', 'B', 'C', 'D']);
export type Grade = z.infer<typeof Grade>;

/** `sw.alerts`: a rule started or stopped firing for a device. */
/**
 * Who filed a report or acted in joint handling, a return or an extension: `unit:<id>`,
 * `department:<id>`, `reporter:<report id>`, `admin`, `system` (ids are at most 64 characters).
 */
const GovernanceActor = z.string().max(80);

export const Alert = z.object({
  /** Unique per transition, so a redelivered alert is recognised. */
  id: z.string().max(128),
  /** Stable for a rule and its subject (device): the bus key. */
  fingerprint: z.string().max(256),
  status: z.enum(['firing', 'resolved']),
  ruleId: EntityId,
  deviceId: DeviceId,
  metric: z.string().max(64),
  value: z.number(),
  /** The threshold that was crossed, for display. */
  threshold: z.number().optional(),
  grade: Grade,
  category: z.string().max(64),
  department: z.string().max(64),
  zoneId: EntityId.optional(),
  subcenterId: EntityId.optional(),
  loc: Location.optional(),
  /** Event time of the reading that caused the transition. */
  ts: z.number().int(),
  /** When the rule started firing (event time). */
  startsAt: z.number().int(),
  summary: z.string().max(512),
  /**
   * A people's report (统一归集) rather than a sensor's or a camera's alert: the report's id,
   * the channel it came in by and who made it (the timeline's actor). Absent for sensors.
   */
  report: z
    .object({
      id: z.string().max(64),
      channel: z.enum(['grid', 'open311']),
      by: GovernanceActor,
    })
    .optional(),
});
export type Alert = z.infer<typeof Alert>;

/** `sw.deadletter`: rejected input with its coded reason. */
export const DeadLetter = z.object({
  ref: z.string().max(64),
  deviceId: z.string().max(128),
  clientId: z.string().max(128),
  topic: z.string().max(DEVICE_ERROR_TEXT_MAX),
  code: z.string().max(64),
  message: z.string(),
  receivedAt: z.number().int(),
  /** The raw payload, base64, capped at DEAD_LETTER_PAYLOAD_CAP bytes. */
  payload: z.string(),
  truncated: z.boolean(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
export const DEAD_LETTER_PAYLOAD_CAP = 4096;

// ---------------------------------------------------------------------------------------
// Tickets

export const TICKET_STATUSES = ['dispatched', 'acknowledged', 'in_progress', 'resolved', 'closed', 'reopened'] as const;
export const TicketStatus = z.enum(TICKET_STATUSES);
export type TicketStatus = z.infer<typeof TicketStatus>;

/** One alert fingerprint of a ticket: the latest firing's fields as the alert carried them. */
export const TicketAlert = Alert.pick({ id: true, fingerprint: true, deviceId: true, ruleId: true, metric: true, value: true, status: true }).extend({
  firstSeen: z.number().int(),
  lastSeen: z.number().int(),
  /** Server time the latest resolution was recorded: the closing hold counts from it. */
  resolvedAt: z.number().int().optional(),
  /**
   * When the latest applied firing episode started (the alert's `startsAt`): with `status`, the
   * high-water mark of this fingerprint, so a replayed older transition is recognised.
   */
  startsAt: z.number().int().optional(),
  /** Times this fingerprint fired on the ticket, repeats included. */
  firings: z.number().int().optional(),
  /** Event times of its latest state changes (at most the flapping policy's `high`), oldest first. */
  changes: z.array(z.number()).optional(),
  /** Changing state too often (docs/TICKETS.md, flapping): its changes are counted, not announced. */
  flapping: z.boolean().optional(),
  /** A people's report: it never clears by itself, so the sensor's closing hold leaves it out. */
  report: z.boolean().optional(),
});
export type TicketAlert = z.infer<typeof TicketAlert>;

export const TimelineEntry = z.object({
  at: z.number().int(),
  actor: z.string().max(256),
  action: z.string().max(64),
  note: z.string().max(4096).optional(),
  /** A rolled-up entry: how many times it happened, the first time `since`, the latest `at`. */
  count: z.number().int().optional(),
  since: z.number().int().optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/** A deadline the ticket was reminded of, or missed. */
export const DeadlineMark = z.object({
  kind: z.enum(['response', 'resolution']),
  /** The deadline as it stood: reassignment and regrading move deadlines. */
  deadline: z.number().int(),
  /** When the reminder went out or the miss was recorded. */
  at: z.number().int(),
  /** The unit holding the ticket at that moment. */
  subcenterId: z.string().max(64),
});
export type DeadlineMark = z.infer<typeof DeadlineMark>;

/** Who confirmed the closing: the sensor (normal for the hold period) or an operator. */
export const TicketClosure = z.object({
  /**
   * `sensor`: readings normal for the hold period; `operator`: a holder's or the admin's
   * confirmation; `reporter`: the person who reported it (上报人确认结案); `district`: the
   * district command center, after the reporter's confirmation time ran out.
   */
  by: z.enum(['sensor', 'operator', 'reporter', 'district']),
  actor: z.string().max(256),
  at: z.number().int(),
});
export type TicketClosure = z.infer<typeof TicketClosure>;

// Joint handling, returns, extensions and people's reports (docs/TICKETS.md, sections 10 to 13).

/** A co-handling department's standing on a ticket (吹哨报到): summoned, checked in, finished, or released. */
export const CO_HANDLER_STATUSES = ['summoned', 'checked_in', 'finished', 'released'] as const;
export type CoHandlerStatus = (typeof CO_HANDLER_STATUSES)[number];

export const CoHandler = z.object({
  department: z.string().max(64),
  /** `plan`: the category's response plan for the grade; `whistle`: summoned by the holder by hand. */
  source: z.enum(['plan', 'whistle']),
  status: z.enum(CO_HANDLER_STATUSES),
  summonedAt: z.number().int(),
  summonedBy: GovernanceActor,
  /** The check-in (报到) deadline. */
  checkInBy: z.number().int(),
  checkedInAt: z.number().int().nullable(),
  finishedAt: z.number().int().nullable(),
  releasedAt: z.number().int().nullable(),
  /** When the check-in reminder went out, and when the missed check-in was recorded. */
  remindedAt: z.number().int().nullable(),
  missedAt: z.number().int().nullable(),
});
export type CoHandler = z.infer<typeof CoHandler>;

/** A step of the response plan's checklist, and who ticked it off. */
export const ChecklistStep = z.object({
  id: z.string().max(64),
  text: z.string().max(200),
  doneAt: z.number().int().nullable(),
  doneBy: GovernanceActor.nullable(),
});
export type ChecklistStep = z.infer<typeof ChecklistStep>;

/** A return (退单): the holder says the ticket is not its responsibility; the district rules on it. */
export const TicketReturn = z.object({
  at: z.number().int(),
  /** Who returned it: `unit:<id>` or `department:<id>`. */
  party: GovernanceActor,
  /** The holder and the department at the time. */
  subcenterId: z.string().max(64),
  department: z.string().max(64),
  reason: z.string().max(500),
  /**
   * The district's ruling: `reassigned` (the return is upheld, the ticket goes elsewhere) or
   * `sent_back` (rejected: the returner keeps it). Null while the district has not ruled.
   */
  ruling: z
    .object({
      at: z.number().int(),
      by: GovernanceActor,
      decision: z.enum(['reassigned', 'sent_back']),
      note: z.string().max(500),
      subcenterId: z.string().max(64),
      department: z.string().max(64),
    })
    .nullable(),
});
export type TicketReturn = z.infer<typeof TicketReturn>;

/** A request for a later resolution deadline (延期), and the parent's decision. */
export const ExtensionRequest = z.object({
  at: z.number().int(),
  by: GovernanceActor,
  /** Who decides: the holder's parent center, or `admin` when the holder has no parent. */
  approver: z.string().max(64),
  /** The holder when it was asked. */
  subcenterId: z.string().max(64),
  /** resolveBy when asked, and the one asked for. */
  from: z.number().int(),
  to: z.number().int(),
  reason: z.string().max(500),
  decision: z
    .object({
      at: z.number().int(),
      by: GovernanceActor,
      approved: z.boolean(),
      /** The deadline granted (at most the one asked for); absent when refused. */
      resolveBy: z.number().int().optional(),
      note: z.string().max(500).optional(),
    })
    .nullable(),
});
export type ExtensionRequest = z.infer<typeof ExtensionRequest>;

/** A people's report merged into a ticket. */
export const TicketReportRef = z.object({
  id: z.string().max(64),
  channel: z.enum(['grid', 'open311']),
  by: GovernanceActor,
  at: z.number().int(),
});
export type TicketReportRef = z.infer<typeof TicketReportRef>;

export const SATISFACTION = ['satisfied', 'basically_satisfied', 'dissatisfied'] as const;
export type Satisfaction = (typeof SATISFACTION)[number];

/** A reporter's answer to a resolution: fixed or not, and how satisfied (满意度). */
export const ReporterRating = z.object({
  at: z.number().int(),
  reportId: z.string().max(64),
  /** The resolution it answers (the ticket's resolvedAt then). */
  resolvedAt: z.number().int(),
  fixed: z.boolean(),
  satisfaction: z.enum(SATISFACTION),
  note: z.string().max(500).optional(),
});
export type ReporterRating = z.infer<typeof ReporterRating>;

export const Ticket = z.object({
  id: z.string().max(128),
  grade: Grade,
  /** The highest grade among the rules of the ticket's alerts, before any raise. */
  baseGrade: Grade,
  /** Why `grade` is above `baseGrade`, one line per raise of the grading table. */
  gradeReasons: z.array(z.string()),
  category: z.string().max(64),
  department: z.string().max(64),
  subcenterId: z.string().max(64),
  /** True when no jurisdiction contained the location and the district center got it. */
  routedToFallback: z.boolean(),
  zoneId: z.string().max(64).nullable(),
  ruleId: z.string().max(64),
  /** Firings with the same key merge into the open ticket instead of opening another. */
  mergeKey: z.string(),
  status: TicketStatus,
  title: z.string(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  /** When the current holder received it: creation, or the last reassignment. */
  dispatchedAt: z.number().int(),
  respondBy: z.number().int(),
  resolveBy: z.number().int(),
  /** First acknowledgment (or start, or resolution) by the current holder. */
  respondedAt: z.number().int().nullable(),
  /** Latest move to `resolved`. */
  resolvedAt: z.number().int().nullable(),
  closedAt: z.number().int().nullable(),
  closure: TicketClosure.nullable(),
  location: Location.nullable(),
  /** One entry per alert fingerprint (rule and device), at most MAX_TICKET_ALERTS. */
  alerts: z.array(TicketAlert),
  /** Distinct alerts (fingerprints) merged into the ticket: a repeat firing counts once. */
  alertCount: z.number().int(),
  /** Firings merged into the ticket, repeats included, redeliveries not counted. */
  firings: z.number().int().optional(),
  /** Alert entries rolled out of `alerts` beyond its cap (counted in `alertCount`). */
  alertsRolledUp: z.number().int().optional(),
  /** Some alert of the ticket is flapping. */
  flapping: z.boolean().optional(),
  /** Ids of the latest alerts applied (at most MAX_APPLIED_ALERT_IDS): a redelivery is recognised. */
  appliedAlertIds: z.array(z.string()).optional(),
  /** Distinct devices that fired, in order of first firing, at most MAX_TICKET_DEVICES. */
  devices: z.array(z.string()),
  /** Event time of the first firing and of the latest alert. */
  firstSeen: z.number().int(),
  lastSeen: z.number().int(),
  reminders: z.array(DeadlineMark),
  overdue: z.array(DeadlineMark),
  /** Flagged red: a deadline was missed. Stays set, as the record of the miss. */
  red: z.boolean(),
  /** Supervision orders (督办单) issued about this ticket. */
  supervisionOrderIds: z.array(z.string()),
  timeline: z.array(TimelineEntry),
  /** Optimistic concurrency: incremented on every save. */
  version: z.number().int(),
  /** What opened it: a sensor's alert (also when absent) or a people's report, whose reporter confirms the closing. */
  origin: z.enum(['sensor', 'report']).optional(),
  /** Units that have held it, in order of first holding (at most MAX_TICKET_HOLDERS). */
  holders: z.array(z.string().max(64)).optional(),
  /** Departments that have led it, in order. */
  leads: z.array(z.string().max(64)).optional(),
  /** The response plan (预案) in force: its category and the grade it was applied for. */
  plan: z.object({ category: z.string().max(64), grade: Grade }).nullable().optional(),
  /** Co-handling departments summoned (联动), with their check-in and completion. */
  coHandlers: z.array(CoHandler).optional(),
  /** The plan's checklist. */
  checklist: z.array(ChecklistStep).optional(),
  /** Returns (退单) and the district's rulings, oldest first. */
  returns: z.array(TicketReturn).optional(),
  /** Deadline extensions (延期) asked for, oldest first. */
  extensions: z.array(ExtensionRequest).optional(),
  /** People's reports merged in: the first MAX_TICKET_REPORTS (the opener first); `reportCount` counts all. */
  reports: z.array(TicketReportRef).optional(),
  reportCount: z.number().int().optional(),
  /** Reporters' answers to resolutions (the opener's and those of reports that joined), the latest MAX_RATINGS. */
  ratings: z.array(ReporterRating).optional(),
  /** The reporter did not answer the resolution at `resolvedAt` in time: the district decides the closing. */
  confirmationTimedOut: z.object({ resolvedAt: z.number().int(), at: z.number().int() }).nullable().optional(),
});
export type Ticket = z.infer<typeof Ticket>;

/** Durable ticket timers: reminders and deadlines per kind, and the closing hold. */
export const TIMER_KINDS = [
  'response_reminder',
  'response_due',
  'resolution_reminder',
  'resolution_due',
  'close_hold',
  // One per summoned co-handling department (the timer id names it).
  'checkin_reminder',
  'checkin_due',
  // A reported ticket's resolution waiting for its reporter.
  'confirmation_due',
] as const;
export type TimerKind = (typeof TIMER_KINDS)[number];

/** A point in time at which something must happen to a ticket. One per ticket and kind. */
export interface TicketTimer {
  /** `${ticketId}/${kind}`, and `/${department}` for a co-handler's check-in. */
  id: string;
  ticketId: string;
  kind: TimerKind;
  dueAt: number;
  /** The co-handling department a check-in timer is about (not stored: timersFor tells). */
  department?: string;
}

export const SUPERVISION_STATUSES = ['issued', 'acknowledged', 'closed'] as const;
export type SupervisionStatus = (typeof SUPERVISION_STATUSES)[number];

/**
 * A supervision order (督办单): issued to the parent center when the holder of a ticket misses a
 * deadline. A linked record of its own: the parent acknowledges it, comments and closes it.
 */
export const SupervisionOrder = z.object({
  id: z.string().max(128),
  ticketId: z.string().max(128),
  /** The unit supervised: the ticket's holder when the deadline was missed. */
  subcenterId: z.string().max(64),
  /** The parent center that supervises. */
  issuedTo: z.string().max(64),
  reason: z.enum(['response_overdue', 'resolution_overdue', 'checkin_overdue']),
  /** A co-handling department that missed its check-in: the one supervised (`checkin_overdue`). */
  department: z.string().max(64).optional(),
  /** The deadline that was missed. */
  deadline: z.number().int(),
  status: z.enum(SUPERVISION_STATUSES),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  timeline: z.array(TimelineEntry),
});
export type SupervisionOrder = z.infer<typeof SupervisionOrder>;

export const TICKET_EVENT_TYPES = [
  'ticket.created',
  'ticket.updated',
  'ticket.reassigned',
  'ticket.reminder',
  'ticket.overdue',
  'ticket.reopened',
  'ticket.closed',
  'supervision.updated',
  // A department is summoned to co-handle (报到), a holder returned the ticket to the district
  // (退单), a holder asks its parent for more time (延期): each waits on someone's decision.
  'ticket.summoned',
  'ticket.returned',
  'ticket.extension_requested',
] as const;
export type TicketEventType = (typeof TICKET_EVENT_TYPES)[number];

/** `sw.tickets`: a ticket changed. */
export const TicketEvent = z.object({
  id: z.string().max(128),
  type: z.enum(TICKET_EVENT_TYPES),
  at: z.number().int(),
  ticket: Ticket,
  /**
   * Units told about the change: the holder, plus the previous holder on a reassignment and the
   * supervising center on an escalation or a supervision-order action.
   */
  recipients: z.array(z.string()),
  /** The supervision order issued or acted on, for `ticket.overdue` and `supervision.updated`. */
  supervisionOrder: SupervisionOrder.optional(),
});
export type TicketEvent = z.infer<typeof TicketEvent>;

/** What a unit receives about a ticket event, on its webhook and its MQTT tickets topic (core/ticket-message.ts). */
/**
 * What goes out about a ticket (webhook bodies, the MQTT feed, server-sent events): a bounded
 * view of it (core/tickets/view.ts): its latest timeline entries and alerts only, and `href`, the
 * API path of the whole ticket.
 */
export const TicketView = Ticket.omit({ appliedAlertIds: true, holders: true, leads: true }).extend({
  /** The API path of the whole ticket. */
  href: z.string(),
  /** What the view leaves out; absent when nothing is. */
  omitted: z
    .object({
      timeline: z.number().int(),
      alerts: z.number().int(),
      devices: z.number().int(),
      /** The governance lists (returns, extension requests, people's reports, ratings): the older entries left out, when any is. */
      returns: z.number().int().optional(),
      extensions: z.number().int().optional(),
      reports: z.number().int().optional(),
      ratings: z.number().int().optional(),
    })
    .optional(),
});
export type TicketView = z.infer<typeof TicketView>;

export const TicketMessage = z.object({
  event: z.enum(TICKET_EVENT_TYPES),
  /** `<ticketId>/v<version>`: the change. */
  id: z.string(),
  at: z.number().int(),
  /** The unit the message is addressed to. */
  to: z.string(),
  ticket: TicketView,
  supervisionOrder: SupervisionOrder.optional(),
});
export type TicketMessage = z.infer<typeof TicketMessage>;

// ---------------------------------------------------------------------------------------
// Devices

/** Entries of one device's SenML mapping table at most. */
export const MAX_SENML_MAP_ENTRIES = 64;
/** Devices one gateway may speak for: the list ingest holds for it. */
export const MAX_GATEWAY_DEVICES = 10_000;

/**
 * One entry of a device's SenML mapping table (ingest/senml-names.ts): records with this name
 * suffix and/or unit are this metric. The most specific matching entry wins.
 */
export const SenmlMapEntry = z
  .strictObject({
    /** The name suffix, exactly (what follows the device's SenML name, else the name's last segment). */
    suffix: z.string().max(256).regex(/^[A-Za-z0-9\-:./_]*$/, 'must use the SenML name characters A-Z a-z 0-9 - : . / _').optional(),
    /** The unit (`u`, else `bu`), exactly. */
    unit: z.string().min(1).max(32).optional(),
    metric: MetricName,
  })
  .refine((e) => e.suffix !== undefined || e.unit !== undefined, { message: 'give "suffix", "unit" or both', path: ['suffix'] });
export type SenmlMapEntry = z.infer<typeof SenmlMapEntry>;

/** How a device appears in SenML packs: its name (the prefix of its records' names) and its own mapping table. */
export const DeviceSenml = z.strictObject({
  name: z.string().max(256).regex(SENML_NAME_RE, 'must be a SenML name (RFC 8428 §4.5.1: A-Z a-z 0-9 - : . / _, starting with a letter or digit)').nullable().default(null),
  map: z.array(SenmlMapEntry).max(MAX_SENML_MAP_ENTRIES).default([]),
});
export type DeviceSenml = z.infer<typeof DeviceSenml>;

/** A position believed for a mobile device, and its time. */
export const TrustedPosition = z.object({ lat: z.number(), lon: z.number(), ts: z.number().int() });
export type TrustedPosition = z.infer<typeof TrustedPosition>;

export const DeviceView = z.object({
  id: z.string().max(64),
  kind: z.string().max(64),
  location: Location.nullable(),
  createdAt: z.number().int(),
  /** What the device last said on its status topic; `unknown` until it says anything. */
  status: z.union([DeviceStatusPayload, z.literal('unknown')]),
  lastSeen: z.number().int().nullable(),
  /** Moves (a vehicle, a portable sensor): positions it states are believed when plausible. A fixed device is where it was provisioned. */
  mobile: z.boolean(),
  /** The device that may speak for this one (a gateway, a department's system), if any. */
  gateway: z.string().max(64).nullable(),
  senml: DeviceSenml,
  /** Event time of the latest reading ingest accepted from the device (ingest/trust.ts). */
  lastReadingAt: z.number().int().nullable(),
  /** Mobile devices: the latest position believed. */
  position: TrustedPosition.nullable(),
  /** The distinct metric names the device has reported, at most the configured limit. */
  metrics: z.array(z.string().max(64)),
});
/** What the API shows of a device: never the secret hash. */
export type DeviceView = z.infer<typeof DeviceView>;

export const DeviceRecord = DeviceView.extend({
  /** scrypt hash of the secret, self-describing (see core/secret-hash.ts). */
  secretHash: z.string(),
});
export type DeviceRecord = z.infer<typeof DeviceRecord>;

export const DeviceCreateBody = z.strictObject({
  id: DeviceId,
  kind: z.string().regex(METRIC_RE, 'must match ^[a-z][a-z0-9_]{0,63}$'),
  location: Location,
  /** Default false: the device is where it is provisioned, whatever its payloads say. */
  mobile: z.boolean().optional(),
  /** A provisioned device that may speak for this one (its packs may carry this device's records). */
  gateway: DeviceId.optional(),
  senml: DeviceSenml.optional(),
});
export type DeviceCreateBody = z.infer<typeof DeviceCreateBody>;

/** `PATCH /api/devices/{id}`: provisioning fields to change; `null` clears a gateway or SenML name. */
export const DeviceUpdateBody = z
  .strictObject({
    kind: DeviceCreateBody.shape.kind.optional(),
    location: Location.optional(),
    mobile: z.boolean().optional(),
    gateway: DeviceId.nullable().optional(),
    senml: DeviceSenml.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one of kind, location, mobile, gateway, senml');
export type DeviceUpdateBody = z.infer<typeof DeviceUpdateBody>;

/** What a registry update changes (provisioning fields only). */
export type DevicePatch = Partial<Pick<DeviceRecord, 'kind' | 'location' | 'mobile' | 'gateway' | 'senml'>>;

/** A new device record: provisioned, never heard from. */
export function provisionedDevice(body: DeviceCreateBody, secretHash: string, createdAt: number): DeviceRecord {
  return {
    id: body.id,
    kind: body.kind,
    location: body.location,
    secretHash,
    createdAt,
    status: 'unknown',
    lastSeen: null,
    mobile: body.mobile ?? false,
    gateway: body.gateway ?? null,
    senml: body.senml ?? { name: null, map: [] },
    lastReadingAt: null,
    position: null,
    metrics: [],
  };
}

/** Most devices in one bulk import request; larger imports are sent in chunks. */
export const MAX_DEVICE_IMPORT = 1000;

export const DeviceImportBody = z.strictObject({
  devices: z.array(DeviceCreateBody).min(1).max(MAX_DEVICE_IMPORT),
  /** What to do with an id that is already provisioned: report it, leave it, or issue it a new secret. */
  onExisting: z.enum(['fail', 'skip', 'rotate']).default('fail'),
});
export type DeviceImportBody = z.infer<typeof DeviceImportBody>;

// ---------------------------------------------------------------------------------------
// Ticket API: bodies and queries

const Note = z.string().min(1).max(2000);
/** Departments and categories: lowercase ids, as in the city configuration. */
export const CATEGORY_RE = /^[a-z][a-z0-9_-]{0,63}$/;
export const CategoryId = z.string().regex(CATEGORY_RE, 'must match ^[a-z][a-z0-9_-]{0,63}$');

/** ack, start, resolve, close: an optional note for the timeline. */
export const TicketActionBody = z.strictObject({
  note: Note.optional(),
});

/** feedback (反馈): a note is the whole point. */
export const TicketFeedbackBody = z.strictObject({
  note: Note,
});

/** reassign (改派): to another unit, another department, or both; always with a reason. */
export const TicketReassignBody = z
  .strictObject({
    subcenter: EntityId.optional(),
    department: CategoryId.optional(),
    reason: z.string().min(1).max(500),
  })
  .refine((b) => b.subcenter !== undefined || b.department !== undefined, { message: 'give "subcenter", "department" or both', path: ['subcenter'] });
export type TicketReassignBody = z.infer<typeof TicketReassignBody>;

/**
 * A comma-separated list in a query parameter, at most `max` entries (empty ones are skipped).
 * `pattern` is the item's syntax without anchors: the whole list's syntax is then a pattern of
 * the string itself, which the OpenAPI document carries, so clients and test generators know it.
 */
// Joint handling, returns, extensions (docs/TICKETS.md, sections 10 to 12)

/** The longest check-in window the holder may give a department it summons by hand. */
export const MAX_CHECK_IN_WITHIN_MS = 24 * 3_600_000;

/** Blow the whistle (吹哨) for a department: it must check in within `checkInWithin` (the grade's response time when absent). */
export const SummonBody = z.strictObject({
  department: CategoryId,
  checkInWithin: Duration.refine((ms) => ms >= 60_000 && ms <= MAX_CHECK_IN_WITHIN_MS, 'must be from 1m to 24h').optional(),
  reason: z.string().min(1).max(500),
});

export const CoHandlerParams = z.strictObject({ id: z.string().min(1).max(128), department: CategoryId });
export const ChecklistParams = z.strictObject({ id: z.string().min(1).max(128), step: z.string().min(1).max(64) });

/** Release a summoned department that turns out not to be needed. */
export const ReleaseBody = z.strictObject({ reason: z.string().min(1).max(500) });

/** Return (退单): not this holder's responsibility, and why. */
export const ReturnBody = z.strictObject({ reason: z.string().min(1).max(500) });

/** The district's ruling on a return: re-dispatch elsewhere, or send it back; always with a note. */
export const ReturnRulingBody = z
  .strictObject({
    decision: z.enum(['reassigned', 'sent_back']),
    subcenter: EntityId.optional(),
    department: CategoryId.optional(),
    note: z.string().min(1).max(500),
  })
  .refine((b) => b.decision === 'reassigned' || (b.subcenter === undefined && b.department === undefined), { message: 'a ticket sent back goes to the returner: give no "subcenter" or "department"', path: ['decision'] });

/** Ask for a later resolution deadline (延期). */
export const ExtensionBody = z.strictObject({ resolveBy: Timestamp, reason: z.string().min(1).max(500) });

/** The parent's decision on a request for more time; an approval may grant less than asked. */
export const ExtensionDecisionBody = z
  .strictObject({ approved: z.boolean(), resolveBy: Timestamp.optional(), note: z.string().min(1).max(500).optional() })
  .refine((b) => b.approved || b.resolveBy === undefined, { message: 'a refusal grants no deadline', path: ['resolveBy'] });

const commaList = <T extends z.ZodType<unknown, string>>(item: T, max: number, pattern: string) =>
  z
    .string()
    .max(max * 70)
    .regex(new RegExp(`^(?:${pattern})?(?:,(?:${pattern})?){0,${max - 1}}$`), `must be a comma-separated list of at most ${max}`)
    .transform((s) => s.split(',').filter((x) => x !== ''))
    .pipe(z.array(item).max(max));
const oneOf = (values: readonly string[]): string => values.join('|');

export const TicketQuery = z.strictObject({
  subcenter: EntityId.optional(),
  /** Tickets this department leads or co-handles (a department token gets its own). */
  department: CategoryId.optional(),
  status: commaList(TicketStatus, TICKET_STATUSES.length, oneOf(TICKET_STATUSES)).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** Epoch milliseconds or an RFC 3339 date-time, as a query parameter. */
export const QueryTime = z.union([
  z.string().regex(/^\d{1,15}$/).transform(Number),
  z.iso.datetime({ offset: true }).max(40).transform((s) => Date.parse(s)),
]);

export const KpiQuery = z.strictObject({
  subcenter: EntityId.optional(),
  /** The tickets a department led or co-handled (a department token gets its own). */
  department: CategoryId.optional(),
  /** Recurrence look-back: a ticket recurs when the same place and category closed within this many days before it. */
  recurrenceDays: z.coerce.number().int().min(1).max(365).optional(),
  grade: Grade.optional(),
  from: QueryTime.optional(),
  to: QueryTime.optional(),
});

/** `/api/stream`: the token may come here, because a browser's EventSource cannot set headers. */
export const StreamQuery = z.strictObject({
  access_token: z.string().max(512).optional(),
});

export const SupervisionQuery = z.strictObject({
  status: z.enum(SUPERVISION_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const SupervisionActionBody = z.strictObject({
  note: Note.optional(),
});

export const SupervisionNoteBody = z.strictObject({
  note: Note,
});

export const TokenCreateBody = z
  .strictObject({
    /** A unit token's or display token's unit: a sub-center, community, grid, or the district command center. */
    unit: EntityId.optional(),
    /** A department token's department. */
    department: CategoryId.optional(),
    /** What the token is for; a reporter key's is required (it names the system that reports). */
    label: z.string().min(1).max(128).optional(),
    /**
     * `unit` (the default) acts for the unit; `display` only reads its wall view; `department`
     * acts for a functional department; `reporter` files Open311 requests (a citizens' app, a 12345 system).
     */
    kind: z.enum(['unit', 'display', 'department', 'reporter']).default('unit'),
  })
  .refine((b) => (b.kind === 'unit' || b.kind === 'display' ? b.unit !== undefined && b.department === undefined : b.unit === undefined), { message: 'a unit or display token names its "unit" (and no department); other kinds name no unit', path: ['unit'] })
  .refine((b) => (b.kind === 'department' ? b.department !== undefined : b.department === undefined), { message: 'a department token names its "department"; other kinds name none', path: ['department'] })
  .refine((b) => b.kind !== 'reporter' || b.label !== undefined, { message: 'a reporter key needs a "label" naming the system that reports', path: ['label'] });

/** GeoReport v2: an "Optional" argument passed empty counts as not passed. */
const open311Optional = <T extends z.ZodType<unknown, string>>(schema: T) => z.union([z.literal('').transform(() => undefined), schema]).optional();

/** Open311 GeoReport v2 `GET requests` arguments (all optional, as the spec says). */
export const Open311RequestsQuery = z.strictObject({
  api_key: open311Optional(z.string().max(512)),
  jurisdiction_id: open311Optional(z.string().max(128)),
  service_request_id: open311Optional(commaList(z.string().min(1).max(128), 100, '[^,]{1,128}')),
  service_code: open311Optional(commaList(CategoryId, 100, CATEGORY_RE.source.slice(1, -1))),
  start_date: open311Optional(z.iso.datetime({ offset: true }).max(40).transform((s) => Date.parse(s))),
  end_date: open311Optional(z.iso.datetime({ offset: true }).max(40).transform((s) => Date.parse(s))),
  status: open311Optional(commaList(z.enum(['open', 'closed']), 2, 'open|closed')),
});

// People's reports (统一归集): docs/TICKETS.md, section 13

/** The longest report text (GeoReport v2 allows descriptions of 4,000 characters). */
export const MAX_REPORT_NOTE = 4000;
export const PHOTO_ID_RE = /^PH-[0-9]{8}-[0-9A-Z]{6}$/;
export const REPORT_ID_RE = /^RP-[0-9]{8}-[0-9A-Z]{6}$/;

/** A grid worker's (or any unit's) report: what, where, and optionally a photo uploaded first. */
export const ReportBody = z.strictObject({
  category: CategoryId,
  note: z.string().min(1).max(MAX_REPORT_NOTE),
  location: Location,
  address: z.string().min(1).max(256).optional(),
  photo: z.string().regex(PHOTO_ID_RE, 'must be the id an upload to /api/reports/photos returned').optional(),
  /** How serious the reporter judges it; the city's report grade when absent. */
  grade: Grade.optional(),
});
export type ReportBody = z.infer<typeof ReportBody>;

export const ReportParams = z.strictObject({ id: z.string().regex(REPORT_ID_RE, 'must be a report id like RP-20260601-7KQ2M9') });

/** The reporter's answer to a resolution: fixed or not, and how satisfied; the confirmation token when no bearer token is sent. */
export const ReportConfirmBody = z.strictObject({
  token: z.string().min(16).max(128).optional(),
  fixed: z.boolean(),
  satisfaction: z.enum(SATISFACTION),
  note: z.string().min(1).max(500).optional(),
});

/** The confirmation link's token, for a reporter without an account. */
export const ReportTokenQuery = z.strictObject({ token: z.string().min(16).max(128) });

export const ReportListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

const formNumber = (min: number, max: number) =>
  z.union([z.number(), z.string().regex(/^-?\d{1,3}(\.\d{1,12})?$/, 'must be a decimal number').transform(Number)]).pipe(z.number().min(min).max(max));
const formText = (max: number) => z.string().max(max).optional();

/**
 * Open311 GeoReport v2 `POST requests` arguments (form-encoded, or JSON). Location is required
 * here as lat/long: StreetWatch does not geocode addresses. The personal fields of the spec
 * (email, names, phone, device and account ids) are accepted and not stored; `attribute[...]`
 * is not used (services carry no metadata).
 */
export const Open311PostBody = z.object({
  api_key: formText(512),
  jurisdiction_id: formText(128),
  service_code: CategoryId,
  lat: formNumber(-90, 90),
  long: formNumber(-180, 180),
  address_string: formText(256),
  address_id: formText(128),
  description: formText(MAX_REPORT_NOTE),
  media_url: z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(2048)]).optional(),
  email: formText(256),
  device_id: formText(256),
  account_id: formText(256),
  first_name: formText(256),
  last_name: formText(256),
  phone: formText(256),
});

export const Open311KeyQuery = z.strictObject({
  api_key: open311Optional(z.string().max(512)),
  jurisdiction_id: open311Optional(z.string().max(128)),
});

// ---------------------------------------------------------------------------------------
// Operators (Node-RED flows)

/** Most bytes an operator alert may have; it is a small object, so anything bigger is a mistake. */
export const MAX_OPERATOR_ALERT_BYTES = 16 * 1024;

/**
 * `v1/operators/alerts/{operator}`: an alert raised by an operator's flow. The broker turns it
 * into an `Alert` on `sw.alerts`, so it becomes a ticket like any rule's.
 */
export const OperatorAlert = z.strictObject({
  /** The flow's rule; with the operator and the device it makes the alert's fingerprint. */
  ruleId: EntityId,
  status: z.enum(['firing', 'resolved']).default('firing'),
  /** The device whose readings the rule judged: a provisioned device. */
  deviceId: DeviceId,
  metric: MetricName,
  value: z.number(),
  /** The bound that was crossed, for display. */
  threshold: z.number().optional(),
  grade: Grade,
  /** A category of the city configuration. */
  category: CategoryId,
  /** A department of the city configuration; the category's when absent. */
  department: CategoryId.optional(),
  /** A risk zone of the city: merges the alert with the zone's incident and raises the grade by its risk. */
  zoneId: EntityId.optional(),
  /** Where it happened; the device's provisioned location when absent. */
  loc: Location.optional(),
  /** Event time of the reading that caused the transition; the arrival time when absent. */
  ts: Timestamp.optional(),
  /** When the rule started firing (event time); `ts` when absent. */
  startsAt: Timestamp.optional(),
  summary: z.string().min(1).max(512).optional(),
  /** The sender's id for this message, echoed in an error about it. */
  ref: z.string().min(1).max(64).optional(),
});
export type OperatorAlert = z.infer<typeof OperatorAlert>;

/**
 * What an operator's error topic carries about a rejected alert: a device error message whose
 * `ref` is the alert's own, when it had a readable one.
 */
export type OperatorError = Omit<DeviceErrorMessage, 'ref'> & Partial<Pick<DeviceErrorMessage, 'ref'>>;

/**
 * `v1/operators/city` (retained): the places of the city for operators' flows — zones and
 * jurisdictions with their geometry, categories and departments. No webhooks, no secrets.
 */
export interface OperatorCity {
  name: string;
  district: Pick<City['district'], 'id' | 'name'>;
  zones: Pick<Zone, 'id' | 'name' | 'kind' | 'risk' | 'tags' | 'geometry'>[];
  subcenters: Pick<Subcenter, 'id' | 'name' | 'parent' | 'geometry'>[];
  categories: Pick<Category, 'id' | 'name' | 'department'>[];
  departments: Department[];
}
