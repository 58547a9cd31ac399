/**
 * OASIS Common Alerting Protocol 1.2, pure: a ticket of a chosen grade as a CAP `<alert>`, and an
 * Atom index of the alerts in force. The message of a ticket is derived from the ticket as it
 * stands, so it is the same on every node and every request:
 *
 * - version 1 of an open ticket is an `Alert`; a later version is an `Update` that references
 *   the `Alert` (CAP 1.2 §3.2.1 `references`: "sender,identifier,sent" of earlier messages);
 * - a closed ticket is a `Cancel` referencing the `Alert`, listed for a while after closing so
 *   that consumers see it.
 *
 * The mapping of grade and category to CAP's severity, urgency, certainty and category is the
 * table in docs/TICKETS.md ("CAP 1.2").
 */
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { XMLBuilder } from 'fast-xml-parser';
import type { CityIndex } from '../core/city-index.js';
import type { Grade, Ticket } from '../core/schemas.js';
import { unitById } from '../core/tickets/units.js';

export const CAP_NAMESPACE = 'urn:oasis:names:tc:emergency:cap:1.2';
export const CAP_CONTENT_TYPE = 'application/cap+xml; charset=utf-8';
export const ATOM_CONTENT_TYPE = 'application/atom+xml; charset=utf-8';

/** Radius of the circle drawn around a ticket that has a location but no risk zone: one street block. */
export const DEFAULT_CAP_CIRCLE_KM = 0.5;

export type CapSeverity = 'Extreme' | 'Severe' | 'Moderate' | 'Minor';
export type CapUrgency = 'Immediate' | 'Expected' | 'Future' | 'Past';
export type CapCertainty = 'Observed' | 'Likely' | 'Possible';
export type CapCategory = 'Geo' | 'Met' | 'Safety' | 'Security' | 'Rescue' | 'Fire' | 'Health' | 'Env' | 'Transport' | 'Infra' | 'CBRNE' | 'Other';

/**
 * Grade → severity: A (district-level joint handling) is an extraordinary threat, D (the grid can
 * handle it) a minor one; the four grades line up with the four levels of China's early-warning
 * colours (red, orange, yellow, blue) the way CAP's severities do.
 */
export const CAP_SEVERITY: Readonly<Record<Grade, CapSeverity>> = { A: 'Extreme', B: 'Severe', C: 'Moderate', D: 'Minor' };

/**
 * Category → CAP category, by the words of the category id (first match wins); a category that
 * matches none is `Other`.
 */
export const CAP_CATEGORY_WORDS: readonly [RegExp, CapCategory][] = [
  [/flood|water|rain|storm|typhoon/, 'Met'],
  [/landslide|subsid|collapse|earthquake/, 'Geo'],
  [/fire|smoke/, 'Fire'],
  [/gas|chemical|hazmat|leak/, 'CBRNE'],
  [/crowd|stampede/, 'Safety'],
  [/intrusion|security|theft/, 'Security'],
  [/parking|traffic|road|transport/, 'Transport'],
  [/manhole|pipe|bridge|device|power|infra/, 'Infra'],
  [/air|noise|pollution|quality/, 'Env'],
  [/health|epidemic|disease/, 'Health'],
];

export function capCategory(category: string): CapCategory {
  return CAP_CATEGORY_WORDS.find(([re]) => re.test(category))?.[1] ?? 'Other';
}

/**
 * Urgency from the ticket's state: resolved (handled, waiting for confirmation) is `Past`; an open
 * ticket of grade A or B calls for action now, C and D within the hour of their deadlines.
 */
export function capUrgency(t: Pick<Ticket, 'status' | 'grade'>): CapUrgency {
  if (t.status === 'resolved' || t.status === 'closed') return 'Past';
  return t.grade === 'A' || t.grade === 'B' ? 'Immediate' : 'Expected';
}

/** Certainty from the evidence: corroborated (two firings or two devices) is `Observed`, a single firing `Likely`. */
export function capCertainty(t: Pick<Ticket, 'alertCount' | 'firings' | 'devices'>): CapCertainty {
  return (t.firings ?? t.alertCount) >= 2 || t.devices.length >= 2 ? 'Observed' : 'Likely';
}

/** CAP 1.2 §3.3.2: date-times with a numeric offset; UTC is written `-00:00`, never `Z`, no fractions. */
export function capTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '-00:00');
}

export interface CapOptions {
  /** CAP `sender`: globally unique, without spaces, commas, `<` or `&`. */
  sender: string;
  /** Where the message of a ticket is served, for the Atom index (an absolute URL). */
  alertUrl: (ticketId: string) => string;
}

/** The identifier of a ticket's message at one version (no spaces, commas, `<` or `&`). */
export function capIdentifier(opts: Pick<CapOptions, 'sender'>, ticketId: string, version: number): string {
  return `${opts.sender}.${ticketId}.v${version}`;
}

type MsgType = 'Alert' | 'Update' | 'Cancel';

export function capMsgType(t: Pick<Ticket, 'status' | 'version'>): MsgType {
  if (t.status === 'closed') return 'Cancel';
  return t.version === 1 ? 'Alert' : 'Update';
}

/** When the message of this version was sent: the ticket's creation for the Alert, its last change after. */
function sentAt(t: Ticket): number {
  return t.version === 1 ? t.createdAt : t.updatedAt;
}

/** A ring as CAP writes it: "lat,lon" pairs separated by spaces, first and last the same. */
function capRing(ring: readonly Position[]): string {
  const pairs = ring.map(([lon, lat]) => `${round(lat!)},${round(lon!)}`);
  if (pairs[0] !== pairs[pairs.length - 1]) pairs.push(pairs[0]!);
  return pairs.join(' ');
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/** Outer rings of a polygon or multipolygon (CAP polygons have no holes). */
function outerRings(g: Polygon | MultiPolygon): Position[][] {
  return g.type === 'Polygon' ? [g.coordinates[0]!] : g.coordinates.map((p) => p[0]!);
}

interface CapArea {
  areaDesc: string;
  polygon?: string[];
  circle?: string;
}

/** The risk zone's outline; else a circle around the ticket's location; else the holder's jurisdiction. */
export function capArea(t: Ticket, index: CityIndex): CapArea {
  const zone = t.zoneId ? index.zoneById.get(t.zoneId) : undefined;
  const unit = unitById(index, t.subcenterId);
  if (zone) return { areaDesc: zone.name, polygon: outerRings(zone.geometry).map(capRing) };
  if (t.location) return { areaDesc: unit?.name ?? t.subcenterId, circle: `${round(t.location.lat)},${round(t.location.lon)} ${DEFAULT_CAP_CIRCLE_KM}` };
  const sub = index.subcenterById.get(t.subcenterId);
  if (sub) return { areaDesc: sub.name, polygon: outerRings(sub.geometry).map(capRing) };
  return { areaDesc: unit?.name ?? index.city.district.name };
}

const builder = new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true });

/** The CAP `<alert>` of a ticket as it stands. */
export function capAlert(t: Ticket, index: CityIndex, opts: Pick<CapOptions, 'sender'>): string {
  const { city } = index;
  const category = city.categories.get(t.category);
  const msgType = capMsgType(t);
  const first = `${opts.sender},${capIdentifier(opts, t.id, 1)},${capTime(t.createdAt)}`;
  const unit = unitById(index, t.subcenterId);
  const description = [
    `${t.grade} 级 · ${category?.name ?? t.category} · ${unit?.name ?? t.subcenterId}`,
    `${t.alertCount} 次预警, ${t.devices.length} 个设备${t.red ? ', 已超时' : ''}`,
    `处置时限 ${capTime(t.resolveBy)}`,
  ].join('\n');
  const alert = {
    '@_xmlns': CAP_NAMESPACE,
    identifier: capIdentifier(opts, t.id, t.version),
    sender: opts.sender,
    sent: capTime(sentAt(t)),
    status: 'Actual',
    msgType,
    scope: 'Public',
    ...(msgType === 'Alert' ? {} : { references: first }),
    incidents: t.id,
    info: {
      language: 'zh-CN',
      category: capCategory(t.category),
      event: category?.name ?? t.category,
      urgency: capUrgency(t),
      severity: CAP_SEVERITY[t.grade],
      certainty: capCertainty(t),
      eventCode: [
        { valueName: 'streetwatch:grade', value: t.grade },
        { valueName: 'streetwatch:category', value: t.category },
      ],
      effective: capTime(t.createdAt),
      ...(msgType === 'Cancel' ? {} : { expires: capTime(t.resolveBy) }),
      senderName: city.district.name,
      headline: msgType === 'Cancel' ? `已解除: ${t.title}`.slice(0, 160) : t.title.slice(0, 160),
      description,
      parameter: [
        { valueName: 'streetwatch:status', value: t.status },
        { valueName: 'streetwatch:holder', value: t.subcenterId },
      ],
      area: capArea(t, index),
    },
  };
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, alert }) as string;
}

/** One line of the index. */
export interface CapEntry {
  ticket: Ticket;
}

/**
 * The Atom (RFC 4287) index of the messages in force: one entry per ticket, linking to its CAP
 * message, the way CAP feeds are usually published.
 */
export function capAtomIndex(tickets: readonly Ticket[], index: CityIndex, opts: CapOptions, selfUrl: string, now: number): string {
  const { city } = index;
  const entries = tickets.map((t) => ({
    id: `urn:${capIdentifier(opts, t.id, t.version)}`,
    title: `${capMsgType(t)}: ${t.title}`,
    updated: new Date(sentAt(t)).toISOString(),
    link: { '@_rel': 'alternate', '@_type': 'application/cap+xml', '@_href': opts.alertUrl(t.id) },
    summary: `${t.grade} 级 · ${city.categories.get(t.category)?.name ?? t.category} · ${CAP_SEVERITY[t.grade]}`,
  }));
  const feed = {
    '@_xmlns': 'http://www.w3.org/2005/Atom',
    id: `urn:${opts.sender}.cap`,
    title: `${city.name} 预警 (CAP 1.2)`,
    updated: new Date(tickets.reduce((m, t) => Math.max(m, sentAt(t)), now)).toISOString(),
    author: { name: city.district.name },
    link: { '@_rel': 'self', '@_type': 'application/atom+xml', '@_href': selfUrl },
    entry: entries,
  };
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, feed }) as string;
}
