/**
 * Open311 GeoReport v2, read-only, pure: the city's alert categories as services, tickets as
 * service requests, the discovery document, and each as JSON or XML the way the spec lays them
 * out (XML schemaless, without namespace; JSON the same fields in an array).
 */
import { XMLBuilder } from 'fast-xml-parser';
import { unitById } from '../core/tickets/units.js';
import type { CityIndex } from '../core/city-index.js';
import type { Open311Discovery, Open311Request, Open311Service } from '../core/api-schemas.js';
import type { ReportRecord } from '../core/ports.js';
import type { Ticket, TicketStatus } from '../core/schemas.js';

export type Open311Format = 'json' | 'xml';

/** Status words of the Chinese interface, for status_notes. */
const STATUS_ZH: Readonly<Record<TicketStatus, string>> = {
  dispatched: '已派发',
  acknowledged: '已签收',
  in_progress: '处置中',
  resolved: '已办结',
  closed: '已结案',
  reopened: '已重启',
};

/** The spec limits descriptions to 4,000 characters. */
const DESCRIPTION_MAX = 4000;

/** W3C date-time in UTC, as the spec requires (`2010-01-01T00:00:00Z`). */
function w3(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Every category the city names, and any a rule uses without naming it. */
export function open311Services(index: CityIndex): Open311Service[] {
  const { categories, departments, rules } = index.city;
  const codes = new Set([...categories.keys(), ...rules.map((r) => r.category)]);
  return [...codes].sort().map((code) => {
    const c = categories.get(code);
    const dept = c ? departments.get(c.department) : undefined;
    return {
      service_code: code,
      service_name: c?.name ?? code,
      description: c?.description ?? c?.name ?? code,
      metadata: false,
      // A ticket has its id the moment a sensor opens it (nothing is submitted through this read-only API).
      type: 'realtime',
      keywords: [code, c?.department, dept?.name].filter(Boolean).join(', '),
      group: dept?.name ?? c?.department ?? 'other',
    };
  });
}

export function open311Request(ticket: Ticket, index: CityIndex): Open311Request {
  const category = index.city.categories.get(ticket.category);
  const unit = unitById(index, ticket.subcenterId);
  const dept = index.city.departments.get(ticket.department);
  const zone = ticket.zoneId ? index.zoneById.get(ticket.zoneId) : undefined;
  const last = [...ticket.timeline].reverse().find((e) => e.note !== undefined);
  const description = `${ticket.title}. ${ticket.grade} 级, ${ticket.alertCount} 次预警, ${ticket.devices.length} 个设备${ticket.red ? ', 已超时' : ''}.`;
  return {
    service_request_id: ticket.id,
    status: ticket.status === 'closed' ? 'closed' : 'open',
    status_notes: `${STATUS_ZH[ticket.status]} (${ticket.status})${last ? `: ${last.note}` : ''}`,
    service_name: category?.name ?? ticket.category,
    service_code: ticket.category,
    description: description.slice(0, DESCRIPTION_MAX),
    agency_responsible: `${unit?.name ?? ticket.subcenterId} / ${dept?.name ?? ticket.department}`,
    requested_datetime: w3(ticket.createdAt),
    // For a closed request the spec wants the closing date here.
    updated_datetime: w3(ticket.closedAt ?? ticket.updatedAt),
    expected_datetime: w3(ticket.resolveBy),
    address: [zone?.name, unit?.name].filter(Boolean).join(', ') || null,
    lat: ticket.location?.lat ?? null,
    long: ticket.location?.lon ?? null,
  };
}

/**
 * A people's report as a service request: its own id, and the status of the ticket it joined
 * (`open` with a "received" note until alerting has taken it in). The reporter follows it here.
 */
export function open311ReportRequest(report: ReportRecord, ticket: Ticket | undefined, index: CityIndex): Open311Request {
  const category = index.city.categories.get(report.category);
  const base: Open311Request = {
    service_request_id: report.id,
    status: 'open',
    status_notes: '已受理 (received): waiting to be taken into a ticket',
    service_name: category?.name ?? report.category,
    service_code: report.category,
    description: report.note.slice(0, DESCRIPTION_MAX),
    agency_responsible: '',
    requested_datetime: w3(report.createdAt),
    updated_datetime: w3(report.createdAt),
    expected_datetime: '',
    address: report.address,
    lat: report.location.lat,
    long: report.location.lon,
  };
  if (!ticket) return base;
  const t = open311Request(ticket, index);
  return { ...base, status: t.status, status_notes: `${t.status_notes} [${ticket.id}]`, agency_responsible: t.agency_responsible, updated_datetime: t.updated_datetime, expected_datetime: t.expected_datetime };
}

const builder = new XMLBuilder({ ignoreAttributes: false, format: false, suppressEmptyNode: false });

/**
 * Serializes a list under the spec's root and item elements (`services`/`service`,
 * `service_requests`/`request`, `errors`/`error`). XML starts with the declaration with
 * encoding="UTF-8", as the spec requires.
 */
export function open311Body(format: Open311Format, root: string, item: string, list: readonly object[]): string {
  if (format === 'json') return JSON.stringify(list);
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, [root]: { [item]: list } }) as string;
}

export const OPEN311_CONTENT_TYPE: Readonly<Record<Open311Format, string>> = {
  json: 'application/json; charset=utf-8',
  xml: 'text/xml; charset=utf-8',
};

/** The GeoReport v2 specification an endpoint follows, as discovery documents name it. */
export const GEOREPORT_V2_SPEC = 'http://wiki.open311.org/GeoReport_v2';
/** When this endpoint's contract last changed (discovery's `changeset`): the services became public. */
export const OPEN311_CHANGESET = '2026-12-01T00:00:00Z';

/**
 * Service discovery: one production endpoint, at `baseUrl` (`…/open311/v2`), in both formats.
 * `key_service` says how to get the key that requests need (services need none).
 */
export function open311Discovery(index: CityIndex, baseUrl: string): Open311Discovery {
  const { city } = index;
  return {
    changeset: OPEN311_CHANGESET,
    contact: `${city.district.name} (${city.name})`,
    key_service: 'services need no key; requests need an api_key: a unit token, issued by the district administrator (POST /api/tokens)',
    endpoints: [{ specification: GEOREPORT_V2_SPEC, url: baseUrl, changeset: OPEN311_CHANGESET, type: 'production', formats: ['text/xml', 'application/json'] }],
  };
}

/** The discovery document in JSON or XML (`<discovery>` with `<endpoints><endpoint>` and `<formats><format>`). */
export function open311DiscoveryBody(format: Open311Format, d: Open311Discovery): string {
  if (format === 'json') return JSON.stringify(d);
  const endpoint = d.endpoints.map((e) => ({ ...e, formats: { format: e.formats } }));
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, discovery: { ...d, endpoints: { endpoint } } }) as string;
}
