/**
 * The console's browser tests: Debian's Chromium driven by playwright-core (never a downloaded
 * browser), axe-core's checks run inside the page, and screenshots kept for people to look at.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../core/config.js';
import { tempDir } from './harness.js';

/** Debian's package; never a downloaded browser. */
export const CHROMIUM = process.env.SW_TEST_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  // Several operators' tabs at once: the ones in the background must keep rendering and ticking.
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
];
export const SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'console');

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { viewport?: { width: number; height: number }; locale?: string } = {}): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium) or set SW_TEST_CHROMIUM`);
  const profile = tempDir('chromium');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 800 },
    locale: opts.locale ?? 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  context.setDefaultTimeout(20_000);
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  const file = path.join(SCREENSHOTS, `${name}.png`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage });
}

const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's serious and critical findings on the page as it is now (WCAG 2.x A and AA rules). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol: the console's CSP (rightly) refuses an injected <script>.
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate((axeSource ??= fs.readFileSync(AXE_SOURCE, 'utf8')));
  const found = (await page.evaluate(`(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  })()`)) as AxeViolation[];
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Counts, inside the page, the chimes the alarm plays (oscillators started) and the browser
 * notifications it shows: both go to the real Web Audio and Notification APIs, which a headless
 * browser does not let a test hear or see.
 */
export async function watchAlarmSignals(context: BrowserContext): Promise<void> {
  await context.addInitScript(`(() => {
    window.__sw = { oscillators: 0, notifications: [] };
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) { window.__sw.oscillators++; return start.apply(this, args); };
    const Real = window.Notification;
    if (Real) {
      window.Notification = class extends Real {
        constructor(title, options) { super(title, options); window.__sw.notifications.push({ title, tag: options && options.tag }); }
      };
      Object.defineProperty(window.Notification, 'permission', { get: () => Real.permission });
      window.Notification.requestPermission = (...a) => Real.requestPermission(...a);
    }
  })()`);
}

export function alarmSignals(page: Page): Promise<{ oscillators: number; notifications: { title: string; tag: string }[] }> {
  return page.evaluate('window.__sw') as Promise<{ oscillators: number; notifications: { title: string; tag: string }[] }>;
}

/** The page scrolls sideways (its content is wider than the viewport). */
export function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth > window.innerWidth') as Promise<boolean>;
}
