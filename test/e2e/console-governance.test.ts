/**
 * The governance loop from the console, in Debian's Chromium, on the governance test city: a grid
 * worker reports from a phone (375 px) with a photo; a department summoned by an A flood checks
 * in and finishes from its phone; the district rules on a return and approves an extension; a
 * reporter confirms the closing through the link, without an account. Every new page passes
 * axe-core in both languages; screenshots go to test-results/console/governance/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import type { Ticket } from '../../core/schemas.js';
import { launchBrowser, screenshot, scrollsSideways, seriousViolations, type Browser } from '../support/browser.js';
import { IN_SOUTH_GRID, IN_TUNNEL, governanceCity } from '../support/governance.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const PHONE = { width: 375, height: 812 };
const IN_SCHOOL = { lat: 23.115, lon: 113.315 };

describe('the governance loop in the console', () => {
  let sw: TestPlatform;
  let browser: Browser;
  let page: Page;
  let base: string;
  const tok: Record<string, string> = {};
  let flood: string;

  const ticketOf = async (id: string): Promise<Ticket> => (await sw.api('GET', `/api/tickets/${id}`)).body;

  /** A fresh tab per sign-in: each tab keeps its own token (sessionStorage). */
  async function signIn(token: string, lang: 'zh-CN' | 'en' = 'zh-CN'): Promise<void> {
    const size = page.viewportSize();
    await page.close();
    page = await browser.context.newPage();
    if (size) await page.setViewportSize(size);
    await page.goto(`${base}/`);
    await page.evaluate(`localStorage.setItem('streetwatch.lang', '${lang}')`);
    await page.reload();
    await page.locator('#token').fill(token);
    await page.locator('.login-card button[type="submit"]').click();
    await page.locator('nav.mainnav').waitFor();
  }

  async function clean(name: string): Promise<void> {
    await screenshot(page, `governance/${name}`, true);
    expect({ page: name, violations: await seriousViolations(page) }).toEqual({ page: name, violations: [] });
  }

  /** A small real PNG, drawn by the browser itself. */
  async function photo(): Promise<Buffer> {
    const url = (await page.evaluate(`(() => { const c = document.createElement('canvas'); c.width = 64; c.height = 48; const g = c.getContext('2d'); g.fillStyle = '#3a6'; g.fillRect(0, 0, 64, 48); g.fillStyle = '#fff'; g.fillRect(8, 8, 20, 12); return c.toDataURL('image/png'); })()`)) as string;
    return Buffer.from(url.split(',')[1]!, 'base64');
  }

  beforeAll(async () => {
    await buildConsole();
    sw = await startTestPlatform({ cityDir: governanceCity() });
    base = `http://127.0.0.1:${sw.platform.httpPort}`;
    for (const u of ['north', 'south', 'test-district', 'south-east-1']) tok[u] = await sw.unitToken(u);
    for (const d of ['water-affairs', 'traffic-police', 'city-management', 'emergency-management']) tok[d] = await sw.departmentToken(d);
    const wl = await sw.connect('wl-c1', await sw.provision('wl-c1', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-c1/telemetry', JSON.stringify({ values: { water_level: 0.7 } }), { qos: 1 });
    flood = (await waitFor(async () => ((await sw.api('GET', '/api/tickets')).body.tickets as Ticket[])[0], 'the flood ticket')).id;
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await sw?.stop();
  });

  it('lets a grid worker report from a phone, with a photo, and follow the report to its ticket', async () => {
    await page.setViewportSize(PHONE);
    await signIn(tok['south-east-1']!);
    await page.goto(`${base}/#/report`);
    await page.locator('#r-category').selectOption('manhole');
    await page.locator('#r-grade').selectOption('D');
    await page.locator('#r-note').fill('井盖缺失，已设置临时围挡');
    await page.locator('#r-lat').fill(String(IN_SOUTH_GRID.lat));
    await page.locator('#r-lon').fill(String(IN_SOUTH_GRID.lon));
    await page.locator('#r-photo').setInputFiles({ name: 'manhole.png', mimeType: 'image/png', buffer: await photo() });
    await page.locator('img.report-photo').waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    const submit = page.getByRole('button', { name: '上报', exact: true });
    const box = (await submit.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    expect(box.height).toBeGreaterThanOrEqual(40);
    await screenshot(page, 'governance/phone-01-report-form', true);
    await submit.click();
    await page.locator('.report-filed').waitFor();
    const reportId = /RP-\d{8}-[0-9A-Z]{6}/.exec((await page.locator('.report-filed').textContent())!)![0];
    // The report joins the pipeline: a D ticket held by the grid, with the photo.
    const ticketId = await waitFor(async () => (await sw.api('GET', `/api/reports/${reportId}`)).body.ticket?.id as string | undefined, 'the report taken in');
    expect(await ticketOf(ticketId)).toMatchObject({ subcenterId: 'south-east-1', grade: 'D', origin: 'report' });
    await page.reload();
    await page.locator(`li[data-report-id="${reportId}"] a`, { hasText: ticketId }).waitFor();
    await page.locator(`li[data-report-id="${reportId}"] img.report-photo`).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'governance/phone-02-my-reports', true);
  });

  it('lets a summoned department check in and finish from its phone', async () => {
    await page.setViewportSize(PHONE);
    await signIn(tok['traffic-police']!);
    await page.goto(`${base}/#/joint`);
    const card = page.locator(`li.joint-card[data-ticket-id="${flood}"]`);
    await card.waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'governance/phone-03-joint', true);
    const checkIn = card.getByRole('button', { name: /^报到/ });
    expect((await checkIn.boundingBox())!.height).toBeGreaterThanOrEqual(40);
    await checkIn.click();
    await card.locator('.co-actions').getByRole('button', { name: /^完成协办/ }).waitFor();
    expect((await ticketOf(flood)).coHandlers!.find((c) => c.department === 'traffic-police')).toMatchObject({ status: 'checked_in' });

    // On the ticket's page: feedback and the checklist, then finish.
    await page.goto(`${base}/#/tickets/${flood}`);
    const row = page.locator('li.co-handler[data-department="traffic-police"]');
    await row.getByRole('button', { name: '反馈', exact: true }).click();
    await row.locator('textarea').fill('已封闭隧道两端');
    await row.getByRole('button', { name: '确认' }).click();
    await page.locator('.timeline li', { hasText: '已封闭隧道两端' }).waitFor();
    // The step's name is in a visually hidden span, which the accessible name sets apart with a space.
    await page.getByRole('button', { name: /标记完成\s*: 封闭积水路段/ }).click();
    await page.locator('.checklist li.done', { hasText: '封闭积水路段' }).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'governance/phone-04-ticket-joint', true);
    await row.getByRole('button', { name: '完成协办' }).click();
    await row.locator('.co-status', { hasText: '已完成' }).waitFor();
    expect((await ticketOf(flood)).coHandlers!.find((c) => c.department === 'traffic-police')).toMatchObject({ status: 'finished' });
  });

  it('lets the district rule on a return and approve an extension', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    // A fire report at the school (south): south returns it, then asks for more time once it is back.
    const filed = await sw.api('POST', '/api/reports', { category: 'fire', note: '围墙外冒烟', location: IN_SCHOOL }, tok.south);
    const school = await waitFor(async () => (await sw.api('GET', `/api/reports/${filed.body.id}`)).body.ticket?.id as string | undefined, 'the school ticket');
    await signIn(tok.south!);
    await page.goto(`${base}/#/tickets/${school}`);
    await page.getByRole('button', { name: '退单', exact: true }).click();
    await page.locator('textarea[id$="-return-reason"]').fill('学校围墙内由校方负责');
    await page.getByRole('button', { name: '退回区指挥中心' }).click();
    await waitFor(async () => ((await ticketOf(school)).subcenterId === 'test-district' ? true : undefined), 'the return');

    await signIn(tok['test-district']!);
    await page.goto(`${base}/#/returns`);
    const waiting = page.locator(`li.decision-card[data-ticket-id="${school}"]`);
    await waiting.waitFor();
    await clean('returns-zh');
    await waiting.locator('textarea[id$="-ruling-note"]').fill('围墙外属街道辖区，请南街道处置');
    await waiting.getByRole('button', { name: '提交裁定' }).click();
    await waitFor(async () => ((await ticketOf(school)).subcenterId === 'south' ? true : undefined), 'the ruling');

    await signIn(tok.south!);
    await page.goto(`${base}/#/tickets/${school}`);
    await page.getByRole('button', { name: '申请延期' }).click();
    await page.locator('textarea[id$="-extension-reason"]').fill('需等待校方开门排查');
    await page.getByRole('button', { name: '提交申请' }).click();
    await waitFor(async () => ((await ticketOf(school)).extensions?.length ? true : undefined), 'the request');

    await signIn(tok['test-district']!);
    await page.goto(`${base}/#/extensions`);
    const asked = page.locator(`li.decision-card[data-ticket-id="${school}"]`);
    await asked.waitFor();
    await clean('extensions-zh');
    const before = (await ticketOf(school)).resolveBy;
    await asked.getByRole('button', { name: '同意', exact: true }).click();
    await waitFor(async () => ((await ticketOf(school)).resolveBy > before ? true : undefined), 'the extension');
  });

  it('lets the reporter confirm the closing through the link, with no account', async () => {
    const hotline = await sw.reporterKey('12345 热线');
    const res = await fetch(`${base}/open311/v2/requests.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ api_key: hotline, service_code: 'fire', lat: '23.115', long: '113.305', description: '垃圾堆冒烟' }).toString(),
    });
    const [answer] = (await res.json()) as { service_request_id: string; confirm_url: string }[];
    const ticketId = await waitFor(async () => (await sw.api('GET', `/api/reports/${answer!.service_request_id}`)).body.ticket?.id as string | undefined, 'the citizen ticket');
    // A second caller reports the same smoke: the report joins the first one's ticket.
    const second = await fetch(`${base}/open311/v2/requests.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ api_key: hotline, service_code: 'fire', lat: '23.1151', long: '113.3051', description: '路边有烟' }).toString(),
    });
    const [joined] = (await second.json()) as { service_request_id: string; confirm_url: string }[];
    expect(await waitFor(async () => (await sw.api('GET', `/api/reports/${joined!.service_request_id}`)).body.ticket?.id as string | undefined, 'the joined report')).toBe(ticketId);
    const holder = (await ticketOf(ticketId)).subcenterId;
    expect((await sw.api('POST', `/api/tickets/${ticketId}/resolve`, { note: '已清理' }, await sw.unitToken(holder))).status).toBe(200);

    await page.setViewportSize(PHONE);
    await page.goto(`${base}/`);
    await page.evaluate(`localStorage.setItem('streetwatch.lang', 'zh-CN'); sessionStorage.clear()`);
    await page.goto(`${base}${answer!.confirm_url}`);
    await page.locator('form.confirm-form').waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await clean('confirm-zh');
    await page.getByLabel('已解决').check();
    await page.getByLabel('基本满意').check();
    await page.locator('#confirm-note').fill('处理及时');
    await page.getByRole('button', { name: '提交确认' }).click();
    await page.locator('.report-filed', { hasText: '谢谢' }).waitFor();
    expect(await ticketOf(ticketId)).toMatchObject({ status: 'closed', closure: { by: 'reporter' } });

    // The second caller rates the handling too, after the closing, in English; the ticket stays closed.
    await page.evaluate(`localStorage.setItem('streetwatch.lang', 'en')`);
    await page.goto(`${base}${joined!.confirm_url}`);
    await page.reload();
    await page.locator('form.confirm-form', { hasText: 'joined a ticket reported first' }).waitFor();
    await clean('confirm-joined-en');
    await page.getByLabel('No, keep working on it').check();
    await page.getByLabel('Not satisfied').check();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('.report-filed').waitFor();
    const rated = await ticketOf(ticketId);
    expect(rated).toMatchObject({ status: 'closed', closure: { by: 'reporter' } });
    expect(rated.ratings!.map((r) => [r.reportId, r.fixed, r.satisfaction])).toEqual([
      [answer!.service_request_id, true, 'basically_satisfied'],
      [joined!.service_request_id, false, 'dissatisfied'],
    ]);
  });

  for (const lang of ['zh-CN', 'en'] as const) {
    it(`has no serious accessibility violation on the governance pages, in ${lang}`, async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      await signIn(sw.platform.adminToken, lang);
      await page.goto(`${base}/#/joint`);
      await page.locator(`table.joint-table tr[data-ticket-id="${flood}"]`).waitFor();
      await clean(`${lang}/joint-overview`);
      await page.goto(`${base}/#/tickets/${flood}`);
      await page.locator('section.joint-panel li.co-handler').first().waitFor();
      await clean(`${lang}/ticket-joint`);
      await page.goto(`${base}/#/returns`);
      await page.locator('#waiting-h').waitFor();
      await clean(`${lang}/returns`);
      await page.goto(`${base}/#/extensions`);
      await page.locator('#waiting-h').waitFor();
      await clean(`${lang}/extensions`);
      await page.goto(`${base}/#/report`);
      await page.locator('#r-category').waitFor();
      await clean(`${lang}/report`);
      await page.goto(`${base}/#/kpis`);
      await page.locator('#gov-kpis-h').waitFor();
      await clean(`${lang}/kpis`);
      await signIn(tok['water-affairs']!, lang);
      await page.goto(`${base}/#/joint`);
      await page.locator(`li.joint-card[data-ticket-id="${flood}"]`).waitFor();
      await clean(`${lang}/joint-department`);
    });
  }
});
