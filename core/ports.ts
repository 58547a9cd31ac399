/**
 * Ports: what the stages need from the outside world. Each has an embedded adapter (a log in
 * SQLite for the bus, SQLite for the stores) and a distributed one (Kafka, InfluxDB, Redis), and
 * every adapter of a port passes the same contract suite.
 */
import type {
  Alert,
  CameraEvent,
  DeadLetter,
  DeviceErrorMessage,
  DevicePatch,
  DeviceRecord,
  Grade,
  Location,
  RawPublish,
  Reading,
  SupervisionOrder,
  SupervisionStatus,
  Ticket,
  TicketEvent,
  TicketStatus,
  TicketTimer,
  TrustedPosition,
} from './schemas.js';

// ---------------------------------------------------------------------------------------
// Bus

export interface BusTopics {
  'sw.raw': RawPublish;
  'sw.readings': Reading;
  'sw.events': CameraEvent;
  'sw.alerts': Alert;
  'sw.tickets': TicketEvent;
  'sw.deadletter': DeadLetter;
}
export type BusTopic = keyof BusTopics;
export const BUS_TOPICS: readonly BusTopic[] = ['sw.raw', 'sw.readings', 'sw.events', 'sw.alerts', 'sw.tickets', 'sw.deadletter'];

export interface BusRecord<T> {
  /** Records with the same key are delivered in order (per device, per fingerprint...). */
  key: string;
  value: T;
}

/** What a handler may do as part of the batch it handles; it takes effect when the batch commits. */
export interface BatchContext {
  /**
   * Publishes records as part of this batch. They are appended when the batch commits: in the
   * same transaction as the group's new position where the adapter has one (the embedded log),
   * else (Kafka) acknowledged before that position is committed. A handler that throws
   * publishes nothing.
   */
  publish<K extends BusTopic>(topic: K, records: BusRecord<BusTopics[K]>[]): void;
  /**
   * Runs `write` inside the transaction that commits this batch when the bus keeps its log in
   * `database` (the embedded SQLite log, and a store that shares its database): the write, what
   * the handler published and the group's new position are then one atomic commit, so the batch
   * takes effect exactly once. Returns false when the bus cannot (Kafka, another database): the
   * caller then makes its write durable itself before the handler resolves.
   */
  joinCommit(database: object, write: () => void): boolean;
  /**
   * Runs `then` once the batch has taken effect, before the group's next batch: after its commit
   * (the embedded log), or after its publishes are acknowledged and before its offset is
   * committed (Kafka). For what must not move on for a batch that may yet be handled again (state
   * kept in memory, answers to waiting requests). Embedded, a failure in `then` is logged: the
   * batch has committed and is not handled again; on Kafka it fails the batch, which is retried.
   */
  afterCommit(then: () => void | Promise<void>): void;
}

export type BatchHandler<T> = (records: BusRecord<T>[], batch: BatchContext) => Promise<void>;

export interface SubscribeOptions {
  /** Most records handed to one handler call. */
  maxBatch?: number;
  /**
   * Where a group with no position of its own starts. `earliest` (the default): every record the
   * bus still holds, so a new stage skips nothing. `latest`: records published after it joined,
   * for live views that want no history, such as a group per process.
   */
  from?: 'earliest' | 'latest';
}

export interface Subscription {
  /** Stops delivery after the batch in hand completes. */
  close(): Promise<void>;
}

/** A record a consumer group could not process, set aside with its cause (see Bus). */
export interface ParkedRecord {
  id: string;
  topic: BusTopic;
  /** The consumer group that parked it. */
  group: string;
  key: string;
  /** The record's value as it was published. */
  value: unknown;
  /** The last failure: its catalogue code (SW_ERR_INTERNAL for errors from outside the catalogue) and message. */
  cause: { code: string; message: string };
  /** Failed attempts before it was parked. */
  attempts: number;
  parkedAt: number;
  /** When it was published again (replayParked), if it was. */
  replayedAt: number | null;
}

export interface ParkedFilter {
  topic?: BusTopic;
  group?: string;
  /** Most records returned, newest first. */
  limit?: number;
}

/**
 * At-least-once, ordered per key. A consumer group receives every record; each record goes to
 * one member of the group, and each group runs at its own pace from the position it committed.
 * `publish` resolves once the records are durable (Kafka: acknowledged by all in-sync replicas;
 * the embedded log: committed to SQLite). The embedded log makes it wait while the topic is at
 * its bound, and rejects it (SW_ERR_UNAVAILABLE) when too many publishes wait already.
 *
 * A handler that throws gets the same records again after a backoff, so handlers must be
 * idempotent. A record that cannot succeed (its error is not retriable, or it failed
 * `maxAttempts` times) is parked with its cause and the group moves on; a failure that says a
 * service is down (SW_ERR_UNAVAILABLE) is waited out instead (core/bus/failure-policy.ts).
 */
export interface Bus {
  publish<K extends BusTopic>(topic: K, records: BusRecord<BusTopics[K]>[]): Promise<void>;
  subscribe<K extends BusTopic>(topic: K, group: string, handler: BatchHandler<BusTopics[K]>, opts?: SubscribeOptions): Promise<Subscription>;
  /** Parked records still held (see the adapter's retention), newest first. */
  listParked(filter?: ParkedFilter): Promise<ParkedRecord[]>;
  /**
   * Publishes a parked record again on its topic (every group of the topic receives it again;
   * consumers are idempotent) and marks it replayed. Undefined when no such record is held.
   */
  replayParked(id: string): Promise<ParkedRecord | undefined>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Time series

export interface SeriesQuery {
  deviceId?: string;
  metric?: string;
  from: number;
  to: number;
  limit?: number;
}

/**
 * What the store answers for a period: each reading (`raw`), or per device and metric the
 * aggregates of each 5-minute or 1-hour step (roll-ups), which are kept far longer.
 */
export type Resolution = 'raw' | '5m' | '1h';
export type RollupResolution = Exclude<Resolution, 'raw'>;

/** The readings of one device and metric in [start, start + step): a roll-up. */
export interface RollupPoint {
  deviceId: string;
  metric: string;
  /** Start of the step (a multiple of the step since the epoch). */
  start: number;
  count: number;
  min: number;
  max: number;
  /** Sum of the values: the mean is sum / count, and steps combine exactly. */
  sum: number;
  /** The value with the newest timestamp in the step, and that timestamp. */
  last: number;
  lastTs: number;
  /** Unit and location of that newest reading. */
  unit?: string;
  loc?: Location;
}

/** What the store holds and how far its maintenance went, for /metrics and the console. */
export interface SeriesStats {
  /** Rows (points) per resolution; estimated where counting would read everything. */
  rows: Record<Resolution, number | null>;
  /** Timestamp of the oldest row per resolution (null: none, or unknown). */
  oldest: Record<Resolution, number | null>;
  /** Bytes on disk per database file, when the store is local. */
  files: { name: string; bytes: number }[];
}

export interface SeriesStore {
  /**
   * Resolves once every reading is durable. Writing the same (device, metric, ts) twice keeps one.
   * Given the batch of a bus handler, a store that shares the bus's database writes in the
   * batch's commit instead (BatchContext.joinCommit): durable when the batch is.
   */
  write(readings: readonly Reading[], batch?: BatchContext): Promise<void>;
  /** Readings in [from, to), oldest first. */
  query(q: SeriesQuery): Promise<Reading[]>;
  /**
   * Stored roll-ups of one resolution with `start` in [from, to), oldest first (by start, device,
   * metric). core/retention/series-read.ts answers a period at the resolution that covers it.
   */
  queryRollups(resolution: RollupResolution, q: SeriesQuery): Promise<RollupPoint[]>;
  /**
   * One bounded step of folding stored readings into both roll-up resolutions; resolves with how
   * many readings it folded (0: caught up at `now`). Every reading is folded once, late ones
   * included, whenever it arrives.
   */
  rollUp(now: number, maxReadings: number): Promise<number>;
  /**
   * A run of the fold begins: its steps fold the readings stored until now and then report 0,
   * rather than follow the readings stored between two of them (at a fleet's rate there always
   * are some, and a run would go on until its time budget). Stores whose fold is bounded by time
   * leave it out.
   */
  beginRollUp?(): void;
  /**
   * Deletes rows of a resolution older than `before` (readings only once they are rolled up), at
   * most about `maxRows` of them; resolves with how many (0: nothing left to delete).
   */
  prune(resolution: Resolution, before: number, maxRows: number): Promise<number>;
  stats(): Promise<SeriesStats>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// State: devices, tickets, rule state, delivery outbox

export interface DeviceRegistry {
  /** Throws SW_ERR_DEVICE_EXISTS when the id is taken. */
  add(device: DeviceRecord): Promise<void>;
  get(id: string): Promise<DeviceRecord | undefined>;
  list(): Promise<DeviceRecord[]>;
  setSecretHash(id: string, secretHash: string): Promise<boolean>;
  setStatus(id: string, status: DeviceRecord['status'], at: number): Promise<void>;
  touch(ids: readonly string[], at: number): Promise<void>;
  remove(id: string): Promise<boolean>;
  /** Devices provisioned to be spoken for by `gatewayId`, by id, at most `limit`. */
  children(gatewayId: string, limit: number): Promise<DeviceRecord[]>;
  /** Changes provisioning fields; undefined when there is no such device. */
  update(id: string, patch: DevicePatch): Promise<DeviceRecord | undefined>;
  /**
   * Keeps what ingest trusts of devices, merged with what is stored: reading times and positions
   * only move forward, metric names only grow. Unknown ids are skipped.
   */
  saveTrust(updates: readonly DeviceTrustUpdate[]): Promise<void>;
}

/** A device's trust state as ingest saves it (ingest/trust.ts). */
export interface DeviceTrustUpdate {
  id: string;
  lastReadingAt: number | null;
  position: TrustedPosition | null;
  metrics: readonly string[];
}

export interface TicketFilter {
  /** Held by this unit, or by any of these units (a sub-center with its communities and grids). */
  subcenterId?: string | string[];
  /** Led by this department, or co-handled by it (summoned and not released). */
  department?: string;
  status?: TicketStatus | TicketStatus[];
  grade?: Grade | Grade[];
  /** Tickets created in [createdFrom, createdTo). */
  createdFrom?: number;
  createdTo?: number;
  limit?: number;
}

/**
 * A message to deliver, written in the same transaction as the ticket change. The destination
 * (webhook URL and signing secret) is looked up when it is sent, so a rotated secret or a
 * corrected URL applies to retries too.
 */
export interface OutboxMessage {
  /** Unique: `<ticket>/v<version>/<unit>`; sent as the Idempotency-Key. */
  id: string;
  channel: 'webhook';
  /** The receiving unit (sub-center or command center). */
  subcenterId: string;
  ticketId: string;
  event: string;
  body: string;
  createdAt: number;
  /**
   * The message only carries the ticket's latest state: a later coalescing message to the same
   * unit about the same ticket replaces it while it waits untried, and it waits the outbox's
   * coalescing window after the previous message of that ticket and unit (OutboxPolicy).
   */
  coalesce?: boolean;
}

export interface OutboxItem extends Omit<OutboxMessage, 'coalesce'> {
  attempts: number;
  /** When it may be tried next; for a delivered message, when it was delivered. */
  nextAttemptAt: number;
  lastError: string | null;
  state: 'pending' | 'delivered' | 'failed';
}

/** Written with a ticket change, in the same transaction. */
export interface TicketSaveEffects {
  /**
   * The ticket's timers from now on: replaces the ones stored for it (none left when empty). A
   * timer kept with the same due time keeps its claim; a moved one is free to claim again.
   * Undefined leaves the stored timers as they are.
   */
  timers?: readonly TicketTimer[];
  /** Supervision orders about this ticket, inserted or replaced by id. */
  supervisionOrders?: readonly SupervisionOrder[];
  /** People's reports merged into the ticket by this change: each report records the ticket (the first one it joined). */
  reportLinks?: readonly string[];
}

export interface TicketStore {
  get(id: string): Promise<Ticket | undefined>;
  /** Newest first (by creation, then id). */
  list(filter?: TicketFilter): Promise<Ticket[]>;
  /** The open (not closed) ticket with this merge key, if any. */
  findOpen(mergeKey: string): Promise<Ticket | undefined>;
  /** The open ticket holding an alert with this fingerprint, if any. */
  findOpenByAlert(fingerprint: string): Promise<Ticket | undefined>;
  /**
   * The newest ticket, open or closed, that has listed an alert with this fingerprint (by
   * creation): where a replayed alert of a closed incident is recognised. One entry per
   * fingerprint, replaced by newer tickets; gone with the ticket when retention deletes it.
   */
  lastByAlert(fingerprint: string): Promise<Ticket | undefined>;
  /**
   * Inserts a new ticket (version 1) or replaces one whose stored version is `ticket.version - 1`,
   * together with its outbox messages and effects, atomically. Throws SW_ERR_TICKET_CONFLICT when
   * the version does not match or another open ticket holds the merge key.
   */
  save(ticket: Ticket, outbox?: readonly OutboxMessage[], effects?: TicketSaveEffects): Promise<void>;
}

/**
 * How the outbox holds messages back and how many it keeps per unit. The store applies it in
 * the ticket save that writes the messages.
 */
export interface OutboxPolicy {
  /**
   * A coalescing message waits until this long after the previous message of its ticket to the
   * same unit (sent at once when there was none for that long), and while it waits untried a
   * later coalescing change replaces it: one delivery per ticket, unit and window.
   */
  coalesceMs: number;
  /** Pending messages per unit at most; beyond it the oldest is given up (failed). */
  maxPendingPerUnit: number;
}

export interface Outbox {
  /** Pending messages due at `now`, oldest first. */
  due(now: number, limit: number): Promise<OutboxItem[]>;
  /** Units with pending messages due at `now`, the one due longest first: one delivery queue each. */
  receiversDue(now: number, limit: number): Promise<string[]>;
  /**
   * Claims up to `limit` pending messages to `receiver` due at `now` that no unexpired lease
   * holds, leasing each to `owner` until `now + leaseMs`, earliest due first: several delivery
   * workers never send one message at the same time. A lease ends with markDelivered/markFailed,
   * or when it expires (the worker died), after which the message can be claimed again.
   */
  claim(receiver: string, now: number, limit: number, owner: string, leaseMs: number): Promise<OutboxItem[]>;
  markDelivered(id: string, at: number): Promise<void>;
  markFailed(id: string, attempts: number, nextAttemptAt: number | null, error: string): Promise<void>;
  get(id: string): Promise<OutboxItem | undefined>;
  /** Every message about a ticket, oldest first: its delivery state. */
  forTicket(ticketId: string): Promise<OutboxItem[]>;
  /**
   * Deletes up to `limit` settled messages (delivered, or given up on) that settled before
   * `before` (for a given-up one: its last planned attempt); resolves with how many. Pending
   * messages stay whatever their age.
   */
  pruneSettled(before: number, limit: number): Promise<number>;
  /**
   * Calls `listener` once a ticket save of this process has committed messages
   * (TicketStore.save), so that delivery starts then rather than when `sw.tickets` announces the
   * change. Saves of other processes are known from `sw.tickets` only. Returns the function that
   * stops the calls.
   */
  onWritten(listener: () => void): () => void;
}

/** Durable ticket timers. They are written only through TicketStore.save (see TicketSaveEffects). */
export interface TimerStore {
  /**
   * Claims up to `limit` timers due at `now` (dueAt <= now) that no unexpired lease holds,
   * leasing each to `owner` until `now + leaseMs`; oldest due first. The ticket save that records
   * a timer's effect removes it; a lease that expires (the claimer died) frees it for another.
   */
  claimDue(now: number, limit: number, owner: string, leaseMs: number): Promise<TicketTimer[]>;
  /** Drops a timer `owner` claimed and found nothing to do for; false if the claim was lost. */
  complete(id: string, owner: string): Promise<boolean>;
  /** A ticket's timers, by due time. */
  forTicket(ticketId: string): Promise<TicketTimer[]>;
}

export interface SupervisionFilter {
  /** Orders issued to this center, or about tickets held by this unit (either matches). */
  unitId?: string;
  ticketId?: string;
  status?: SupervisionStatus;
  limit?: number;
}

/** Supervision orders (督办单). Written only through TicketStore.save, with their ticket. */
export interface SupervisionStore {
  get(id: string): Promise<SupervisionOrder | undefined>;
  /** Newest first. */
  list(filter?: SupervisionFilter): Promise<SupervisionOrder[]>;
}

/**
 * What a token may do, and what `unitId` then names:
 * - `unit`: acts for a unit (a sub-center, community, grid or the district command center):
 *   sees and handles its tickets;
 * - `display`: only reads what the unit's wall screen shows (docs/CONSOLE.md), acts on nothing;
 * - `department`: acts for a functional department (`unitId` is the department's id): sees the
 *   tickets it leads or co-handles, checks in, finishes;
 * - `reporter`: a citizens' app or a 12345 system (`unitId` is the district's): files Open311
 *   requests and reads those it filed.
 */
export type ApiTokenKind = 'unit' | 'display' | 'department' | 'reporter';

/** An API token; only its SHA-256 is stored. */
export interface ApiTokenRecord {
  id: string;
  /** Whom the token acts for, by kind (see ApiTokenKind). */
  unitId: string;
  kind: ApiTokenKind;
  /** Hex SHA-256 of the token. */
  tokenHash: string;
  label: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface ApiTokenStore {
  add(token: ApiTokenRecord): Promise<void>;
  /** The token with this hash, revoked or not. */
  findByHash(tokenHash: string): Promise<ApiTokenRecord | undefined>;
  /** Tokens, oldest first, optionally of one unit. */
  list(unitId?: string): Promise<ApiTokenRecord[]>;
  /** Marks a token revoked; false when there is no such token or it was already revoked. */
  revoke(id: string, at: number): Promise<boolean>;
}

/**
 * A department system's ingest token (HTTP ingest): it may send readings for one device, the
 * system, and the devices provisioned with the system as their gateway. Only its SHA-256 is stored.
 */
export interface IngestTokenRecord {
  id: string;
  /** The device that is the system. */
  deviceId: string;
  /** Hex SHA-256 of the token. */
  tokenHash: string;
  label: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface IngestTokenStore {
  add(token: IngestTokenRecord): Promise<void>;
  /** The token with this hash, revoked or not. */
  findByHash(tokenHash: string): Promise<IngestTokenRecord | undefined>;
  /** Tokens, oldest first, optionally of one system. */
  list(deviceId?: string): Promise<IngestTokenRecord[]>;
  /** Marks a token revoked; false when there is no such token or it was already revoked. */
  revoke(id: string, at: number): Promise<boolean>;
}

/** A people's report (统一归集) as it was filed: what, where, by whom, and the ticket it joined. */
export interface ReportRecord {
  /** `RP-20260601-7KQ2M9`: the report's id, also its Open311 service_request_id. */
  id: string;
  channel: 'grid' | 'open311';
  /** Who filed it: `unit:<id>` (a grid worker's or another unit's token), `key:<token id>` (a reporter key) or `admin`. */
  filedBy: string;
  /** The timeline's actor for it (the alert's `report.by`). */
  actor: string;
  category: string;
  grade: Grade;
  location: Location;
  note: string;
  address: string | null;
  /** A photo uploaded with it (ReportStore.addPhoto), kept for the photo retention. */
  photoId: string | null;
  /** Open311 `media_url`: kept as given, never fetched. */
  mediaUrl: string | null;
  /** Hex SHA-256 of the reporter's confirmation token (the link the reporter confirms with). */
  confirmTokenHash: string;
  createdAt: number;
  /** When retention deletes it. */
  expiresAt: number;
  /** The ticket it joined, set in that ticket's save (TicketSaveEffects.reportLinks); null until then. */
  ticketId: string | null;
}

/** A photo of a report: an image only, kept for the photo retention. */
export interface ReportPhoto {
  id: string;
  contentType: 'image/jpeg' | 'image/png' | 'image/webp';
  bytes: Buffer;
  filedBy: string;
  createdAt: number;
  expiresAt: number;
}

export interface ReportFilter {
  filedBy?: string;
  limit?: number;
}

/** People's reports and their photos. The link to a ticket is written by TicketStore.save. */
export interface ReportStore {
  add(report: ReportRecord): Promise<void>;
  get(id: string): Promise<ReportRecord | undefined>;
  /** Newest first. */
  list(filter?: ReportFilter): Promise<ReportRecord[]>;
  addPhoto(photo: ReportPhoto): Promise<void>;
  photo(id: string): Promise<ReportPhoto | undefined>;
  /** Deletes up to `limit` reports and photos whose `expiresAt` is at or before `now`; resolves with how many. */
  prune(now: number, limit: number): Promise<number>;
}

/** A small key-value store for rule state and dedup keys. Values are JSON. */
export interface KeyValueStore {
  getMany<T>(keys: readonly string[]): Promise<Map<string, T>>;
  /** Writes all entries atomically; `undefined` deletes. */
  setMany(entries: ReadonlyMap<string, unknown>): Promise<void>;
  /**
   * Sets `key` to `next` (`undefined` deletes) only if its current value is `expected`
   * (`undefined`: the key is absent), atomically; resolves true when it did. Values compare by
   * their JSON text, so pass the value exactly as `getMany` returned it. This is how two
   * instances sharing the store decide which of them makes a state change (and sends its alert).
   */
  compareAndSet(key: string, expected: unknown, next: unknown): Promise<boolean>;
  /**
   * Several independent compare-and-sets in one round trip (one transaction, one pipeline):
   * each succeeds or fails on its own, as compareAndSet would; resolves with each outcome, in
   * order. A batch of rule state changes costs one commit, not one per key.
   */
  compareAndSetMany(changes: readonly { key: string; expected: unknown; next: unknown }[]): Promise<boolean[]>;
  /**
   * Deletes every key that starts with `prefix` (all of one device's state: core/device-state.ts);
   * resolves with how many.
   */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * Keys that start with `prefix`, a page at a time: start with `cursor` undefined and go on with
   * the `next` of each page until it is undefined. Keys written meanwhile may or may not appear.
   */
  scanPrefix(prefix: string, cursor?: string): Promise<{ keys: string[]; next: string | undefined }>;
}

/** A refusal a device received on its errors topic, kept so that its vendor can read it back. */
export interface DeviceErrorRecord extends DeviceErrorMessage {
  /** When the refused publish reached the broker (epoch ms). */
  at: number;
}

/** Refusals kept per device: the newest this many, older ones are dropped. */
export const DEVICE_ERROR_LOG_SIZE = 100;

/**
 * The recent refusals of each device (`GET /api/devices/{id}/errors`): a ring of the newest
 * DEVICE_ERROR_LOG_SIZE per device. Appending the same refusal twice (a redelivered dead letter:
 * same ref, code, message and topic) keeps it once.
 */
export interface DeviceErrorLog {
  append(deviceId: string, errors: readonly DeviceErrorRecord[]): Promise<void>;
  /** Newest first, at most `limit` (default all that are kept). */
  recent(deviceId: string, limit?: number): Promise<DeviceErrorRecord[]>;
  /** Forgets a device's refusals (the device was removed). */
  clear(deviceId: string): Promise<void>;
}

export interface StateStore {
  readonly devices: DeviceRegistry;
  readonly tickets: TicketStore;
  readonly outbox: Outbox;
  readonly timers: TimerStore;
  readonly supervision: SupervisionStore;
  readonly tokens: ApiTokenStore;
  readonly ingestTokens: IngestTokenStore;
  readonly kv: KeyValueStore;
  readonly deviceErrors: DeviceErrorLog;
  readonly reports: ReportStore;
  close(): Promise<void>;
}

/** The time source; tests drive a controllable one. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
