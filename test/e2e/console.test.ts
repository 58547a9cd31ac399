/**
 * The web console in a real browser (Debian's Chromium, driven by playwright-core) against the
 * real platform: an operator signs in, watches a ticket from a device (a real MQTT publish)
 * arrive live, acknowledges it with the keyboard and sees the status change. Screenshots go to
 * test-results/console/ for people to look at.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { REPO_ROOT } from '../../core/config.js';
import type { Ticket } from '../../core/schemas.js';
import { startTestPlatform, tempDir, type TestPlatform } from '../support/harness.js';

/** Debian's package; never a downloaded browser. */
const CHROMIUM = process.env.SW_TEST_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'console');
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };

describe('web console', () => {
  let sw: TestPlatform;
  let browser: BrowserContext;
  let page: Page;
  let base: string;
  let ticketId: string;

  /** The focused element, read in the page (a string: the root tsconfig has no DOM types). */
  const focused = (): Promise<{ id: string; text: string }> => page.evaluate('({ id: document.activeElement?.id ?? "", text: document.activeElement?.textContent ?? "" })');
  const navTo = (name: string) => page.getByRole('navigation').getByRole('link', { name }).click();
  const shot = (name: string, fullPage = false) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium) or set SW_TEST_CHROMIUM`);
    await buildConsole();
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    sw = await startTestPlatform();
    base = `http://127.0.0.1:${sw.platform.httpPort}`;
    browser = await chromium.launchPersistentContext(tempDir('chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
    });
    browser.setDefaultTimeout(20_000);
    page = browser.pages()[0] ?? (await browser.newPage());
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

  it('signs in, shows a sensor ticket the moment it is opened, and acknowledges it from the keyboard', async () => {
    await page.goto(`${base}/`);
    await shot('01-login');
    await page.getByLabel('访问令牌').fill(sw.platform.adminToken);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { level: 1, name: '工单' }).waitFor();
    await page.getByText('没有符合条件的工单。').waitFor();

    // A water-level sensor in the tunnel goes over its threshold.
    const secret = await sw.provision('wl-console-1', IN_TUNNEL, 'water_level');
    const device = await sw.connect('wl-console-1', secret);
    await device.publishAsync('v1/devices/wl-console-1/telemetry', JSON.stringify({ ts: Date.now() - 120_000, values: { water_level: 0.12 } }), { qos: 1 });
    await device.publishAsync('v1/devices/wl-console-1/telemetry', JSON.stringify({ values: { water_level: 0.45 } }), { qos: 1 });

    const row = page.locator('tr[data-ticket-id]');
    await row.waitFor();
    ticketId = (await row.getAttribute('data-ticket-id'))!;
    expect(await row.locator('.grade').textContent()).toBe('B 级');
    expect(await row.locator('.status').textContent()).toBe('已派发');
    expect(await row.locator('.countdown').first().textContent()).toMatch(/^剩余 \d\d:\d\d$/);
    await page.locator('.notices').getByText('新工单').waitFor();
    await shot('02-inbox-live-ticket');

    await row.getByRole('link').click();
    await page.locator('.ticket-badges .status', { hasText: '已派发' }).waitFor();
    await page.locator('figure.readings canvas').first().waitFor();
    expect(await page.locator('figure.readings figcaption').first().textContent()).toContain('阈值 0.3');
    await shot('03-ticket', true);

    // Keyboard only: the button, then the dialog takes the focus on its first field.
    await page.getByRole('button', { name: '签收', exact: true }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: '签收' });
    await dialog.waitFor();
    expect((await focused()).id).toBe('action-note');
    await page.keyboard.type('已派网格员到场');
    await page.keyboard.press('Tab');
    expect((await focused()).text).toBe('确认');
    await shot('04-ack-dialog');
    await page.keyboard.press('Enter');

    await page.locator('.ticket-badges .status', { hasText: '已签收' }).waitFor();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.timeline li', { hasText: '已派网格员到场' }).waitFor();
    await page.getByRole('status').filter({ hasText: '操作成功：签收' }).waitFor();
    await shot('05-ticket-acknowledged', true);

    const stored = (await sw.api('GET', `/api/tickets/${ticketId}`)).body as Ticket;
    expect(stored.status).toBe('acknowledged');
    expect(stored.timeline.at(-1)).toMatchObject({ action: 'acknowledged', actor: 'admin', note: '已派网格员到场' });

    await page.getByRole('link', { name: '返回工单列表' }).click();
    await page.locator(`tr[data-ticket-id="${ticketId}"] .status`, { hasText: '已签收' }).waitFor();
    expect(await page.locator(`tr[data-ticket-id="${ticketId}"] .deadline-met`).first().textContent()).toBe('已响应');
  });

  it('shows the server’s coded error when an action is refused', async () => {
    // The ticket is acknowledged behind the page's back: the page offers a move that is no longer allowed.
    const secret = await sw.provision('smoke-console-1', IN_SOUTH, 'smoke');
    const device = await sw.connect('smoke-console-1', secret);
    await device.publishAsync('v1/devices/smoke-console-1/telemetry', JSON.stringify({ ts: Date.now() - 60_000, values: { smoke: 12 } }), { qos: 1 });
    await device.publishAsync('v1/devices/smoke-console-1/telemetry', JSON.stringify({ ts: Date.now(), values: { smoke: 14 } }), { qos: 1 });
    const row = page.locator('tr[data-ticket-id]', { hasText: '烟雾' });
    await row.waitFor();
    const id = (await row.getAttribute('data-ticket-id'))!;
    await row.getByRole('link').click();
    await page.getByRole('button', { name: '签收', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: '签收' });
    await dialog.waitFor();
    expect((await sw.api('POST', `/api/tickets/${id}/ack`, {})).status).toBe(200);
    await dialog.getByRole('button', { name: '确认' }).click();
    const error = dialog.getByRole('alert');
    await error.waitFor();
    expect(await error.textContent()).toContain('SW_ERR_TICKET_TRANSITION');
    expect(await error.textContent()).toContain('工单状态已变化');
    await shot('06-action-refused');
    await dialog.getByRole('button', { name: '取消' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('draws the city: jurisdictions, risk zones, devices and open tickets, without a tile server', async () => {
    await navTo('地图');
    await page.locator('.leaflet-overlay-pane svg').waitFor();
    await page.locator('.jurisdiction-label', { hasText: '北街道' }).waitFor();
    await page.locator('.jurisdiction-label', { hasText: '南街道' }).waitFor();
    const count = (pane: string) => page.locator(`.leaflet-${pane}-pane path.leaflet-interactive`).count();
    await page.locator('.leaflet-sw-devices-pane path').nth(1).waitFor();
    expect(await count('overlay')).toBe(4); // 2 jurisdictions, 2 risk zones
    expect(await count('sw-tickets')).toBe(2);
    expect(await count('sw-devices')).toBe(2);
    expect(await page.locator('.leaflet-tile').count()).toBe(0);
    await shot('07-map');
  });

  it('lists devices, and provisions one whose secret is shown once and works over MQTT', async () => {
    await navTo('设备');
    await page.locator('tr[data-device-id="wl-console-1"]').waitFor();

    await page.getByLabel('设备编号', { exact: true }).fill('wl-console-1');
    await page.getByRole('button', { name: '生成设备密钥' }).click();
    const refused = page.locator('.provision [role="alert"]');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('SW_ERR_DEVICE_EXISTS');

    await page.getByLabel('设备编号', { exact: true }).fill('gas-console-9');
    await page.getByLabel('设备类型').selectOption('gas_lel');
    await page.getByLabel('纬度').fill(String(IN_SOUTH.lat));
    await page.getByLabel('经度').fill(String(IN_SOUTH.lon));
    await page.getByRole('button', { name: '生成设备密钥' }).click();
    const secret = (await page.getByTestId('device-secret').textContent())!;
    await page.locator('tr[data-device-id="gas-console-9"]').waitFor();
    await shot('08-devices-secret-once', true);

    const device = await sw.connect('gas-console-9', secret);
    expect(device.connected).toBe(true);
    await page.reload();
    await page.locator('tr[data-device-id="gas-console-9"]').waitFor();
    expect(await page.getByTestId('device-secret').count()).toBe(0);

    await page.getByRole('button', { name: '查看 wl-console-1 的读数' }).click();
    await page.locator('.readings-row canvas').first().waitFor();
  });

  it('charts response and handling timeliness per sub-center and grade', async () => {
    await navTo('考核指标');
    await page.getByRole('heading', { name: '按街道分中心' }).waitFor();
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(2);
    const north = page.locator('#by-subcenter-h ~ table tr', { hasText: '北街道' });
    expect(await north.locator('td').first().textContent()).toBe('1');
    await shot('09-kpis', true);
  });

  it('switches to English and back, and keeps the page usable from the keyboard', async () => {
    await navTo('工单');
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tickets' }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.getByLabel('Grade').selectOption('B');
    await page.locator('tr[data-ticket-id] .grade', { hasText: 'Grade B' }).first().waitFor();
    await shot('10-inbox-english');
    await page.getByRole('button', { name: '切换到中文' }).click();
    await page.getByRole('heading', { level: 1, name: '工单' }).waitFor();

    // The first Tab reaches the skip link; following it lands in the main content.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: '工单' }).waitFor();
    await page.keyboard.press('Tab');
    expect((await focused()).text).toBe('跳到主要内容');
    await page.keyboard.press('Enter');
    expect((await focused()).id).toBe('main');
  });

  it.todo('a sub-center signs in with its own token and cannot see another sub-center’s ticket');
});
