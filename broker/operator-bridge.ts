/**
 * The broker's side of the operator role. Inbound: an operator's alert is decoded, checked
 * against the contract and the city, and handed to `sw.alerts` before the PUBACK, the same
 * promise a device's publish gets; a refused one is answered on the operator's errors topic.
 * Outbound: readings, camera events and ticket events to the operators' feeds, and the city's
 * places as a retained message.
 */
import type { Aedes, PublishPacket } from 'aedes';
import type { CityIndex } from '../core/city-index.js';
import { StreetWatchError, swError } from '../core/errors.js';
import { parseJsonPayload } from '../core/json-payload.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Bus, Clock, DeviceRegistry, Subscription } from '../core/ports.js';
import { MAX_OPERATOR_ALERT_BYTES, MIN_READING_TS, OperatorAlert, type Alert, type DeviceRecord, type OperatorCity, type OperatorError } from '../core/schemas.js';
import { OPERATOR_CITY_TOPIC, operatorErrorsTopic, operatorEventsTopic, operatorReadingsTopic, operatorTicketsTopic } from '../core/topics.js';
import { describeZodError } from '../core/zod-issues.js';
import { localOperatorCount, type OperatorCount } from './cluster/operator-count.js';
import { isOperatorAlertsTopic } from './operator.js';
import { supervisionOrderView, ticketView } from '../core/tickets/view.js';

/**
 * Feed messages handed to the broker and not yet delivered, at most, across the live feeds;
 * past it a reading or event is not sent to the feeds (counted). Handed over without waiting,
 * an unbounded number queued in the broker's message emitter while an operator did not read.
 */
export const MAX_FEED_IN_FLIGHT = 1_000;
/** Camera event types that are safe as one topic level; anything else goes under `other`. */
const TOPIC_LEVEL_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export interface OperatorBridgeOptions {
  aedes: Aedes;
  bus: Bus;
  devices: DeviceRegistry;
  /** Current city; read per alert so a reload applies at once. */
  cityIndex: () => CityIndex;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** How far in the future an alert's timestamps may be (clock skew). */
  maxClockSkewMs: number;
  /** Whether an operator is connected (to any node of a cluster): the feeds publish nothing while none is. */
  operatorCount?: OperatorCount;
}

export interface OperatorBridge {
  /**
   * Takes in a publish of an operator: an alert on its alerts topic. Resolves once the alert is
   * on `sw.alerts` or refused (the refusal is on the operator's errors topic); rejects only when
   * the bus or the device registry failed, so the publish is not acknowledged.
   */
  takePublish(operator: string, packet: PublishPacket): Promise<void>;
  /** Republishes the city if it was reloaded since it was last published, before a subscription to it is granted. */
  refreshCity(): Promise<void>;
  /** Operators connected here: the feeds publish nothing while there are none anywhere. */
  operatorConnected(): void;
  operatorDisconnected(): void;
  close(): Promise<void>;
}

/** Checks decoded JSON against the contract. */
export function validateOperatorAlert(data: unknown): OperatorAlert {
  const parsed = OperatorAlert.safeParse(data);
  if (!parsed.success) throw new StreetWatchError('SW_ERR_PAYLOAD_SCHEMA', [describeZodError(parsed.error)], { details: parsed.error.issues.slice(0, 10) });
  return parsed.data;
}

/** The sender's `ref`, read before validation so that even a refused alert can be matched. */
function readableRef(data: unknown): string | undefined {
  const ref = typeof data === 'object' && data !== null ? (data as { ref?: unknown }).ref : undefined;
  return typeof ref === 'string' && ref.length > 0 && ref.length <= 64 ? ref : undefined;
}

export interface OperatorAlertContext {
  operator: string;
  city: CityIndex;
  /** The alert's device as registered; undefined when it is not provisioned. */
  device: DeviceRecord | undefined;
  now: number;
  maxClockSkewMs: number;
}

/**
 * The `Alert` an operator's alert stands for. Its references must exist: a ticket for an
 * unknown device, zone or category would reach nobody who can act on it.
 */
export function operatorAlertToAlert(a: OperatorAlert, ctx: OperatorAlertContext): Alert {
  const { city } = ctx;
  if (!ctx.device) throw swError('SW_ERR_DEVICE_UNKNOWN', a.deviceId);
  if (a.zoneId !== undefined && !city.zoneById.has(a.zoneId)) throw swError('SW_ERR_REFERENCE_UNKNOWN', 'zone', a.zoneId);
  if (!city.city.categories.has(a.category) && !city.city.rules.some((r) => r.category === a.category)) {
    throw swError('SW_ERR_REFERENCE_UNKNOWN', 'category', a.category);
  }
  if (a.department !== undefined && !city.city.departments.has(a.department)) throw swError('SW_ERR_REFERENCE_UNKNOWN', 'department', a.department);
  const ts = a.ts ?? ctx.now;
  const startsAt = a.startsAt ?? ts;
  for (const t of [ts, startsAt]) {
    if (t < MIN_READING_TS || t > ctx.now + ctx.maxClockSkewMs) throw swError('SW_ERR_TS_RANGE', t, `${new Date(MIN_READING_TS).toISOString()} to ${ctx.maxClockSkewMs / 1000} s ahead of the server`);
  }
  const loc = a.loc ?? ctx.device.location ?? undefined;
  // The operator's name keeps a flow's rule apart from a city rule (or another operator's) of the same id.
  const fingerprint = `operator:${ctx.operator}/${a.ruleId}/${a.deviceId}`;
  const alert: Alert = {
    // Deterministic, like the detectors': a publish the operator repeats (QoS 1 DUP, a
    // reconnect) yields the same id, and alerting drops it.
    id: `${fingerprint}@${startsAt}:${a.status}`,
    fingerprint,
    status: a.status,
    ruleId: a.ruleId,
    deviceId: a.deviceId,
    metric: a.metric,
    value: a.value,
    grade: a.grade,
    category: a.category,
    // Empty: alerting takes the category's department, as for a rule that names none.
    department: a.department ?? '',
    ts,
    startsAt,
    summary: a.summary ?? `${a.ruleId}: ${a.metric} ${a.value} at ${a.deviceId} (operator ${ctx.operator})`,
  };
  if (a.threshold !== undefined) alert.threshold = a.threshold;
  if (a.zoneId !== undefined) alert.zoneId = a.zoneId;
  if (loc) {
    alert.loc = loc;
    const subcenterId = city.place(loc).subcenterId;
    if (subcenterId !== undefined) alert.subcenterId = subcenterId;
  }
  return alert;
}

/** The city for operators' flows: places, categories and departments, never webhooks or secrets. */
export function operatorCity(index: CityIndex): OperatorCity {
  const { city } = index;
  return {
    name: city.name,
    district: { id: city.district.id, name: city.district.name },
    zones: city.zones.map((z) => ({ id: z.id, name: z.name, kind: z.kind, risk: z.risk, tags: z.tags, geometry: z.geometry })),
    subcenters: city.subcenters.map((s) => ({ id: s.id, name: s.name, ...(s.parent !== undefined ? { parent: s.parent } : {}), geometry: s.geometry })),
    categories: [...city.categories.values()].map((c) => ({ id: c.id, name: c.name, department: c.department })),
    departments: [...city.departments.values()].map((d) => ({ id: d.id, name: d.name })),
  };
}

export async function startOperatorBridge(opts: OperatorBridgeOptions): Promise<OperatorBridge> {
  const { aedes, bus, devices, clock, metrics } = opts;
  const log = opts.logger.child({ stage: 'broker', role: 'operator' });
  const operatorCount = opts.operatorCount ?? localOperatorCount();
  let publishedCity: CityIndex | undefined;

  const publish = (topic: string, body: unknown, qos: 0 | 1, retain = false): Promise<void> =>
    new Promise((resolve) => aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(body)), qos, retain, dup: false }, () => resolve()));

  async function refreshCity(): Promise<void> {
    const index = opts.cityIndex();
    if (index === publishedCity) return;
    publishedCity = index;
    await publish(OPERATOR_CITY_TOPIC, operatorCity(index), 1, true);
  }

  async function takePublish(operator: string, packet: PublishPacket): Promise<void> {
    let alert: Alert;
    let ref: string | undefined;
    try {
      if (!isOperatorAlertsTopic(operator, packet.topic)) throw swError('SW_ERR_TOPIC_FORBIDDEN', `operator:${operator}`, packet.topic);
      // Size, encoding, JSON, then the contract: the byte cap comes before parsing.
      const data = parseJsonPayload(packet.payload as Buffer, MAX_OPERATOR_ALERT_BYTES);
      ref = readableRef(data);
      const decoded = validateOperatorAlert(data);
      const device = await lookUp(decoded.deviceId);
      alert = operatorAlertToAlert(decoded, { operator, city: opts.cityIndex(), device, now: clock.now(), maxClockSkewMs: opts.maxClockSkewMs });
    } catch (err) {
      const error = err instanceof StreetWatchError ? err : new StreetWatchError('SW_ERR_INTERNAL', [(err as Error).message], { cause: err });
      if (error.code === 'SW_ERR_UNAVAILABLE') throw error;
      metrics.rejected.inc({ code: error.code });
      log.info({ operator, code: error.code }, 'operator alert refused');
      const message: OperatorError = { code: error.code, message: error.message, topic: packet.topic };
      if (ref !== undefined) message.ref = ref;
      await publish(operatorErrorsTopic(operator), message, 1);
      return;
    }
    await bus.publish('sw.alerts', [{ key: alert.fingerprint, value: alert }]);
    metrics.alerts.inc({ status: alert.status });
    log.info({ operator, ruleId: alert.ruleId, deviceId: alert.deviceId, status: alert.status }, 'operator alert');
  }

  async function lookUp(deviceId: string): Promise<DeviceRecord | undefined> {
    try {
      return await devices.get(deviceId);
    } catch (err) {
      throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['device registry', (err as Error).message], { cause: err });
    }
  }

  let feedInFlight = 0;
  /** Sends to a live feed without waiting for delivery, unless too much is on its way already. */
  const toFeed = (feed: 'readings' | 'events', topic: string, body: unknown, qos: 0 | 1): void => {
    if (feedInFlight >= MAX_FEED_IN_FLIGHT) return void metrics.feedDropped.inc({ feed });
    feedInFlight++;
    void publish(topic, body, qos).finally(() => feedInFlight--);
  };

  await refreshCity();
  const subscriptions: Subscription[] = [
    // Readings and events are handed to the broker without waiting for delivery: in the embedded
    // mode a device's PUBACK waits for every consumer of sw.readings, and a slow operator must
    // not slow down the devices. The feeds are live and carry no promise of delivery: what an
    // operator cannot take as fast as it comes is dropped (see MAX_FEED_IN_FLIGHT).
    // From the latest record: a live feed has no use for the topics' history.
    await bus.subscribe(
      'sw.readings',
      'broker-operator-readings',
      async (records) => {
        if (!operatorCount.any()) return;
        for (const { value: r } of records) toFeed('readings', operatorReadingsTopic(r.metric, r.deviceId), r, 0);
      },
      { from: 'latest' },
    ),
    await bus.subscribe(
      'sw.events',
      'broker-operator-events',
      async (records) => {
        if (!operatorCount.any()) return;
        for (const { value: e } of records) toFeed('events', operatorEventsTopic(TOPIC_LEVEL_RE.test(e.type) ? e.type : 'other', e.deviceId), e, 1);
      },
      { from: 'latest' },
    ),
    await bus.subscribe('sw.tickets', 'broker-operator-tickets', async (records) => {
      if (!operatorCount.any()) return;
      await Promise.all(
        records.map(({ value: e }) => {
          // Bounded, as every outgoing ticket message: the flow asks the API for the whole ticket.
          const body: Record<string, unknown> = { event: e.type, id: e.id, at: e.at, recipients: e.recipients, ticket: ticketView(e.ticket) };
          if (e.supervisionOrder) body.supervisionOrder = supervisionOrderView(e.supervisionOrder);
          return publish(operatorTicketsTopic(e.ticket.subcenterId), body, 1);
        }),
      );
    }, { from: 'latest' }),
  ];

  return {
    takePublish,
    refreshCity,
    operatorConnected: () => operatorCount.connected(),
    operatorDisconnected: () => operatorCount.disconnected(),
    async close() {
      await operatorCount.close();
      for (const s of subscriptions) await s.close();
    },
  };
}
