/**
 * Detectors: `sw.readings` → rules → `sw.alerts`. Rule state lives in the state store, loaded
 * and saved per batch, so a restart neither re-fires nor forgets a pending duration. Alerts are
 * published before the state is saved: a crash in between replays the batch, which yields the
 * same transitions with the same alert ids, and alerting drops the duplicates.
 */
import type { ThresholdRule } from '../core/city.js';
import type { CityIndex } from '../core/city-index.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { METRICS } from '../core/metric-catalog.js';
import type { Bus, BusRecord, KeyValueStore, Subscription } from '../core/ports.js';
import type { Alert, Reading } from '../core/schemas.js';
import { crossedBound, evaluateThreshold, type ThresholdState } from './threshold.js';
import { ruleZone } from './zone-selector.js';

export interface DetectorsOptions {
  bus: Bus;
  kv: KeyValueStore;
  /** Current city; read on every batch so a reload applies at once. */
  cityIndex: () => CityIndex;
  metrics: Metrics;
  logger: Logger;
}

export function stateKey(ruleId: string, deviceId: string): string {
  return `rule:${ruleId}:${deviceId}`;
}

export function alertFingerprint(ruleId: string, deviceId: string): string {
  return `${ruleId}/${deviceId}`;
}

export async function startDetectors(opts: DetectorsOptions): Promise<Subscription> {
  const { bus, kv, metrics } = opts;
  const log = opts.logger.child({ stage: 'detectors' });
  let rulesFor = indexRules(opts.cityIndex());

  return bus.subscribe('sw.readings', 'detectors', async (records) => {
    const index = opts.cityIndex();
    if (rulesFor.source !== index) rulesFor = indexRules(index);
    const work: { reading: Reading; rule: ThresholdRule; zoneId: string | null }[] = [];
    for (const { value: reading } of records) {
      for (const rule of rulesFor.byMetric.get(reading.metric) ?? []) {
        const zones = reading.zoneIds.map((id) => index.zoneById.get(id)).filter((z) => z !== undefined);
        const zone = ruleZone(zones, rule.zones);
        if (zone !== undefined) work.push({ reading, rule, zoneId: zone?.id ?? null });
      }
    }
    if (work.length === 0) return;

    const keys = [...new Set(work.map((w) => stateKey(w.rule.id, w.reading.deviceId)))];
    const states = await kv.getMany<ThresholdState>(keys);
    const current = new Map<string, ThresholdState>();
    const toSave = new Map<string, ThresholdState>();
    const alerts: BusRecord<Alert>[] = [];
    for (const { reading, rule, zoneId } of work) {
      const key = stateKey(rule.id, reading.deviceId);
      const prev = current.get(key) ?? states.get(key);
      const { state, transition } = evaluateThreshold(rule, prev, reading.value, reading.ts);
      current.set(key, state);
      // Steady "ok" only moves lastTs; not writing it back saves a store write per reading.
      if (state !== prev && !(state.phase === 'ok' && (prev === undefined || prev.phase === 'ok'))) toSave.set(key, state);
      if (!transition) continue;
      const startsAt = transition === 'firing' ? state.since : prev!.since;
      const alert = toAlert(rule, reading, zoneId, transition, startsAt);
      alerts.push({ key: alert.fingerprint, value: alert });
      metrics.alerts.inc({ status: transition });
      log.info({ ruleId: rule.id, deviceId: reading.deviceId, status: transition, value: reading.value }, 'alert');
    }
    if (alerts.length) await bus.publish('sw.alerts', alerts);
    await kv.setMany(toSave);
  });
}

function indexRules(index: CityIndex): { source: CityIndex; byMetric: Map<string, ThresholdRule[]> } {
  const byMetric = new Map<string, ThresholdRule[]>();
  for (const rule of index.city.rules) {
    const list = byMetric.get(rule.metric) ?? [];
    list.push(rule);
    byMetric.set(rule.metric, list);
  }
  return { source: index, byMetric };
}

function toAlert(rule: ThresholdRule, r: Reading, zoneId: string | null, status: 'firing' | 'resolved', startsAt: number): Alert {
  const fingerprint = alertFingerprint(rule.id, r.deviceId);
  const threshold = crossedBound(rule, r.value);
  const unit = r.unit ?? METRICS.get(r.metric)?.unit ?? '';
  const label = rule.name ?? rule.id;
  const summary =
    status === 'firing'
      ? `${label}: ${r.metric} ${r.value}${unit} ${threshold !== undefined && r.value > threshold ? '>' : '<'} ${threshold}${unit} at ${r.deviceId}`
      : `${label}: ${r.metric} back to ${r.value}${unit} at ${r.deviceId}`;
  const alert: Alert = {
    // Deterministic: a replayed batch produces the same id, so alerting can drop it.
    id: `${fingerprint}@${startsAt}:${status}`,
    fingerprint,
    status,
    ruleId: rule.id,
    deviceId: r.deviceId,
    metric: r.metric,
    value: r.value,
    grade: rule.grade,
    category: rule.category,
    department: rule.department,
    ts: r.ts,
    startsAt,
    summary,
  };
  if (threshold !== undefined) alert.threshold = threshold;
  if (zoneId !== null) alert.zoneId = zoneId;
  if (r.subcenterId !== undefined) alert.subcenterId = r.subcenterId;
  if (r.loc) alert.loc = r.loc;
  return alert;
}
