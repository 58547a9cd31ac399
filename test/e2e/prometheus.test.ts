/**
 * The operations contract, checked with Prometheus's own tool against a running platform:
 * `/metrics` passes `promtool check metrics`, the alert rules and the scrape configuration pass
 * `promtool check rules` / `check config`, every query of the Grafana dashboard parses and names
 * only series the platform serves, and device refusals and API errors are separate series.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '../../core/config.js';
import { startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';
import { promtool } from '../support/tools.js';

const PROMETHEUS_DIR = path.join(REPO_ROOT, 'infra', 'prometheus');
const DASHBOARD = path.join(REPO_ROOT, 'infra', 'grafana', 'dashboards', 'streetwatch.json');

function runPromtool(args: string[], input?: string): { status: number | null; output: string } {
  promtool.require();
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Metric names a PromQL expression uses (identifiers starting with `streetwatch_`). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bstreetwatch_[a-z0-9_]+/g)].map((m) => m[0]);
}

/** The family a sample name belongs to (`x_bucket` → `x`). */
function family(name: string, families: Set<string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.has(base) ? base : undefined;
}

const dashboardExprs = (): string[] => {
  const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  return dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
};
const ruleExprs = (): string[] => {
  const rules = YAML.parse(fs.readFileSync(path.join(PROMETHEUS_DIR, 'rules.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
};

describe.runIf(promtool.run)('Prometheus contract', () => {
  let sw: TestPlatform;
  let metrics = '';

  beforeAll(async () => {
    sw = await startTestPlatform();
    const secret = await sw.provision('pm-1', { lat: 23.145, lon: 113.315 }, 'water_level');
    const dev = await sw.connect('pm-1', secret);
    await dev.publishAsync('v1/devices/pm-1/telemetry', JSON.stringify({ values: { water_level: 0.2 } }), { qos: 1 });
    await dev.publishAsync('v1/devices/pm-1/telemetry', '{not json', { qos: 1 });
    await sw.api('GET', '/api/tickets/no-such-ticket');
    await waitFor(async () => (await sw.platform.metrics.rejected.get()).values.some((v) => v.value > 0) || undefined, 'a counted refusal');
    metrics = (await sw.api<string>('GET', '/metrics')).body;
  });
  afterAll(async () => {
    await sw?.stop();
  });

  it('serves /metrics that promtool check metrics accepts', () => {
    const r = runPromtool(['check', 'metrics'], metrics);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('counts device refusals and API errors as separate series', () => {
    expect(metrics).toMatch(/^streetwatch_rejected_total\{code="SW_ERR_PAYLOAD_JSON"\} 1$/m);
    expect(metrics).toMatch(/^streetwatch_http_errors_total\{code="SW_ERR_NOT_FOUND",status="404"\} 1$/m);
    expect(metrics).not.toMatch(/^streetwatch_rejected_total\{code="SW_ERR_NOT_FOUND"\}/m);
  });

  it('counts open tickets by grade for the dashboard', () => {
    for (const grade of ['A', 'B', 'C', 'D']) expect(metrics).toContain(`streetwatch_tickets_open{grade="${grade}",overdue="false"}`);
    expect(metrics).toMatch(/^streetwatch_stage_lag_seconds_count\{stage="ingest"\} [1-9]/m);
  });

  it('ships alert rules and a scrape configuration that promtool accepts', () => {
    const rules = runPromtool(['check', 'rules', path.join(PROMETHEUS_DIR, 'rules.yml')]);
    expect(rules.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(rules.status).toBe(0);
    const config = runPromtool(['check', 'config', '--syntax-only', path.join(PROMETHEUS_DIR, 'prometheus.yml')]);
    expect(config.status, config.output).toBe(0);
  });

  it('has dashboard queries that parse, and rules and queries that name only served series', () => {
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThanOrEqual(8);
    // promtool parses PromQL only inside rule files: each query as a recording rule.
    const file = path.join(tempDir('dashboard-rules'), 'dashboard.yml');
    fs.writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
    const r = runPromtool(['check', 'rules', file]);
    expect(r.status, r.output).toBe(0);

    const families = new Set([...metrics.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const unknown = [...new Set([...exprs, ...ruleExprs()].flatMap(metricNames))].filter((n) => family(n, families) === undefined);
    expect(unknown).toEqual([]);
  });

});
