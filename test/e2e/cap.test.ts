/**
 * CAP 1.2 over real HTTP, each message validated against the OASIS CAP 1.2 XML Schema with
 * libxml2's xmllint: a grade B ticket is an Alert, its acknowledgment an Update referencing the
 * Alert, its closing a Cancel; the Atom index lists what is in force; a grade C ticket (not a
 * published grade by default) has no message.
 */
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../core/schemas.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { validateCap, xmllint } from '../support/tools.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };
const xml = new XMLParser({ parseTagValue: false, ignoreAttributes: false, isArray: (name) => ['entry', 'polygon', 'info'].includes(name) });

describe.runIf(xmllint.run)('CAP 1.2 feed', () => {
  let sw: TestPlatform;
  let base: string;
  let flood: Ticket;
  let smoke: Ticket;
  const get = async (p: string) => {
    const res = await fetch(base + p);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };

  beforeAll(async () => {
    sw = await startTestPlatform();
    base = `http://127.0.0.1:${sw.platform.httpPort}`;
    const wl = await sw.connect('wl-cap', await sw.provision('wl-cap', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-cap/telemetry', JSON.stringify({ values: { water_level: 0.9 } }), { qos: 1 });
    const sm = await sw.connect('sm-cap', await sw.provision('sm-cap', IN_SOUTH, 'smoke'));
    const now = Date.now();
    await sm.publishAsync('v1/devices/sm-cap/telemetry', JSON.stringify([{ ts: now - 40_000, values: { smoke: 20 } }, { ts: now - 5_000, values: { smoke: 25 } }]), { qos: 1 });
    const all = await waitFor(async () => {
      const list: Ticket[] = (await sw.api('GET', '/api/tickets')).body.tickets;
      return list.length === 2 ? list : undefined;
    }, 'two tickets');
    flood = all.find((t) => t.category === 'flooding')!;
    smoke = all.find((t) => t.category === 'fire')!;
    expect([flood.grade, smoke.grade]).toEqual(['B', 'C']);
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('rejects a message that breaks the schema, so the validation below means something', () => {
    const bad = `<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier><sender>s</sender><sent>2026-01-01T00:00:00Z</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>`;
    const r = validateCap(bad);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/sent/);
  });

  it('publishes a new grade B ticket as a CAP Alert that validates against the OASIS schema', async () => {
    const res = await get(`/cap/alerts/${flood.id}.xml`);
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/cap+xml; charset=utf-8');
    const v = validateCap(res.text);
    expect(v.output).toBe('- validates\n');
    expect(v.ok).toBe(true);
    const { alert } = xml.parse(res.text);
    expect(alert).toMatchObject({ msgType: 'Alert', status: 'Actual', scope: 'Public', sender: 'streetwatch.test-district', identifier: `streetwatch.test-district.${flood.id}.v1` });
    expect(alert.references).toBeUndefined();
    const [info] = alert.info;
    expect(info).toMatchObject({ language: 'zh-CN', category: 'Met', event: '内涝积水', severity: 'Severe', urgency: 'Immediate', certainty: 'Likely', senderName: '测试区指挥中心' });
    // The risk zone's outline, latitude first, closed.
    expect(info.area.areaDesc).toBe('北隧道');
    const ring = (info.area.polygon[0] as string).split(' ').map((p) => p.split(',').map(Number));
    expect(ring.length).toBeGreaterThanOrEqual(4);
    expect(ring[0]).toEqual(ring[ring.length - 1]);
    for (const [lat, lon] of ring) expect({ lat: Math.round(lat!), lon: Math.round(lon!) }).toEqual({ lat: 23, lon: 113 });
  });

  it('does not publish a grade C ticket by default', async () => {
    expect((await get(`/cap/alerts/${smoke.id}.xml`)).status).toBe(404);
    expect((await get('/cap/alerts/no-such-ticket.xml')).status).toBe(404);
  });

  it('lists what is in force in an Atom index whose links lead to valid messages', async () => {
    const res = await get('/cap/alerts.atom');
    expect(res.type).toBe('application/atom+xml; charset=utf-8');
    const { feed } = xml.parse(res.text);
    expect(feed['@_xmlns']).toBe('http://www.w3.org/2005/Atom');
    expect(feed.entry).toHaveLength(1);
    const href = feed.entry[0].link['@_href'] as string;
    expect(href).toBe(`${base}/cap/alerts/${flood.id}.xml`);
    expect(validateCap(await (await fetch(href)).text()).ok).toBe(true);
  });

  it('turns a change into an Update referencing the Alert, and the closing into a Cancel', async () => {
    await sw.api('POST', `/api/tickets/${flood.id}/ack`, { note: '已派网格员' });
    const update = await get(`/cap/alerts/${flood.id}.xml`);
    expect(validateCap(update.text).ok).toBe(true);
    const u = xml.parse(update.text).alert;
    expect(u.msgType).toBe('Update');
    expect(u.identifier).toBe(`streetwatch.test-district.${flood.id}.v2`);
    expect(u.references).toMatch(new RegExp(`^streetwatch\\.test-district,streetwatch\\.test-district\\.${flood.id}\\.v1,\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d-00:00$`));

    await sw.api('POST', `/api/tickets/${flood.id}/resolve`, { note: '已排水' });
    const resolved = xml.parse((await get(`/cap/alerts/${flood.id}.xml`)).text).alert;
    expect(resolved.info[0].urgency).toBe('Past');
    expect((await sw.api('POST', `/api/tickets/${flood.id}/close`, { note: '确认' })).status).toBe(200);

    const cancel = await get(`/cap/alerts/${flood.id}.xml`);
    const v = validateCap(cancel.text);
    expect(v.ok, v.output).toBe(true);
    const c = xml.parse(cancel.text).alert;
    expect(c.msgType).toBe('Cancel');
    expect(c.references).toBe(u.references);
    // Still listed, so that a consumer polling the index learns of the cancellation.
    const { feed } = xml.parse((await get('/cap/alerts.atom')).text);
    expect(feed.entry.map((e: { title: string }) => e.title.split(':')[0])).toEqual(['Cancel']);
  });
});
