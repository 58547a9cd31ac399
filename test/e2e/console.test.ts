/**
 * The web console in a real browser (Debian's Chromium, driven by playwright-core) against the
 * real platform: the admin issues sub-center tokens; a sub-center signs in, watches a ticket
 * from a device (a real MQTT publish) arrive over the event stream, acknowledges it with the
 * keyboard and sees the status change; another sub-center cannot see it. Screenshots go to
 * test-results/console/ for people to look at.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, CONSOLE_DIST } from '../../console/build.js';
import type { Ticket } from '../../core/schemas.js';
import { launchBrowser, screenshot, type Browser } from '../support/browser.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
/** In the north jurisdiction, outside every risk zone. */
const IN_NORTH = { lat: 23.135, lon: 113.335 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };

describe('web console', () => {
  let sw: TestPlatform;
  let browser: Browser;
  let base: string;
  /** One tab per operator: each tab keeps its own sign-in (sessionStorage). */
  let admin: Page;
  let north: Page;
  let south: Page;
  const tokens = new Map<string, string>();
  let tunnelTicket: string;

  const shot = (page: Page, name: string, fullPage = false) => screenshot(page, name, fullPage);
  const navTo = (page: Page, name: string) => page.getByRole('navigation').getByRole('link', { name }).click();
  /** The focused element, read in the page (a string: the root tsconfig has no DOM types). */
  const focused = (page: Page): Promise<{ id: string; text: string }> =>
    page.evaluate('({ id: document.activeElement?.id ?? "", text: document.activeElement?.textContent ?? "" })');

  async function signIn(page: Page, token: string): Promise<void> {
    await page.bringToFront();
    await page.goto(`${base}/`);
    await page.getByLabel('访问令牌').fill(token);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { level: 1, name: '工单' }).waitFor();
  }

  beforeAll(async () => {
    await buildConsole();
    sw = await startTestPlatform();
    base = `http://127.0.0.1:${sw.platform.httpPort}`;
    browser = await launchBrowser();
    admin = browser.context.pages()[0] ?? (await browser.context.newPage());
    north = await browser.context.newPage();
    south = await browser.context.newPage();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await sw?.stop();
  });

  it('serves the built console without a token, with a content security policy', async () => {
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await index.text())?.[1];
    const asset = await fetch(`${base}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    expect((await asset.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`${base}/api/tickets`)).status).toBe(401);
  });

  it('stays lean: what a browser loads is under 500 KB gzipped', () => {
    let gzipped = 0;
    for (const f of fs.readdirSync(CONSOLE_DIST, { recursive: true }) as string[]) {
      if (/\.(js|css|html)$/.test(f)) gzipped += zlib.gzipSync(fs.readFileSync(path.join(CONSOLE_DIST, f)), { level: 9 }).length;
    }
    expect(gzipped).toBeGreaterThan(50 * 1024);
    expect(gzipped).toBeLessThan(500 * 1024);
  });

  it('lets the admin issue a token to each sub-center, shown once', async () => {
    await admin.goto(`${base}/`);
    await shot(admin, '01-login');
    await signIn(admin, sw.platform.adminToken);
    await navTo(admin, '访问令牌');
    for (const [unit, name] of [
      ['north', '北街道'],
      ['south', '南街道'],
    ]) {
      await admin.getByLabel('单位').selectOption(unit!);
      await admin.getByRole('button', { name: '签发', exact: true }).click();
      const shown = admin.locator(`[data-testid="unit-token"][data-unit="${unit}"]`);
      await shown.waitFor();
      tokens.set(unit!, (await shown.textContent())!);
      await admin.getByRole('row', { name: new RegExp(`^${name}`) }).first().waitFor();
    }
    await shot(admin, '02-tokens');
    expect((await sw.api('GET', '/api/console/config', undefined, tokens.get('north'))).body.principal).toEqual({ role: 'unit', unitId: 'north', level: 'subcenter' });
  });

  it('shows a sub-center its sensor’s ticket the moment it opens, and lets it acknowledge from the keyboard', async () => {
    await signIn(north, tokens.get('north')!);
    await north.locator('.topbar .who', { hasText: '北街道' }).waitFor();
    await north.locator('.live-stream', { hasText: '实时推送' }).waitFor();
    expect(await north.getByRole('navigation').getByRole('link', { name: '设备' }).count()).toBe(0);
    await north.getByText('没有符合条件的工单。').waitFor();

    // A water-level sensor in the tunnel goes over its threshold.
    const secret = await sw.provision('wl-console-1', IN_TUNNEL, 'water_level');
    const device = await sw.connect('wl-console-1', secret);
    await device.publishAsync('v1/devices/wl-console-1/telemetry', JSON.stringify({ ts: Date.now() - 120_000, values: { water_level: 0.12 } }), { qos: 1 });
    await device.publishAsync('v1/devices/wl-console-1/telemetry', JSON.stringify({ values: { water_level: 0.45 } }), { qos: 1 });

    const row = north.locator('tr[data-ticket-id]');
    await row.waitFor();
    tunnelTicket = (await row.getAttribute('data-ticket-id'))!;
    expect(await row.locator('.grade').textContent()).toBe('B 级');
    expect(await row.locator('.status').textContent()).toBe('已派发');
    expect(await row.locator('.countdown').first().textContent()).toMatch(/^剩余 \d\d:\d\d$/);
    await north.locator('.notices').getByText('新工单').waitFor();
    await shot(north, '03-inbox-live-ticket');

    await row.getByRole('link').click();
    await north.locator('.ticket-badges .status', { hasText: '已派发' }).waitFor();
    await north.locator('figure.readings canvas').first().waitFor();
    expect(await north.locator('figure.readings figcaption').first().textContent()).toContain('阈值 0.3');
    await shot(north, '04-ticket', true);

    // Keyboard only: the button, then the dialog takes the focus on its first field.
    await north.getByRole('button', { name: '签收', exact: true }).focus();
    await north.keyboard.press('Enter');
    const dialog = north.getByRole('dialog', { name: '签收' });
    await dialog.waitFor();
    expect((await focused(north)).id).toBe('action-note');
    await north.keyboard.type('已派网格员到场');
    await north.keyboard.press('Tab');
    expect((await focused(north)).text).toBe('确认');
    await shot(north, '05-ack-dialog');
    await north.keyboard.press('Enter');

    await north.locator('.ticket-badges .status', { hasText: '已签收' }).waitFor();
    await dialog.waitFor({ state: 'detached' });
    await north.locator('.timeline li', { hasText: '已派网格员到场' }).getByText('北街道').waitFor();
    await north.getByRole('status').filter({ hasText: '操作成功：签收' }).waitFor();
    await shot(north, '06-ticket-acknowledged', true);

    const stored = (await sw.api('GET', `/api/tickets/${tunnelTicket}`)).body as Ticket;
    expect(stored.status).toBe('acknowledged');
    expect(stored.timeline.at(-1)).toMatchObject({ action: 'acknowledged', actor: 'unit:north', note: '已派网格员到场' });

    await north.getByRole('link', { name: '返回工单列表' }).click();
    await north.locator(`tr[data-ticket-id="${tunnelTicket}"] .status`, { hasText: '已签收' }).waitFor();
    expect(await north.locator(`tr[data-ticket-id="${tunnelTicket}"] .deadline-met`).first().textContent()).toBe('已响应');
  });

  it('keeps another sub-center out: not in its inbox, not at its address', async () => {
    await signIn(south, tokens.get('south')!);
    await south.getByText('没有符合条件的工单。').waitFor();
    await south.goto(`${base}/#/tickets/${tunnelTicket}`);
    const refused = south.getByRole('alert');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('SW_ERR_NOT_FOUND');
    expect(await refused.textContent()).toContain('找不到对象，或无权查看');
    await shot(south, '07-other-subcenter-refused');
    await navTo(south, '工单');
    await south.getByText('没有符合条件的工单。').waitFor();
    await north.bringToFront();
  });

  it('shows the server’s coded error when an action is refused, and the ticket as it now is', async () => {
    const secret = await sw.provision('smoke-console-1', IN_NORTH, 'smoke');
    const device = await sw.connect('smoke-console-1', secret);
    await device.publishAsync('v1/devices/smoke-console-1/telemetry', JSON.stringify({ ts: Date.now() - 60_000, values: { smoke: 12 } }), { qos: 1 });
    await device.publishAsync('v1/devices/smoke-console-1/telemetry', JSON.stringify({ ts: Date.now(), values: { smoke: 14 } }), { qos: 1 });
    const row = north.locator('tr[data-ticket-id]', { hasText: '烟雾' });
    await row.waitFor();
    const id = (await row.getAttribute('data-ticket-id'))!;
    await row.getByRole('link').click();
    await north.getByRole('button', { name: '签收', exact: true }).click();
    const dialog = north.getByRole('dialog', { name: '签收' });
    await dialog.waitFor();
    // Someone else acknowledges it first.
    expect((await sw.api('POST', `/api/tickets/${id}/ack`, { note: '区指挥中心已签收' })).status).toBe(200);
    await dialog.getByRole('button', { name: '确认' }).click();
    const error = dialog.getByRole('alert');
    await error.waitFor();
    expect(await error.textContent()).toContain('SW_ERR_TICKET_TRANSITION');
    expect(await error.textContent()).toContain('工单状态已变化');
    await north.locator('.ticket-badges .status', { hasText: '已签收' }).waitFor();
    await shot(north, '08-action-refused');
    await dialog.getByRole('button', { name: '取消' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('reassigns a ticket to another sub-center, which sees it arrive and the first no longer holds', async () => {
    await north.getByRole('button', { name: '改派', exact: true }).click();
    const dialog = north.getByRole('dialog', { name: '改派' });
    await dialog.getByLabel('改派给').selectOption('south');
    await dialog.getByLabel('改派原因（必填）').fill('位置在两街交界，由南街道处置');
    await dialog.getByRole('button', { name: '确认' }).click();
    await dialog.waitFor({ state: 'detached' });

    const arrived = south.locator('tr[data-ticket-id]', { hasText: '烟雾' });
    await arrived.waitFor();
    expect(await arrived.locator('.status').textContent()).toBe('已派发');
    // The first sub-center is back at its inbox, which no longer lists it.
    await north.getByRole('heading', { level: 1, name: '工单' }).waitFor();
    await north.locator(`tr[data-ticket-id="${tunnelTicket}"]`).waitFor();
    await north.locator('tr[data-ticket-id]', { hasText: '烟雾' }).waitFor({ state: 'detached' });
    expect(await north.locator('tr[data-ticket-id]').count()).toBe(1);
    await shot(south, '09-reassigned-arrives');
  });

  it('draws the city: jurisdictions, risk zones, devices and open tickets, without a tile server', async () => {
    await admin.bringToFront();
    await navTo(admin, '地图');
    await admin.locator('.jurisdiction-label', { hasText: '北街道' }).waitFor();
    await admin.locator('.jurisdiction-label', { hasText: '南街道' }).waitFor();
    const count = (pane: string) => admin.locator(`.leaflet-${pane}-pane path.leaflet-interactive`).count();
    await admin.locator('.leaflet-sw-devices-pane path').nth(1).waitFor();
    await admin.locator('.leaflet-sw-tickets-pane path').nth(1).waitFor();
    expect(await count('overlay')).toBe(4); // 2 jurisdictions, 2 risk zones
    expect(await count('sw-tickets')).toBe(2);
    expect(await count('sw-devices')).toBe(2);
    expect(await admin.locator('.leaflet-tile').count()).toBe(0);
    await shot(admin, '10-map');
  });

  it('lists devices, and provisions one whose secret is shown once and works over MQTT', async () => {
    await navTo(admin, '设备');
    await admin.locator('tr[data-device-id="wl-console-1"]').waitFor();

    await admin.getByLabel('设备编号', { exact: true }).fill('wl-console-1');
    await admin.getByRole('button', { name: '生成设备密钥' }).click();
    const refused = admin.locator('.provision [role="alert"]');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('SW_ERR_DEVICE_EXISTS');

    await admin.getByLabel('设备编号', { exact: true }).fill('gas-console-9');
    await admin.getByLabel('设备类型').selectOption('gas_lel');
    await admin.getByLabel('纬度').fill(String(IN_SOUTH.lat));
    await admin.getByLabel('经度').fill(String(IN_SOUTH.lon));
    await admin.getByRole('button', { name: '生成设备密钥' }).click();
    const secret = (await admin.getByTestId('device-secret').textContent())!;
    await admin.locator('tr[data-device-id="gas-console-9"]').waitFor();
    await shot(admin, '11-devices-secret-once', true);

    const device = await sw.connect('gas-console-9', secret);
    expect(device.connected).toBe(true);
    await admin.reload();
    await admin.locator('tr[data-device-id="gas-console-9"]').waitFor();
    expect(await admin.getByTestId('device-secret').count()).toBe(0);

    await admin.getByRole('button', { name: '查看 wl-console-1 的读数' }).click();
    await admin.locator('.readings-row canvas').first().waitFor();

    // A device's refusals, what it got on its errors topic, under its readings.
    await device.publishAsync('v1/devices/gas-console-9/telemetry', '{"values":', { qos: 1 });
    await waitFor(async () => ((await sw.platform.state.deviceErrors.recent('gas-console-9')).length > 0 ? true : undefined), 'the refusal kept');
    await admin.getByRole('button', { name: '查看 gas-console-9 的读数' }).click();
    const refusals = admin.locator('tr.readings-row .device-errors').filter({ hasText: 'SW_ERR_PAYLOAD_JSON' });
    await refusals.waitFor();
    expect(await refusals.getByRole('heading').textContent()).toBe('最近被拒绝的上报');
    expect(await refusals.locator('code', { hasText: 'v1/devices/gas-console-9/telemetry' }).count()).toBe(1);
    await shot(admin, '11b-device-refusals', true);
  });

  it('charts response and handling timeliness per sub-center and grade', async () => {
    await navTo(admin, '考核指标');
    await admin.getByRole('heading', { name: '按街道分中心' }).waitFor();
    const bySubcenter = admin.locator('#by-subcenter-h ~ table');
    await bySubcenter.locator('tr', { hasText: '南街道' }).waitFor();
    expect(await bySubcenter.locator('tr', { hasText: '北街道' }).locator('td').first().textContent()).toBe('1');
    expect(await admin.locator('.chart canvas').count()).toBeGreaterThanOrEqual(2);
    await shot(admin, '12-kpis', true);

    // A unit sees its own figures only.
    await south.bringToFront();
    await navTo(south, '考核指标');
    await south.locator('#by-subcenter-h ~ table tr', { hasText: '南街道' }).waitFor();
    expect(await south.locator('#by-subcenter-h ~ table tr', { hasText: '北街道' }).count()).toBe(0);
  });

  it('switches to English and back, and keeps the page usable from the keyboard', async () => {
    await admin.bringToFront();
    await navTo(admin, '工单');
    await admin.getByRole('button', { name: 'Switch to English' }).click();
    await admin.getByRole('heading', { level: 1, name: 'Tickets' }).waitFor();
    expect(await admin.locator('html').getAttribute('lang')).toBe('en');
    await admin.getByLabel('Grade').selectOption('B');
    await admin.locator('tr[data-ticket-id] .grade', { hasText: 'Grade B' }).first().waitFor();
    await shot(admin, '13-inbox-english');
    await admin.getByRole('button', { name: '切换到中文' }).click();
    await admin.getByRole('heading', { level: 1, name: '工单' }).waitFor();

    // The first Tab reaches the skip link; following it lands in the main content.
    await admin.reload();
    await admin.getByRole('heading', { level: 1, name: '工单' }).waitFor();
    await admin.keyboard.press('Tab');
    expect((await focused(admin)).text).toBe('跳到主要内容');
    await admin.keyboard.press('Enter');
    expect((await focused(admin)).id).toBe('main');
  });
});
