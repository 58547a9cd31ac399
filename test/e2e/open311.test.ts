/**
 * Open311 GeoReport v2 (read-only) over real HTTP: discovery, services (public) and requests
 * (list and by id), in JSON and XML, checked against the spec's field lists; api_key scopes a
 * unit to its tickets, and a refusal names the credential that was used.
 */
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../core/schemas.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };
/** GeoReport v2 GET requests: the fields this API promises on every request. */
const REQUEST_FIELDS = ['service_request_id', 'status', 'status_notes', 'service_name', 'service_code', 'agency_responsible', 'requested_datetime', 'updated_datetime', 'expected_datetime', 'lat', 'long'];
/** GeoReport v2 GET services: the fields of a service. */
const SERVICE_FIELDS = ['service_code', 'service_name', 'description', 'metadata', 'type', 'keywords', 'group'];
const W3_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const xml = new XMLParser({ parseTagValue: false, isArray: (name) => ['request', 'service', 'error'].includes(name) });

describe('Open311 GeoReport v2', () => {
  let sw: TestPlatform;
  let north: string;
  let northTicket: Ticket;
  let southTicket: Ticket;
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${sw.platform.httpPort}/open311/v2${path}`);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };

  beforeAll(async () => {
    sw = await startTestPlatform();
    north = await sw.unitToken('north');
    const wl = await sw.connect('wl-o1', await sw.provision('wl-o1', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-o1/telemetry', JSON.stringify({ values: { water_level: 0.9 } }), { qos: 1 });
    const smoke = await sw.connect('sm-o1', await sw.provision('sm-o1', IN_SOUTH, 'smoke'));
    const now = Date.now();
    await smoke.publishAsync('v1/devices/sm-o1/telemetry', JSON.stringify([{ ts: now - 40_000, values: { smoke: 20 } }, { ts: now - 5_000, values: { smoke: 25 } }]), { qos: 1 });
    const all = await waitFor(async () => {
      const list: Ticket[] = (await sw.api('GET', '/api/tickets')).body.tickets;
      return list.length === 2 ? list : undefined;
    }, 'two tickets');
    northTicket = all.find((t) => t.subcenterId === 'north')!;
    southTicket = all.find((t) => t.subcenterId === 'south')!;
    await sw.api('POST', `/api/tickets/${northTicket.id}/ack`, { note: '已派网格员' }, north);
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('lists services in JSON and XML with the spec\'s fields', async () => {
    const json = await get('/services.json');
    expect(json.type).toBe('application/json; charset=utf-8');
    const services = JSON.parse(json.text) as Record<string, unknown>[];
    expect(services.map((s) => s.service_code)).toEqual(['fire', 'flooding']);
    for (const s of services) expect(Object.keys(s).sort()).toEqual([...SERVICE_FIELDS].sort());
    expect(services[1]).toMatchObject({ service_code: 'flooding', service_name: '内涝积水', metadata: false, type: 'realtime', group: '水务' });

    const x = await get('/services.xml');
    expect(x.type).toBe('text/xml; charset=utf-8');
    expect(x.text.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    const doc = xml.parse(x.text);
    expect(doc.services.service.map((s: Record<string, string>) => s.service_code)).toEqual(['fire', 'flooding']);
    for (const s of doc.services.service) expect(Object.keys(s).sort()).toEqual([...SERVICE_FIELDS].sort());
  });

  it('lists a unit\'s requests only, with every field of the spec', async () => {
    const json = await get(`/requests.json?api_key=${north}`);
    expect(json.status).toBe(200);
    const requests = JSON.parse(json.text) as Record<string, unknown>[];
    expect(requests.map((r) => r.service_request_id)).toEqual([northTicket.id]);
    const r = requests[0]!;
    for (const f of REQUEST_FIELDS) expect(r).toHaveProperty(f);
    expect(r).toMatchObject({
      status: 'open',
      status_notes: '已签收 (acknowledged): 已派网格员',
      service_code: 'flooding',
      service_name: '内涝积水',
      agency_responsible: '北街道 / 水务',
      lat: IN_TUNNEL.lat,
      long: IN_TUNNEL.lon,
      address: '北隧道, 北街道',
    });
    for (const f of ['requested_datetime', 'updated_datetime', 'expected_datetime']) expect(r[f]).toMatch(W3_UTC);
    expect(Date.parse(r.expected_datetime as string)).toBe(Math.floor(northTicket.resolveBy / 1000) * 1000);

    const x = xml.parse((await get(`/requests.xml?api_key=${north}`)).text);
    expect(x.service_requests.request).toHaveLength(1);
    for (const f of REQUEST_FIELDS) expect(x.service_requests.request[0]).toHaveProperty(f);
    expect(x.service_requests.request[0]).toMatchObject({ service_request_id: northTicket.id, status: 'open', long: String(IN_TUNNEL.lon) });

    // The admin token sees both; filters by status and service code; closed ones show as closed.
    const all = JSON.parse((await get(`/requests.json?api_key=${sw.platform.adminToken}&status=open&service_code=fire`)).text);
    expect(all.map((q: { service_request_id: string }) => q.service_request_id)).toEqual([southTicket.id]);
    expect(JSON.parse((await get(`/requests.json?api_key=${north}&status=closed`)).text)).toEqual([]);
  });

  it('gets one request by id in both formats; another unit\'s is 404', async () => {
    const one = JSON.parse((await get(`/requests/${northTicket.id}.json?api_key=${north}`)).text);
    expect(one).toHaveLength(1);
    expect(one[0].service_request_id).toBe(northTicket.id);
    const x = xml.parse((await get(`/requests/${northTicket.id}.xml?api_key=${north}`)).text);
    expect(x.service_requests.request[0].service_request_id).toBe(northTicket.id);
    const hidden = await get(`/requests/${southTicket.id}.json?api_key=${north}`);
    expect(hidden.status).toBe(404);
    expect(JSON.parse(hidden.text)).toEqual([{ code: 404, description: expect.stringContaining('SW_ERR_NOT_FOUND') }]);
    // service_request_id in the list overrides the other arguments, still within the unit's view.
    expect(JSON.parse((await get(`/requests.json?api_key=${north}&service_request_id=${northTicket.id},${southTicket.id}&status=closed`)).text).map((q: { service_request_id: string }) => q.service_request_id)).toEqual([northTicket.id]);
  });

  it('answers errors the spec\'s way: 403 for a missing or wrong api_key, 400 for bad arguments, in the asked format', async () => {
    const missing = await get('/requests.xml');
    expect(missing.status).toBe(403);
    expect(xml.parse(missing.text).errors.error[0]).toEqual({ code: '403', description: expect.stringMatching(/^SW_ERR_API_KEY_INVALID: a valid api_key is required/) });
    expect((await get(`/requests.json?api_key=${north}&start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z`)).status).toBe(400);
    expect((await get(`/requests.json?api_key=${north}&jurisdiction_id=elsewhere.gov`)).status).toBe(404);
    expect((await get(`/requests.json?api_key=${north}&jurisdiction_id=test-district&status=`)).status).toBe(200);
    expect((await get(`/requests.csv?api_key=${north}`)).status).toBe(400);
    expect((await get(`/tokens.json?api_key=${north}`)).status).toBe(404);
  });

  it('names the credential that was used in a refusal: api_key for an api_key, bearer for a bearer token', async () => {
    const wrongKey = await get('/requests.json?api_key=swu_wrong');
    expect(wrongKey.status).toBe(403);
    const [keyError] = JSON.parse(wrongKey.text) as { code: number; description: string }[];
    expect(keyError).toEqual({ code: 403, description: expect.stringMatching(/^SW_ERR_API_KEY_INVALID: a valid api_key is required/) });
    expect(keyError!.description).not.toMatch(/bearer/i);

    const wrongBearer = await fetch(`http://127.0.0.1:${sw.platform.httpPort}/open311/v2/requests.json`, { headers: { authorization: 'Bearer swu_wrong' } });
    expect(wrongBearer.status).toBe(403);
    expect(await wrongBearer.json()).toEqual([{ code: 403, description: expect.stringMatching(/^SW_ERR_UNAUTHORIZED: a valid bearer token is required/) }]);
  });

  it('lists services without a key, as the spec has them public; a key sent anyway is not looked at', async () => {
    for (const path of ['/services.json', '/services.json?api_key=swu_wrong', '/services.json?api_key=']) {
      const res = await get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect((JSON.parse(res.text) as { service_code: string }[]).map((s) => s.service_code)).toEqual(['fire', 'flooding']);
    }
    expect((await get('/services.xml')).status).toBe(200);
    // Requests stay keyed.
    expect((await get('/requests.json')).status).toBe(403);
  });

  it('serves the discovery document in JSON and XML', async () => {
    const base = `http://127.0.0.1:${sw.platform.httpPort}`;
    const json = await fetch(`${base}/open311/discovery.json`);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const doc = (await json.json()) as { changeset: string; contact: string; key_service: string; endpoints: Record<string, unknown>[] };
    expect(doc.changeset).toMatch(W3_UTC);
    expect(doc.key_service).toMatch(/api_key/);
    expect(doc.endpoints).toEqual([
      { specification: 'http://wiki.open311.org/GeoReport_v2', url: `${base}/open311/v2`, changeset: doc.changeset, type: 'production', formats: ['text/xml', 'application/json'] },
    ]);
    // The endpoint it names answers.
    expect((await fetch(`${doc.endpoints[0]!.url as string}/services.json`)).status).toBe(200);

    const x = await fetch(`${base}/open311/discovery.xml`);
    expect(x.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    const parsed = new XMLParser({ parseTagValue: false, isArray: (name) => ['endpoint', 'format'].includes(name) }).parse(await x.text());
    expect(parsed.discovery.endpoints.endpoint[0]).toEqual({ specification: 'http://wiki.open311.org/GeoReport_v2', url: `${base}/open311/v2`, changeset: doc.changeset, type: 'production', formats: { format: ['text/xml', 'application/json'] } });
  });
});
