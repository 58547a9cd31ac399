/**
 * Every page of the console checked as a real page, in both languages: axe-core (run inside
 * Debian's Chromium) finds no serious or critical accessibility violation, and a screenshot of
 * each is kept in test-results/console/pages/. Then the pages a grid worker uses, on a phone
 * 375 px wide: nothing wider than the screen, every action within reach, acknowledging works.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import type { Ticket } from '../../core/schemas.js';
import { launchBrowser, screenshot, scrollsSideways, seriousViolations, type Browser } from '../support/browser.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const PHONE = { width: 375, height: 812 };
const LANGS = ['zh-CN', 'en'] as const;

describe('the console’s pages, checked like real pages', () => {
  let sw: TestPlatform;
  let browser: Browser;
  let page: Page;
  let base: string;
  let ticketId: string;
  let display: string;
  let north: string;

  beforeAll(async () => {
    await buildConsole();
    sw = await startTestPlatform();
    base = `http://127.0.0.1:${sw.platform.httpPort}`;
    const wl = await sw.connect('wl-pages-1', await sw.provision('wl-pages-1', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-pages-1/telemetry', JSON.stringify({ ts: Date.now() - 5 * 60_000, values: { water_level: 0.1 } }), { qos: 1 });
    await wl.publishAsync('v1/devices/wl-pages-1/telemetry', JSON.stringify({ ts: Date.now() - 2 * 60_000, values: { water_level: 0.42 } }), { qos: 1 });
    ticketId = (await waitFor(async () => ((await sw.api('GET', '/api/tickets')).body.tickets as Ticket[])[0], 'a ticket')).id;
    display = (await sw.api('POST', '/api/tokens', { unit: 'test-district', kind: 'display' })).body.token;
    north = await sw.unitToken('north');
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await sw?.stop();
  });

  async function inLanguage(lang: (typeof LANGS)[number]): Promise<void> {
    await page.evaluate(`localStorage.setItem('streetwatch.lang', '${lang}')`);
  }

  async function check(name: string, lang: string, ready: () => Promise<unknown>): Promise<void> {
    await ready();
    await screenshot(page, `pages/${lang}/${name}`, true);
    expect({ page: name, lang, violations: await seriousViolations(page) }).toEqual({ page: name, lang, violations: [] });
  }

  for (const lang of LANGS) {
    it(`has no serious accessibility violation on any page, in ${lang}`, async () => {
      await page.goto(`${base}/`);
      await inLanguage(lang);
      await page.evaluate('sessionStorage.clear()');
      await page.reload();
      await check('01-login', lang, () => page.locator('#token').waitFor());

      await page.locator('#token').fill(sw.platform.adminToken);
      await page.locator('.login-card button[type="submit"]').click();
      await check('02-inbox', lang, () => page.locator(`tr[data-ticket-id="${ticketId}"]`).waitFor());
      await page.goto(`${base}/#/tickets/${ticketId}`);
      await check('03-ticket', lang, () => page.locator('figure.readings canvas').first().waitFor());
      await page.goto(`${base}/#/map`);
      await check('04-map', lang, () => page.locator('.leaflet-sw-tickets-pane path').first().waitFor());
      await page.goto(`${base}/#/kpis`);
      await check('05-kpis', lang, () => page.locator('#by-subcenter-h ~ table tr').nth(1).waitFor());
      await page.goto(`${base}/#/devices`);
      await check('06-devices', lang, async () => {
        await page.locator('tr[data-device-id="wl-pages-1"]').waitFor();
        // The administrator's storage figures: the embedded databases, by name.
        await page.locator('section.storage th', { hasText: 'readings.db' }).waitFor();
      });
      await page.goto(`${base}/#/tokens`);
      await check('07-tokens', lang, () => page.locator('#t-kind').waitFor());

      await page.goto(`${base}/#/wall?display=${encodeURIComponent(display)}`);
      await check('08-wall', lang, () => page.locator('[data-grade="B"] dd', { hasText: '1' }).waitFor());
      await page.evaluate(`localStorage.removeItem('streetwatch.display')`);
    });
  }

  it('works on a grid worker’s phone (375 px): the inbox and the ticket fit, every action is in reach', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${base}/`);
    await inLanguage('zh-CN');
    await page.evaluate('sessionStorage.clear()');
    await page.reload();
    await page.locator('#token').fill(north);
    await page.locator('.login-card button[type="submit"]').click();
    const row = page.locator(`tr[data-ticket-id="${ticketId}"]`);
    await row.waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'phone/01-inbox', true);

    await row.getByRole('link').click();
    await page.locator('figure.readings canvas').first().waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    const buttons = page.locator('.action-buttons button');
    expect(await buttons.count()).toBeGreaterThanOrEqual(4);
    for (const b of await buttons.all()) {
      const box = (await b.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
      expect(box.height).toBeGreaterThanOrEqual(40);
    }
    await screenshot(page, 'phone/02-ticket', true);

    await page.getByRole('button', { name: '反馈', exact: true }).click();
    const feedback = page.getByRole('dialog', { name: '反馈' });
    await feedback.locator('textarea').fill('网格员已到场，正在抽水');
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'phone/03-feedback-dialog');
    await feedback.getByRole('button', { name: '确认' }).click();
    await page.locator('.timeline li', { hasText: '网格员已到场' }).waitFor();

    await page.getByRole('button', { name: '签收', exact: true }).click();
    await page.getByRole('dialog', { name: '签收' }).getByRole('button', { name: '确认' }).click();
    await page.locator('.ticket-badges .status', { hasText: '已签收' }).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    expect((await sw.api('GET', `/api/tickets/${ticketId}`)).body.status).toBe('acknowledged');
  });
});
