/**
 * Per rule kind, the state change the engine (engine.ts) applies and the alert it produces: the
 * pure state machines (threshold.ts, rate.ts, deadman.ts, camera.ts, composite.ts) put in words
 * and placed, with where each state stays (`Placed`: deadman and camera states remember where
 * their alert belongs, for the tick has no reading).
 */
import type { CityIndex } from '../core/city-index.js';
import { METRICS } from '../core/metric-catalog.js';
import { extended } from '../core/objects.js';
import type { CameraRule, CompositeRule, DeadmanRule, RateRule, Rule, ThresholdRule } from '../core/rules.js';
import type { Alert, CameraEvent, Reading } from '../core/schemas.js';
import { withOverride, zoneMatches } from '../core/zone-selector.js';
import { humanDuration, makeAlert, type AlertPlace } from './alerts.js';
import { cameraEvent, cameraTick, isQuiet, type CameraParams, type CameraState } from './camera.js';
import { evaluateComposite, type CompositeState } from './composite.js';
import { deadmanData, deadmanTick, type DeadmanState } from './deadman.js';
import { crossedBound } from './threshold.js';

export const ZONE_SUBJECT = 'zone:';
export const zoneSubject = (zoneId: string): string => `${ZONE_SUBJECT}${zoneId}`;

/** A state after a change, and the alerts the change produced. */
export interface Change<S> {
  state: S | undefined;
  alerts: Alert[];
}

/** Deadman and camera states remember where their alert belongs: the tick has no reading. */
export type Placed<S> = S & { place: AlertPlace };

const unitOf = (r: { metric: string; unit?: string | undefined }): string => r.unit ?? METRICS.get(r.metric)?.unit ?? '';
const label = (rule: { id: string; name?: string | undefined }): string => rule.name ?? rule.id;

export function thresholdAlert(rule: ThresholdRule, r: Reading, place: AlertPlace, status: 'firing' | 'resolved', startsAt: number): Alert {
  const threshold = crossedBound(rule, r.value);
  const unit = unitOf(r);
  const summary =
    status === 'firing'
      ? `${label(rule)}: ${r.metric} ${r.value}${unit} ${threshold !== undefined && r.value > threshold ? '>' : '<'} ${threshold}${unit} at ${r.deviceId}`
      : `${label(rule)}: ${r.metric} back to ${r.value}${unit} at ${r.deviceId}`;
  return makeAlert({ rule, subject: r.deviceId, status, startsAt, ts: r.ts, deviceId: r.deviceId, metric: r.metric, value: r.value, threshold, place, summary });
}

export function rateAlert(rule: RateRule, r: Reading, place: AlertPlace, status: 'firing' | 'resolved', startsAt: number, change: number): Alert {
  const unit = unitOf(r);
  const amount = Number(Math.abs(change).toPrecision(6));
  const summary =
    status === 'firing'
      ? `${label(rule)}: ${r.metric} ${change < 0 ? 'fell' : 'rose'} ${amount}${unit} within ${humanDuration(rule.within)} (now ${r.value}${unit}) at ${r.deviceId}`
      : `${label(rule)}: ${r.metric} steady again at ${r.value}${unit} at ${r.deviceId}`;
  const threshold = change < 0 ? rule.fall : rule.rise;
  return makeAlert({ rule, subject: r.deviceId, status, startsAt, ts: r.ts, deviceId: r.deviceId, metric: r.metric, value: r.value, threshold, place, summary });
}

export function compositeChange(rule: CompositeRule, prev: CompositeState | undefined, r: Reading, place: AlertPlace): Change<CompositeState> {
  const { state, transition } = evaluateComposite(rule, prev, r);
  if (!transition) return { state, alerts: [] };
  const zone = place.zoneId!;
  const what = rule.conditions.map((c) => `${c.devices > 1 ? `${c.devices}× ` : ''}${c.metric}`).join(rule.match === 'all' ? ' + ' : ' or ');
  const summary =
    transition === 'firing'
      ? `${label(rule)}: ${what} within ${humanDuration(rule.within)} in ${zone} (last ${r.metric} ${r.value}${unitOf(r)} at ${r.deviceId})`
      : `${label(rule)}: conditions cleared in ${zone}`;
  const alert = makeAlert({ rule, subject: zoneSubject(zone), status: transition, startsAt: state.since, ts: r.ts, deviceId: r.deviceId, metric: r.metric, value: r.value, place, summary });
  return { state, alerts: [alert] };
}

export function deadmanDataChange(rule: DeadmanRule, prev: Placed<DeadmanState> | undefined, r: Reading, subject: string, place: AlertPlace): Change<Placed<DeadmanState>> {
  const { state, transition } = deadmanData(prev, r);
  const next = extended(state, 'place', place);
  if (!transition) return { state: next, alerts: [] };
  const summary = `${label(rule)}: data again from ${r.deviceId} (${r.metric} ${r.value}${unitOf(r)})`;
  return { state: next, alerts: [makeAlert({ rule, subject, status: transition, startsAt: prev!.since, ts: r.ts, deviceId: r.deviceId, metric: r.metric, value: r.value, place, summary })] };
}

export function deadmanTickChange(
  index: CityIndex,
  rule: DeadmanRule,
  prev: Placed<DeadmanState> | undefined,
  now: number,
  startedAt: number,
  subject: string,
): Change<Placed<DeadmanState>> {
  if (!prev || prev.phase === 'firing') return { state: prev, alerts: [] };
  const params = withOverride(rule, overrideFor(index, rule, prev.place.zoneId));
  const { state, transition } = deadmanTick(prev, now, params.after, startedAt);
  if (!transition) return { state: prev, alerts: [] };
  const next = extended(state, 'place', prev.place);
  const who = subject.startsWith('zone:') ? `any device in ${prev.place.zoneId}` : prev.deviceId;
  const summary = `${label(rule)}: no data from ${who} for ${humanDuration(params.after)} (last ${prev.metric} at ${new Date(prev.lastSeen).toISOString()})`;
  const alert = makeAlert({ rule: params, subject, status: 'firing', startsAt: state.since, ts: now, deviceId: prev.deviceId, metric: prev.metric, value: prev.value, place: prev.place, summary });
  return { state: next, alerts: [alert] };
}

/** When a deadman state can fire at the earliest: never while it is firing or absent. */
export function deadmanDue(index: CityIndex, rule: DeadmanRule, prev: Placed<DeadmanState> | undefined, startedAt: number): number {
  if (!prev || prev.phase === 'firing') return Infinity;
  return Math.max(prev.lastSeen, startedAt) + withOverride(rule, overrideFor(index, rule, prev.place.zoneId)).after;
}

export function cameraEventChange(rule: CameraParams & CameraRule, prev: Placed<CameraState> | undefined, e: CameraEvent, place: AlertPlace): Change<Placed<CameraState>> {
  const { state, transition } = cameraEvent(rule, prev, e);
  if (state === prev) return { state: prev, alerts: [] };
  return cameraChange(rule, state && extended(state, 'place', place), transition, e.ts, e.deviceId);
}

export function cameraTickChange(index: CityIndex, rule: CameraRule, prev: Placed<CameraState> | undefined, now: number, deviceId: string): Change<Placed<CameraState>> {
  if (!prev) return { state: prev, alerts: [] };
  const params = withOverride(rule, overrideFor(index, rule, prev.place.zoneId));
  const { state, transition } = cameraTick(params, prev, now);
  if (state === prev) return { state: prev, alerts: [] };
  return cameraChange(params, state && extended(state, 'place', prev.place), transition, now - prev.skew, deviceId);
}

function cameraChange(rule: CameraRule, state: Placed<CameraState> | undefined, transition: 'firing' | 'resolved' | undefined, ts: number, deviceId: string): Change<Placed<CameraState>> {
  const next = state && isQuiet(state) ? undefined : state;
  if (!transition || !state) return { state: next, alerts: [] };
  const { type, value } = state.last;
  const where = state.place.zoneId ? ` in ${state.place.zoneId}` : '';
  const summary =
    transition === 'firing'
      ? `${label(rule)}: ${type} seen by ${deviceId}${where}${rule.for > 0 ? ` for ${humanDuration(ts - state.since)}` : ''}`
      : `${label(rule)}: ${type} no longer seen by ${deviceId}${where}`;
  const alert = makeAlert({ rule, subject: deviceId, status: transition, startsAt: state.since, ts, deviceId, metric: type, value, place: state.place, summary });
  return { state: next, alerts: [alert] };
}

/** The override a rule has for a zone (deadman and camera look it up again at each tick). */
export function overrideFor<O extends { zones: Rule['zones'] & object }>(index: CityIndex, rule: { overrides?: readonly O[] | undefined }, zoneId: string | null): O | undefined {
  const zone = zoneId === null ? undefined : index.zoneById.get(zoneId);
  if (!zone) return undefined;
  return rule.overrides?.find((o) => zoneMatches(zone, o.zones));
}
