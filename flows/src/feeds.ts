/**
 * The input nodes' logic: which feed topic to subscribe to for the filters a node was given,
 * and which of the messages arriving there pass the filters the topic cannot express.
 */
import { zoneMatches } from '../../core/zone-selector.js';
import { DEVICE_ID_RE, ENTITY_ID_RE, METRIC_RE, TICKET_EVENT_TYPES, type CameraEvent, type Reading, type TicketEventType } from '../../core/schemas.js';
import { operatorEventsTopic, operatorReadingsTopic, operatorTicketsTopic } from '../../core/topics.js';
import type { CityView } from './city-view.js';
import { parseZoneSelector, type GeofenceSettingsInput } from './geofence.js';
import type { ZoneSelector } from '../../core/rules.js';

/** What the editor gives for a readings or camera-events node; empty means any. */
export interface FeedFilterInput extends GeofenceSettingsInput {
  /** readings: the metric; camera events: the event type. */
  kindOf?: string;
  device?: string;
}

export interface FeedFilter {
  topic: string;
  /** Only messages inside a zone the selector accepts pass; undefined lets all through. */
  zones: ZoneSelector | undefined;
}

function oneLevel(what: string, value: string | undefined, re: RegExp): string {
  const v = value?.trim() ?? '';
  if (v === '') return '+';
  if (!re.test(v)) throw new Error(`${what} ${JSON.stringify(v)} must match ${re.source}`);
  return v;
}

/** The topic and zone filter of a readings node: metric and device in the topic, zones here. */
export function readingsFilter(input: FeedFilterInput): FeedFilter {
  return { topic: operatorReadingsTopic(oneLevel('metric', input.kindOf, METRIC_RE), oneLevel('device', input.device, DEVICE_ID_RE)), zones: parseZoneSelector(input) };
}

/** The topic and zone filter of a camera-events node: event type and device in the topic. */
export function eventsFilter(input: FeedFilterInput): FeedFilter {
  return { topic: operatorEventsTopic(oneLevel('event type', input.kindOf, /^[A-Za-z0-9_.-]{1,64}$/), oneLevel('device', input.device, DEVICE_ID_RE)), zones: parseZoneSelector(input) };
}

/** Whether a reading or event lies in a zone the filter accepts (always, without a zone filter). */
export function inZones(city: CityView | undefined, item: Pick<Reading | CameraEvent, 'zoneIds'>, zones: ZoneSelector | undefined): boolean {
  if (!zones) return true;
  if (!city) return false;
  return city.zonesOf(item.zoneIds ?? []).some((z) => zoneMatches(z, zones));
}

export interface TicketFilterInput {
  /** The holding unit's id; empty for every unit. */
  unit?: string;
  /** Comma list of event types (`ticket.created, ticket.overdue`); empty for all. */
  events?: string;
}

export interface TicketFilter {
  topic: string;
  events: ReadonlySet<TicketEventType> | undefined;
}

export function ticketsFilter(input: TicketFilterInput): TicketFilter {
  const topic = operatorTicketsTopic(oneLevel('unit', input.unit, ENTITY_ID_RE));
  const list = (input.events ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of list) {
    if (!(TICKET_EVENT_TYPES as readonly string[]).includes(e)) throw new Error(`unknown ticket event ${JSON.stringify(e)}, expected some of ${TICKET_EVENT_TYPES.join(', ')}`);
  }
  return { topic, events: list.length > 0 ? new Set(list as TicketEventType[]) : undefined };
}
