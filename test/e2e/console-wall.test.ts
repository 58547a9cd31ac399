/**
 * A duty officer's day in a real browser (Debian's Chromium), once on the offline schematic and
 * once on a tile source the city configures (a GCJ-02 street map over XYZ with subdomains, and a
 * WGS-84 image map over WMTS with its annotation layer, served by a local tile server): the wall
 * watches the district with a display token and no sign-in; an A ticket opens from a real MQTT
 * publish; the wall and the holder's console sound the alarm; the officer opens the ticket, sees
 * why it fired, and acknowledges it, which ends the alarm everywhere. With tiles, the wall then
 * lives through a platform restart and a network cut without a reload.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { CHIME_REPEAT_MS } from '../../console/src/alarms.js';
import { projector } from '../../console/src/projection.js';
import { alarmSignals, launchBrowser, screenshot, watchAlarmSignals, type Browser } from '../support/browser.js';
import { FIXTURE_CITY, startTestPlatform, tempDir, type TestPlatform } from '../support/harness.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startTileServer, type TileServer } from '../support/tile-server.js';

const IN_NORTH = { lat: 23.135, lon: 113.335 };
const IN_SOUTH = { lat: 23.115, lon: 113.335 };
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const WALL = { width: 1920, height: 1080 };

/** The fixture city with a grade A rule, and, given a tile server, its base maps. */
function cityDir(tilePort: number | undefined): string {
  const dir = tempDir('city');
  for (const f of fs.readdirSync(FIXTURE_CITY)) fs.copyFileSync(path.join(FIXTURE_CITY, f), path.join(dir, f));
  fs.appendFileSync(
    path.join(dir, 'rules.yaml'),
    ['  - id: gas-leak', '    name: 燃气泄漏', '    metric: gas_lel', '    above: 25', '    grade: A', '    category: fire', '    department: fire-rescue', ''].join('\n'),
  );
  if (tilePort !== undefined) {
    const t = `127.0.0.1:${tilePort}`;
    fs.appendFileSync(
      path.join(dir, 'city.yaml'),
      [
        'basemap:',
        '  minZoom: 10',
        '  maxZoom: 18',
        '  bases:',
        '    - id: street',
        '      name: 街道图',
        '      crs: gcj02',
        '      layers:',
        `        - { type: xyz, url: "http://{s}.localhost:${tilePort}/street/{z}/{x}/{y}.png", subdomains: [a, b], attribution: 测试街道图 }`,
        '    - id: image',
        '      name: 影像',
        '      layers:',
        `        - { type: wmts, url: "http://${t}/img_w/wmts?tk=test-key", layer: img, tileMatrixSet: w, format: tiles, attribution: 测试影像 }`,
        `        - { type: wmts, url: "http://${t}/cia_w/wmts?tk=test-key", layer: cia, tileMatrixSet: w, format: tiles, opacity: 0.3 }`,
        '',
      ].join('\n'),
    );
  }
  return dir;
}

/** Web Mercator pixels at zoom z (EPSG:3857, 256-pixel tiles). */
function mercator(lat: number, lon: number, z: number): [number, number] {
  const size = 256 * 2 ** z;
  const φ = (lat * Math.PI) / 180;
  return [((lon + 180) / 360) * size, ((1 - Math.asinh(Math.tan(φ)) / Math.PI) / 2) * size];
}

async function centre(page: Page, selector: string): Promise<[number, number]> {
  const box = (await page.locator(selector).first().boundingBox())!;
  return [box.x + box.width / 2, box.y + box.height / 2];
}

for (const tiles of [false, true]) {
  describe(`a duty officer's day, ${tiles ? 'on a configured tile source' : 'on the offline schematic'}`, () => {
    let tileServer: TileServer | undefined;
    let sw: TestPlatform;
    let proxy: TcpProxy;
    let browser: Browser;
    let wall: Page;
    let officer: Page;
    let city: string;
    let dataDir: string;
    let httpPort: number;
    let aTicket: string;
    const variant = tiles ? 'tiles' : 'offline';

    beforeAll(async () => {
      await buildConsole();
      tileServer = tiles ? await startTileServer() : undefined;
      city = cityDir(tileServer?.port);
      dataDir = tempDir('data');
      sw = await startTestPlatform({ cityDir: city, dataDir });
      httpPort = sw.platform.httpPort!;
      // The wall reaches the platform through a line the test can cut.
      proxy = await startTcpProxy({ host: '127.0.0.1', port: httpPort });
      browser = await launchBrowser({ viewport: WALL });
      await watchAlarmSignals(browser.context);
      wall = browser.context.pages()[0] ?? (await browser.context.newPage());
      officer = await browser.context.newPage();
      await officer.setViewportSize({ width: 1280, height: 800 });
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      await proxy?.close();
      await sw?.stop();
      await tileServer?.close();
    });

    it('opens the wall with a display token from its address: no sign-in, the token off the address bar', async () => {
      const display = (await sw.api('POST', '/api/tokens', { unit: 'test-district', kind: 'display', label: '大屏' })).body.token as string;
      await wall.goto(`http://127.0.0.1:${proxy.port}/#/wall?display=${encodeURIComponent(display)}`);
      await wall.locator('.wall-header').waitFor();
      await wall.locator('[data-live="stream"]').waitFor();
      expect(wall.url()).toMatch(/#\/wall$/);
      expect(await wall.getByLabel('访问令牌').count()).toBe(0);
      expect(await wall.locator('.wall-city').textContent()).toBe('Test city');
      await wall.locator('.jurisdiction-label', { hasText: '北街道' }).waitFor();
      if (tiles) {
        await wall.locator('.sw-tiles-street .leaflet-tile-loaded').first().waitFor();
        expect(await wall.locator('.city-map').getAttribute('data-crs')).toBe('gcj02');
        const street = tileServer!.requests.filter((r) => r.path.startsWith('/street/'));
        expect(new Set(street.map((r) => r.host.split('.')[0]))).toEqual(new Set(['a', 'b']));
        expect(street[0]!.path).toMatch(/^\/street\/1[0-8]\/\d+\/\d+\.png$/);
        expect(await wall.locator('.leaflet-control-attribution').textContent()).toContain('测试街道图');
      } else {
        expect(await wall.locator('.leaflet-tile').count()).toBe(0);
        expect(await wall.locator('.city-map').getAttribute('data-crs')).toBe('schematic');
      }
      // Nothing to act on: no ticket links, no buttons but the screen's own.
      expect(await wall.locator('.wall a[href^="#/tickets/"]').count()).toBe(0);
    });

    it('sounds the alarm on the wall and in the holder’s console when an A ticket opens', async () => {
      const north = (await sw.api('POST', '/api/tokens', { unit: 'north' })).body.token as string;
      await officer.goto(`http://127.0.0.1:${httpPort}/`);
      await officer.getByLabel('访问令牌').fill(north);
      await officer.getByRole('button', { name: '登录' }).click();
      await officer.getByRole('heading', { level: 1, name: '工单' }).waitFor();
      await browser.context.grantPermissions(['notifications'], { origin: `http://127.0.0.1:${httpPort}` });
      // Sound and notifications are the officer's choice, made with a click.
      await officer.getByRole('button', { name: '声音提醒：关' }).click();
      await officer.getByRole('button', { name: '声音提醒：开' }).waitFor();
      await officer.getByRole('button', { name: '开启桌面通知' }).click();
      await officer.getByRole('button', { name: '桌面通知：已开启' }).waitFor();

      const gas = await sw.connect('gas-n1', await sw.provision('gas-n1', IN_NORTH, 'gas_lel'));
      await gas.publishAsync('v1/devices/gas-n1/telemetry', JSON.stringify({ ts: Date.now() - 10 * 60_000, values: { gas_lel: 4 } }), { qos: 1 });
      await gas.publishAsync('v1/devices/gas-n1/telemetry', JSON.stringify({ ts: Date.now() - 4 * 60_000, values: { gas_lel: 38 } }), { qos: 1 });
      await gas.publishAsync('v1/devices/gas-n1/telemetry', JSON.stringify({ values: { gas_lel: 41 } }), { qos: 1 });

      // The wall: the A count, the banner, the marker, the alert at the top of the list.
      await wall.locator('[data-grade="A"] dd', { hasText: '1' }).waitFor();
      await wall.locator('.alarm[data-alarm="new"]', { hasText: '新 A 级工单' }).waitFor();
      await wall.locator('.sw-ticket-A').waitFor();
      expect(await wall.locator('.wall-alerts li').first().textContent()).toContain('gas-n1');
      expect(await wall.locator('[data-tile="new-today"] dd').textContent()).toBe('1');
      await screenshot(wall, `wall-${variant}-zh-CN`);

      // The holder: banner, chimes that repeat, one notification.
      const alarm = officer.locator('.alarm[data-alarm="new"]');
      await alarm.waitFor();
      aTicket = (await alarm.getAttribute('data-ticket-id'))!;
      expect(await alarm.textContent()).toContain('签收后停止报警');
      await expect.poll(async () => (await alarmSignals(officer)).notifications.map((n) => n.title), { timeout: 10_000 }).toContain('新 A 级工单：燃气泄漏 · gas-n1');
      const first = (await alarmSignals(officer)).oscillators;
      expect(first).toBeGreaterThan(0);
      // The chime repeats while the alarm lasts (checked once: it takes a repeat interval).
      if (!tiles) await expect.poll(async () => (await alarmSignals(officer)).oscillators, { timeout: 3 * CHIME_REPEAT_MS }).toBeGreaterThan(first);
      await screenshot(officer, `alarm-${variant}`);
    });

    it('opens the ticket from the alarm and shows why it fired: readings, threshold, firing period, the alert on the map', async () => {
      await officer.locator('.alarm[data-alarm="new"] a').click();
      await officer.locator('.ticket-badges .grade', { hasText: 'A 级' }).waitFor();
      const caption = officer.locator('figure.readings figcaption').first();
      await caption.waitFor();
      expect(await caption.textContent()).toMatch(/gas-n1 .*3 个读数，最高 41，阈值 25.*预警期间/);
      await officer.locator('figure.readings canvas').first().waitFor();
      await officer.locator('.city-map-inset .sw-alert-firing').waitFor();
      expect(await officer.locator('.city-map-inset .alert-label').textContent()).toContain('gas-n1');
      await officer.locator('.timeline li', { hasText: '生成工单' }).waitFor();
      await screenshot(officer, `ticket-story-${variant}`, true);
    });

    it('ends the alarm everywhere when the holder acknowledges the ticket', async () => {
      await officer.getByRole('button', { name: '签收', exact: true }).click();
      const dialog = officer.getByRole('dialog', { name: '签收' });
      await dialog.getByRole('button', { name: '确认' }).click();
      await officer.locator('.ticket-badges .status', { hasText: '已签收' }).waitFor();
      await officer.locator('.alarm-banner').waitFor({ state: 'detached' });
      await wall.locator('.alarm-banner').waitFor({ state: 'detached' });
      // Still open, and still on the wall: acknowledged is not resolved.
      expect(await wall.locator('[data-grade="A"] dd').textContent()).toBe('1');
      if (!tiles) {
        // And silent: no chime in longer than the repeat interval.
        const after = (await alarmSignals(officer)).oscillators;
        await new Promise((r) => setTimeout(r, CHIME_REPEAT_MS + 1_000));
        expect((await alarmSignals(officer)).oscillators).toBe(after);
      }
    });

    if (!tiles) return;

    it('shifts the data onto the GCJ-02 grid on the GCJ-02 base map, not on the WGS-84 one', async () => {
      await officer.getByRole('navigation').getByRole('link', { name: '地图' }).click();
      const marker = `.leaflet-sw-tickets-pane path.sw-ticket`;
      await officer.locator(marker).waitFor();
      await officer.locator('.sw-tiles-street .leaflet-tile-loaded').first().waitFor();
      expect(await officer.locator('.city-map').getAttribute('data-crs')).toBe('gcj02');
      const onGcj = await centre(officer, marker);
      await officer.getByRole('radio', { name: '影像' }).check();
      await officer.locator('.city-map[data-crs="wgs84"]').waitFor();
      await officer.locator('.sw-tiles-image .leaflet-tile-loaded').first().waitFor();
      await expect.poll(async () => (await centre(officer, marker))[0]).not.toBe(onGcj[0]);
      const onWgs = await centre(officer, marker);
      // Where the tile pyramid and its scale say the offset should land on screen.
      const tile = officer.locator('.sw-tiles-image img.leaflet-tile-loaded').first();
      const z = Number(new URL((await tile.getAttribute('src'))!).searchParams.get('TILEMATRIX'));
      const scale = (await tile.boundingBox())!.width / 256;
      const [glat, glon] = projector('gcj02')(IN_NORTH.lat, IN_NORTH.lon);
      const [gx, gy] = mercator(glat, glon, z);
      const [wx, wy] = mercator(IN_NORTH.lat, IN_NORTH.lon, z);
      expect(Math.abs(onGcj[0] - onWgs[0] - (gx - wx) * scale)).toBeLessThan(2);
      expect(Math.abs(onGcj[1] - onWgs[1] - (gy - wy) * scale)).toBeLessThan(2);
      expect(Math.hypot(onGcj[0] - onWgs[0], onGcj[1] - onWgs[1])).toBeGreaterThan(5);
      const wmts = tileServer!.requests.find((r) => r.path === '/img_w/wmts')!;
      expect(Object.fromEntries(wmts.query)).toMatchObject({ tk: 'test-key', SERVICE: 'WMTS', REQUEST: 'GetTile', LAYER: 'img', TILEMATRIXSET: 'w', FORMAT: 'tiles' });
      expect(tileServer!.requests.some((r) => r.path === '/cia_w/wmts' && r.query.get('LAYER') === 'cia')).toBe(true);
      await screenshot(officer, 'map-image-base');
    });

    it('lives through a platform restart under the open page, without a reload', async () => {
      await wall.evaluate('window.__sameDocument = true');
      await sw.stop();
      await wall.locator('.wall-stale').waitFor();
      await screenshot(wall, 'wall-platform-down');
      sw = await startTestPlatform({ cityDir: city, dataDir, env: { HTTP_PORT: String(httpPort) } });
      await wall.locator('.wall-stale').waitFor({ state: 'detached', timeout: 30_000 });
      await wall.locator('[data-live="stream"]').waitFor();
      // A ticket after the restart arrives live.
      const wl = await sw.connect('wl-t1', await sw.provision('wl-t1', IN_TUNNEL, 'water_level'));
      await wl.publishAsync('v1/devices/wl-t1/telemetry', JSON.stringify({ values: { water_level: 0.5 } }), { qos: 1 });
      await wall.locator('[data-grade="B"] dd', { hasText: '1' }).waitFor();
      await wall.locator('.alarm[data-alarm="new"]', { hasText: '新 B 级工单' }).waitFor();
      expect(await wall.evaluate('window.__sameDocument')).toBe(true);
    });

    it('lives through a network cut, and catches up on what happened meanwhile', async () => {
      proxy.cut();
      await wall.locator('.wall-stale').waitFor();
      // While the wall is cut off: a second A ticket, in the south.
      const gas = await sw.connect('gas-s1', await sw.provision('gas-s1', IN_SOUTH, 'gas_lel'));
      await gas.publishAsync('v1/devices/gas-s1/telemetry', JSON.stringify({ values: { gas_lel: 60 } }), { qos: 1 });
      await expect.poll(async () => ((await sw.api('GET', '/api/tickets?subcenter=south')).body.tickets as unknown[]).length).toBe(1);
      expect(await wall.locator('[data-grade="A"] dd').textContent()).toBe('1');
      proxy.restore();
      await wall.locator('[data-grade="A"] dd', { hasText: '2' }).waitFor({ timeout: 30_000 });
      await wall.locator('.wall-stale').waitFor({ state: 'detached' });
      await wall.locator('.alarm', { hasText: '新 A 级工单' }).waitFor();
      expect(await wall.evaluate('window.__sameDocument')).toBe(true);
      expect(aTicket).toMatch(/^SW-/);
      await screenshot(wall, 'wall-after-outages');
    });
  });
}
