/**
 * The governance loop end to end over real sockets (MQTT devices, HTTP API, Open311), on the
 * governance test city with a controllable clock: a sensor alert and an Open311 request at one
 * place make one ticket; an A flood summons water affairs, traffic police and city management,
 * each checks in with its own token, and the ticket resolves only when all are done; a return
 * goes to the district and back; an extension is approved and the KPIs reflect it; the reporter
 * confirms the closing; C and D reports go down to the community and the grid. Once on the
 * embedded store (SQLite), once on Redis (infra/local) in a namespace of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../core/schemas.js';
import { dropNamespace, testNamespace, testServices } from '../support/backends.js';
import { ManualClock } from '../support/clock.js';
import { IN_SOUTH_COMMUNITY, IN_SOUTH_GRID, IN_TUNNEL, governanceCity } from '../support/governance.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const min = 60_000;
const hour = 60 * min;
const T0 = Date.UTC(2026, 6, 1, 1, 0);
/** In the south school zone (sub-center south, outside the communities). */
const IN_SCHOOL = { lat: 23.115, lon: 113.315 };
/** In sub-center north, outside its communities and zones. */
const IN_NORTH = { lat: 23.145, lon: 113.33 };

const services = testServices();
const stores = [
  { store: 'SQLite', env: (): Record<string, string> => ({}) },
  ...(services ? [{ store: 'Redis', env: (): Record<string, string> => ({ REDIS_URL: services.REDIS_URL, STREETWATCH_NAMESPACE: namespace }) }] : []),
];
const namespace = testNamespace();

describe.each(stores)('the governance loop on $store', ({ store, env }) => {
  const clock = new ManualClock(T0);
  let sw: TestPlatform;
  let base: string;
  let hotline: string;
  const tok: Record<string, string> = {};

  /** An Open311 POST, form-encoded as the spec has it. */
  const open311Post = async (fields: Record<string, string>): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${base}/open311/v2/requests.json`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    return { status: res.status, body: await res.json() };
  };
  const ticket = async (id: string): Promise<Ticket & { supervisionOrders: { id: string; reason: string; department?: string; issuedTo: string }[] }> => (await sw.api('GET', `/api/tickets/${id}`)).body;
  const linked = (reportId: string): Promise<string> =>
    waitFor(async () => ((await sw.api('GET', `/api/reports/${reportId}`)).body.ticket?.id as string | undefined) ?? undefined, `report ${reportId} taken into a ticket`);
  const tickets = async (token = sw.platform.adminToken): Promise<Ticket[]> => (await sw.api('GET', '/api/tickets', undefined, token)).body.tickets;

  beforeAll(async () => {
    sw = await startTestPlatform({ clock, cityDir: governanceCity(), env: env() });
    expect(sw.platform.state.constructor.name).toBe(store === 'Redis' ? 'RedisStateStore' : 'SqliteStateStore');
    base = `http://127.0.0.1:${sw.platform.httpPort}`;
    hotline = await sw.reporterKey('12345 热线');
    for (const u of ['north', 'south', 'test-district', 'south-east', 'south-east-1']) tok[u] = await sw.unitToken(u);
    for (const d of ['water-affairs', 'traffic-police', 'city-management', 'emergency-management', 'fire-rescue']) tok[d] = await sw.departmentToken(d);
  });
  afterAll(async () => {
    await sw?.stop();
    if (store === 'Redis') await dropNamespace(services!, namespace);
  });

  let flood: string;
  let floodReport: string;
  let floodConfirm: string;
  /** The reporter's answer through its confirmation link (no account). */
  const answer = (reportId: string, token: string, body: Record<string, unknown>): Promise<Response> =>
    fetch(`${base}/api/reports/${reportId}/confirm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, ...body }) });
  const linkStatus = async (reportId: string, token: string): Promise<any> => (await fetch(`${base}/api/reports/${reportId}/status?token=${encodeURIComponent(token)}`)).json();

  it('makes one ticket of a sensor alert and an Open311 request at the same place', async () => {
    const wl = await sw.connect('wl-g1', await sw.provision('wl-g1', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-g1/telemetry', JSON.stringify({ values: { water_level: 0.6 } }), { qos: 1 });
    const [opened] = await waitFor(async () => ((await tickets()).length ? tickets() : undefined), 'the flood ticket');
    flood = opened!.id;

    const posted = await open311Post({ api_key: hotline, service_code: 'flooding', lat: String(IN_TUNNEL.lat), long: String(IN_TUNNEL.lon), description: '隧道积水，有车辆熄火', address_string: '北隧道东口' });
    expect(posted.status).toBe(201);
    expect(posted.body).toEqual([{ service_request_id: expect.stringMatching(/^RP-\d{8}-[0-9A-Z]{6}$/), service_notice: '已受理 (received): 内涝积水', account_id: null, confirm_url: expect.stringMatching(/^\/#\/confirm\/RP-/) }]);
    floodReport = posted.body[0].service_request_id;
    floodConfirm = decodeURIComponent(posted.body[0].confirm_url.split('/').pop());
    expect(await linked(floodReport)).toBe(flood);

    expect((await tickets()).map((t) => t.id)).toEqual([flood]);
    const t = await ticket(flood);
    expect(t).toMatchObject({ origin: 'sensor', grade: 'A', subcenterId: 'north', alertCount: 2, devices: ['wl-g1'], reports: [{ id: floodReport, channel: 'open311', by: `reporter:${floodReport}` }] });
    expect(t.timeline.map((e) => e.action)).toContain('report');
    // The reporter follows its request through Open311 with the key that filed it.
    const followed = await fetch(`${base}/open311/v2/requests/${floodReport}.json?api_key=${hotline}`);
    expect(followed.status).toBe(200);
    expect(await followed.json()).toMatchObject([{ service_request_id: floodReport, status: 'open', service_code: 'flooding', agency_responsible: '北街道 / 应急管理', address: '北隧道东口' }]);
    // Another key sees nothing of it.
    const other = await sw.reporterKey('citizens app');
    expect((await fetch(`${base}/open311/v2/requests/${floodReport}.json?api_key=${other}`)).status).toBe(404);
  });

  it('summons water affairs, traffic police and city management under the A flood plan; each checks in with its own token; the ticket resolves only when all are done', async () => {
    let t = await ticket(flood);
    expect(t.department).toBe('emergency-management');
    expect(t.coHandlers!.map((c) => [c.department, c.status, c.checkInBy - c.summonedAt])).toEqual([
      ['water-affairs', 'summoned', 30 * min],
      ['traffic-police', 'summoned', 30 * min],
      ['city-management', 'summoned', 45 * min],
    ]);
    // Departments see the tickets they lead or join, nothing else.
    for (const d of ['water-affairs', 'traffic-police', 'city-management', 'emergency-management']) expect((await tickets(tok[d])).map((x) => x.id)).toEqual([flood]);
    expect(await tickets(tok['fire-rescue'])).toEqual([]);
    expect((await sw.api('GET', `/api/tickets/${flood}`, undefined, tok['fire-rescue'])).status).toBe(404);
    expect((await sw.api('GET', '/api/devices', undefined, tok['water-affairs'])).status).toBe(403);
    // A summoned department reads the gauge that raised its ticket, not another department.
    expect((await sw.api('GET', '/api/devices/wl-g1/readings', undefined, tok['water-affairs'])).body).toMatchObject({ deviceId: 'wl-g1' });
    expect((await sw.api('GET', '/api/devices/wl-g1/readings', undefined, tok['fire-rescue'])).status).toBe(404);

    expect((await sw.api('POST', `/api/tickets/${flood}/ack`, { note: '已组织联动' }, tok.north)).status).toBe(200);
    // Reminders 5 minutes before each check-in deadline, to the department.
    clock.set(T0 + 26 * min);
    expect(await sw.platform.timers!.runOnce()).toBe(2);
    for (const d of ['water-affairs', 'traffic-police']) {
      expect((await sw.api('POST', `/api/tickets/${flood}/co-handlers/${d}/check-in`, { note: '已到场' }, tok[d])).status).toBe(200);
    }
    // A department acts only as itself.
    expect(await sw.api('POST', `/api/tickets/${flood}/co-handlers/city-management/check-in`, {}, tok['water-affairs'])).toMatchObject({ status: 403, body: { error: { code: 'SW_ERR_FORBIDDEN' } } });
    // City management misses its check-in: escalated to the district with a supervision order
    // about it (its reminder, due at 40 min and found late, gives way to the deadline).
    clock.set(T0 + 46 * min);
    expect(await sw.platform.timers!.runOnce()).toBe(1);
    t = await ticket(flood);
    expect(t.supervisionOrders.find((o) => o.reason === 'checkin_overdue')).toMatchObject({ department: 'city-management', issuedTo: 'test-district' });
    expect((await sw.api('POST', `/api/tickets/${flood}/co-handlers/city-management/check-in`, { note: '迟到' }, tok['city-management'])).status).toBe(200);

    expect((await sw.api('POST', `/api/tickets/${flood}/co-handlers/traffic-police/feedback`, { note: '已封闭隧道，车辆绕行' }, tok['traffic-police'])).status).toBe(200);
    expect((await sw.api('POST', `/api/tickets/${flood}/checklist/close-road`, {}, tok['traffic-police'])).status).toBe(200);
    expect((await sw.api('POST', `/api/tickets/${flood}/co-handlers/water-affairs/finish`, { note: '积水已抽排' }, tok['water-affairs'])).status).toBe(200);
    expect((await sw.api('POST', `/api/tickets/${flood}/co-handlers/traffic-police/finish`, {}, tok['traffic-police'])).status).toBe(200);
    const early = await sw.api('POST', `/api/tickets/${flood}/resolve`, {}, tok['emergency-management']);
    expect(early).toMatchObject({ status: 409, body: { error: { code: 'SW_ERR_JOINT_PENDING' } } });
    expect(early.body.error.message).toContain('city-management');
    expect((await sw.api('POST', `/api/tickets/${flood}/co-handlers/city-management/finish`, { note: '淤泥已清理' }, tok['city-management'])).status).toBe(200);
    const resolved = await sw.api('POST', `/api/tickets/${flood}/resolve`, { note: '隧道恢复通行' }, tok['emergency-management']);
    expect(resolved).toMatchObject({ status: 200, body: { status: 'resolved' } });
    t = resolved.body;
    expect(t.timeline.filter((e) => e.actor.startsWith('department:')).map((e) => `${e.actor} ${e.action}`)).toEqual([
      'department:water-affairs checked_in',
      'department:traffic-police checked_in',
      'department:city-management checked_in',
      'department:traffic-police feedback',
      'department:traffic-police checklist',
      'department:water-affairs co_finished',
      'department:traffic-police co_finished',
      'department:city-management co_finished',
      'department:emergency-management resolved',
    ]);
  });

  it('has the citizen whose report joined the sensor\'s ticket rate the resolution; the sensor still confirms the closing', async () => {
    expect(await linkStatus(floodReport, floodConfirm)).toMatchObject({ status: 'resolved', ticket: { confirms: false, awaitingConfirmation: false, awaitingAnswer: true } });
    // The 12345 system relays its caller's answer with the key that filed the request.
    const rated = await fetch(`${base}/api/reports/${floodReport}/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${hotline}` },
      body: JSON.stringify({ fixed: true, satisfaction: 'satisfied', note: '隧道已通车' }),
    });
    expect(rated.status).toBe(200);
    expect(await rated.json()).toMatchObject({ ticket: { status: 'resolved', awaitingAnswer: false } });
    const t = await ticket(flood);
    expect(t).toMatchObject({ status: 'resolved', closedAt: null, ratings: [{ reportId: floodReport, fixed: true, satisfaction: 'satisfied' }] });
    expect(t.timeline.at(-1)).toMatchObject({ actor: `reporter:${floodReport}`, action: 'rated' });
    // Once per resolution.
    expect(await (await answer(floodReport, floodConfirm, { fixed: false, satisfaction: 'dissatisfied' })).json()).toMatchObject({ error: { code: 'SW_ERR_CONFIRMATION_REFUSED' } });
  });

  let school: string;
  let schoolReport: string;
  let schoolConfirm: string;

  it('lets a sensor alert join a ticket a citizen\'s report opened', async () => {
    const posted = await open311Post({ api_key: hotline, service_code: 'fire', lat: String(IN_SCHOOL.lat), long: String(IN_SCHOOL.lon), description: '学校围墙外冒烟', media_url: 'https://example.test/smoke.jpg' });
    expect(posted.status).toBe(201);
    schoolReport = posted.body[0].service_request_id;
    schoolConfirm = decodeURIComponent(posted.body[0].confirm_url.split('/').pop());
    school = await linked(schoolReport);
    const smoke = await sw.connect('sm-g1', await sw.provision('sm-g1', IN_SCHOOL, 'smoke'));
    await smoke.publishAsync('v1/devices/sm-g1/telemetry', JSON.stringify([{ ts: clock.now() - 40_000, values: { smoke: 20 } }, { ts: clock.now() - 5_000, values: { smoke: 22 } }]), { qos: 1 });
    const t = await waitFor(async () => {
      const x = await ticket(school);
      return x.devices.length > 0 ? x : undefined;
    }, 'the smoke alert on the reported ticket');
    expect(t).toMatchObject({ origin: 'report', subcenterId: 'south', zoneId: 'south-school', devices: ['sm-g1'], alertCount: 2 });
    expect((await tickets()).filter((x) => x.category === 'fire')).toHaveLength(1);
  });

  it('sends a return to the district, which sends it back with a ruling; the returner may not return it again', async () => {
    const returned = await sw.api('POST', `/api/tickets/${school}/return`, { reason: '属学校内部管理，非街道职责' }, tok.south);
    expect(returned).toMatchObject({ status: 200, body: { subcenterId: 'test-district', status: 'dispatched', returns: [{ party: 'unit:south', subcenterId: 'south', ruling: null }] } });
    expect((await sw.api('GET', `/api/tickets/${school}`, undefined, tok.south)).status).toBe(404);
    const waiting = (await sw.api('GET', '/api/decisions', undefined, tok['test-district'])).body;
    expect(waiting.returns.map((x: Ticket) => x.id)).toEqual([school]);
    // Only the district rules.
    expect((await sw.api('POST', `/api/tickets/${school}/return/ruling`, { decision: 'sent_back', note: 'x' }, tok.south)).status).toBe(404);
    const back = await sw.api('POST', `/api/tickets/${school}/return/ruling`, { decision: 'sent_back', note: '校外围墙属街道辖区，请街道处置' }, tok['test-district']);
    expect(back).toMatchObject({ status: 200, body: { subcenterId: 'south', status: 'dispatched' } });
    expect(back.body.returns[0].ruling).toMatchObject({ decision: 'sent_back', by: 'unit:test-district', subcenterId: 'south' });
    expect(await sw.api('POST', `/api/tickets/${school}/return`, { reason: '再退' }, tok.south)).toMatchObject({ status: 409, body: { error: { code: 'SW_ERR_RETURN_LIMIT' } } });
  });

  it('approves an extension, and the handling KPI judges the ticket against the deadline in force', async () => {
    const before = await ticket(school);
    expect(before.resolveBy).toBe(before.createdAt + 24 * hour);
    expect((await sw.api('POST', `/api/tickets/${school}/ack`, {}, tok.south)).status).toBe(200);
    const asked = await sw.api('POST', `/api/tickets/${school}/extension`, { resolveBy: before.resolveBy + 12 * hour, reason: '需协调学校开门排查' }, tok.south);
    expect(asked).toMatchObject({ status: 200, body: { extensions: [{ approver: 'test-district', decision: null }] } });
    expect((await sw.api('GET', '/api/decisions', undefined, tok['test-district'])).body.extensions.map((x: Ticket) => x.id)).toEqual([school]);
    expect((await sw.api('POST', `/api/tickets/${school}/extension/decision`, { approved: true }, tok.south)).status).toBe(403);
    const approved = await sw.api('POST', `/api/tickets/${school}/extension/decision`, { approved: true, note: '同意延期' }, tok['test-district']);
    expect(approved).toMatchObject({ status: 200, body: { resolveBy: before.resolveBy + 12 * hour } });

    // Resolved after the first deadline, within the extended one.
    clock.set(before.resolveBy + 2 * hour);
    await sw.platform.timers!.runOnce();
    expect((await ticket(school)).red).toBe(false);
    expect((await sw.api('POST', `/api/tickets/${school}/resolve`, { note: '已清理焚烧杂物' }, tok.south)).status).toBe(200);
  });

  it('has the reporter confirm the closing through its link; the holder cannot close it', async () => {
    expect(await sw.api('POST', `/api/tickets/${school}/close`, {}, tok.south)).toMatchObject({ status: 403, body: { error: { code: 'SW_ERR_FORBIDDEN' } } });
    const status = await fetch(`${base}/api/reports/${schoolReport}/status?token=${encodeURIComponent(schoolConfirm)}`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ id: schoolReport, status: 'resolved', categoryName: '火情烟雾', statusNote: '已清理焚烧杂物', ticket: { confirms: true, awaitingConfirmation: true } });
    const wrong = await fetch(`${base}/api/reports/${schoolReport}/confirm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'x'.repeat(32), fixed: true, satisfaction: 'satisfied' }) });
    expect(wrong.status).toBe(404);
    const confirm = await fetch(`${base}/api/reports/${schoolReport}/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: schoolConfirm, fixed: true, satisfaction: 'basically_satisfied', note: '处理及时，但回复慢' }),
    });
    expect(confirm.status).toBe(200);
    const t = await ticket(school);
    expect(t).toMatchObject({ status: 'closed', closure: { by: 'reporter', actor: `reporter:${schoolReport}` }, ratings: [{ fixed: true, satisfaction: 'basically_satisfied' }] });
    const followed = await (await fetch(`${base}/open311/v2/requests/${schoolReport}.json?api_key=${hotline}`)).json();
    expect(followed).toMatchObject([{ service_request_id: schoolReport, status: 'closed' }]);
  });

  it('reports the loop in the KPIs a district audits', async () => {
    const k = (await sw.api('GET', '/api/kpis')).body;
    expect(k.handling).toMatchObject({ closed: 1, closedOnTime: 1 });
    const g = k.governance;
    expect(g.checkIns[0]).toMatchObject({ key: null, summoned: 3, onTime: 2, late: 1, missed: 0, rate: 2 / 3 });
    expect(g.checkIns.find((r: { key: string }) => r.key === 'city-management')).toMatchObject({ late: 1, rate: 0 });
    expect(g.returns.find((r: { key: string }) => r.key === 'unit:south')).toMatchObject({ returned: 1, returns: 1, upheld: 0, rejected: 1 });
    // Water affairs co-handled the flood from its opening, under the plan's lead: it handled no ticket as the lead.
    expect(g.returns.map((r: { key: string }) => r.key)).toContain('department:emergency-management');
    expect(g.returns.map((r: { key: string }) => r.key)).not.toContain('department:water-affairs');
    expect(g.extensions).toMatchObject({ requests: 1, approved: 1, extended: 1, onTimeByExtension: 1 });
    // The school's reporter and the citizen whose report joined the flood's sensor ticket.
    expect(g.satisfaction).toMatchObject({ reported: 1, rated: 2, satisfied: 1, basicallySatisfied: 1, rate: 1, closedByReporter: 1 });
    // A department reads its own.
    const cm = (await sw.api('GET', '/api/kpis', undefined, tok['city-management'])).body;
    expect(cm.governance.checkIns.map((r: { key: string | null }) => r.key)).toEqual([null, 'city-management', 'traffic-police', 'water-affairs']);
    expect((await sw.api('GET', '/api/kpis?department=water-affairs', undefined, tok['city-management'])).status).toBe(403);
  });

  it('hands C reports down to the community and D reports to the grid; the sub-center still sees and supervises them', async () => {
    const grid = await sw.api('POST', '/api/reports', { category: 'manhole', note: '井盖缺失', location: IN_SOUTH_GRID, grade: 'D' }, tok['south-east-1']);
    expect(grid.status).toBe(201);
    clock.advance(1_000);
    const community = await sw.api('POST', '/api/reports', { category: 'fire', note: '楼道杂物冒烟', location: IN_SOUTH_COMMUNITY }, tok['south-east-1']);
    const [d, c] = [await linked(grid.body.id), await linked(community.body.id)];
    expect((await ticket(d)).subcenterId).toBe('south-east-1');
    expect((await ticket(c)).subcenterId).toBe('south-east');
    expect((await tickets(tok['south-east-1'])).map((t) => t.id)).toEqual([d]);
    expect((await tickets(tok['south-east'])).map((t) => t.id).sort()).toEqual([c, d].sort());
    expect((await tickets(tok.south)).map((t) => t.id)).toEqual(expect.arrayContaining([c, d]));
    expect((await sw.api('GET', `/api/tickets/${d}`, undefined, tok.north)).status).toBe(404);
    // The sub-center supervises: it may reassign the grid's ticket.
    expect((await sw.api('POST', `/api/tickets/${d}/reassign`, { subcenter: 'south', reason: '网格无法处理，街道接手' }, tok.south)).body).toMatchObject({ subcenterId: 'south' });
    // The grid worker follows its reports.
    expect((await sw.api('GET', '/api/reports', undefined, tok['south-east-1'])).body.reports.map((r: { id: string }) => r.id)).toEqual([community.body.id, grid.body.id]);
  });
  it('has the district re-dispatch a return to another sub-center and department, and close a reported ticket whose reporter did not answer in time', async () => {
    const filed = await sw.api('POST', '/api/reports', { category: 'manhole', note: '路面塌陷，疑似管网渗漏', location: IN_NORTH }, tok.north);
    expect(filed.status).toBe(201);
    const id = await linked(filed.body.id);
    expect(await ticket(id)).toMatchObject({ origin: 'report', subcenterId: 'north', department: 'city-management' });
    expect((await sw.api('POST', `/api/tickets/${id}/return`, { reason: '属排水管网渗漏，非城管职责' }, tok.north)).status).toBe(200);
    const ruled = await sw.api('POST', `/api/tickets/${id}/return/ruling`, { decision: 'reassigned', subcenter: 'south', department: 'water-affairs', note: '改派南街道，水务牵头' }, tok['test-district']);
    expect(ruled).toMatchObject({ status: 200, body: { subcenterId: 'south', department: 'water-affairs', status: 'dispatched' } });
    expect(ruled.body.returns.at(-1).ruling).toMatchObject({ decision: 'reassigned', by: 'unit:test-district', subcenterId: 'south', department: 'water-affairs' });
    expect((await tickets(tok.south)).map((t) => t.id)).toContain(id);
    expect((await tickets(tok['water-affairs'])).map((t) => t.id)).toContain(id);
    expect((await sw.api('GET', `/api/tickets/${id}`, undefined, tok.north)).status).toBe(404);

    // The new holder asks for more time; the district, its parent, refuses: the deadline stays.
    const due = (await ticket(id)).resolveBy;
    expect((await sw.api('POST', `/api/tickets/${id}/extension`, { resolveBy: due + 24 * hour, reason: '需停水施工' }, tok.south)).status).toBe(200);
    const refused = await sw.api('POST', `/api/tickets/${id}/extension/decision`, { approved: false, note: '请按原时限处置' }, tok['test-district']);
    expect(refused).toMatchObject({ status: 200, body: { resolveBy: due, extensions: [{ decision: { approved: false, by: 'unit:test-district' } }] } });
    expect(refused.body.timeline.at(-1)).toMatchObject({ action: 'extension_refused' });
    expect((await sw.api('POST', `/api/tickets/${id}/resolve`, { note: '管网已修复，路面回填' }, tok['water-affairs'])).status).toBe(200);
    // The reporter's time has not run out: the ticket is not the district's to see, nor to close.
    expect((await sw.api('POST', `/api/tickets/${id}/close`, {}, tok['test-district'])).status).toBe(404);
    clock.advance(72 * hour + min);
    await sw.platform.timers!.runOnce();
    expect((await sw.api('GET', '/api/decisions', undefined, tok['test-district'])).body.confirmations.map((t: Ticket) => t.id)).toEqual([id]);
    const closed = await sw.api('POST', `/api/tickets/${id}/close`, { note: '电话回访未接通' }, tok['test-district']);
    expect(closed).toMatchObject({ status: 200, body: { status: 'closed', closure: { by: 'district', actor: 'unit:test-district' } } });
    expect(closed.body.timeline.map((e: { action: string }) => e.action).slice(-2)).toEqual(['confirmation_overdue', 'closed']);

    const g = (await sw.api('GET', '/api/kpis')).body.governance;
    expect(g.returns.find((r: { key: string }) => r.key === 'unit:north')).toMatchObject({ returned: 1, returns: 1, upheld: 1, rejected: 0 });
    expect(g.satisfaction).toMatchObject({ closedByDistrict: 1 });
    expect(g.extensions).toMatchObject({ requests: 2, approved: 1, refused: 1 });
  });
});
