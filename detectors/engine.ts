/**
 * The rule engine: routes readings, camera events and clock ticks to the rule kinds' state
 * machines (threshold.ts, rate.ts, deadman.ts, camera.ts, composite.ts), keeps their state in
 * the key-value store and hands the resulting alerts to `emit`. It knows no bus: the detectors
 * stage feeds it from the bus, a backtest from stored history.
 *
 * Two kinds of state, two ways of writing it:
 *
 * - Per device, touched only by that device's readings (threshold, rate): the bus delivers one
 *   device's readings to one consumer in order, so the batch reads its states, emits the
 *   alerts, then writes the states. A crash in between replays the batch, which yields the same
 *   transitions with the same alert ids, and alerting drops the duplicates.
 * - Shared (deadman, camera, composite): the clock tick of any instance, or readings of several
 *   devices of one zone handled by different instances, may change the same state. Each change
 *   is a compare-and-set that carries its alerts in an outbox inside the state, so exactly one
 *   instance decides each transition; the alerts are emitted after the write and the outbox is
 *   cleared after that. A crash before the clear leaves the outbox for the next writer to emit
 *   again (same ids again).
 *
 * Rules that need time to pass (deadman, camera) register their subjects in a list per rule,
 * which the tick walks (subjects.ts: the lists, their cache and their pruning). The tick reads a
 * deadman subject's state only once its silence can have reached the rule's wait.
 */
import type { Zone } from '../core/city.js';
import type { CityIndex } from '../core/city-index.js';
import { deviceKeyPrefix } from '../core/device-state.js';
import { StreetWatchError } from '../core/errors.js';
import type { Clock, KeyValueStore } from '../core/ports.js';
import type { CameraRule, CompositeRule, DeadmanRule, RateRule, Rule, ThresholdRule } from '../core/rules.js';
import type { Alert, CameraEvent, Reading } from '../core/schemas.js';
import { placeRule, selectedZones, withOverride } from '../core/zone-selector.js';
import type { AlertPlace } from './alerts.js';
import { qualifies, type CameraState } from './camera.js';
import {
  ZONE_SUBJECT,
  cameraEventChange,
  cameraTickChange,
  compositeChange,
  deadmanDataChange,
  deadmanDue,
  deadmanTickChange,
  overrideFor,
  rateAlert,
  thresholdAlert,
  zoneSubject,
  type Change,
  type Placed,
} from './changes.js';
import type { CompositeState } from './composite.js';
import type { DeadmanState } from './deadman.js';
import { evaluateRate, type RateState } from './rate.js';
import { evaluateThreshold, type ThresholdState } from './threshold.js';
import { SubjectLists, subjectsKey } from './subjects.js';

export { subjectsKey };

/** Compare-and-set attempts per state and batch before the batch fails (and is retried). */
const MAX_CAS_ATTEMPTS = 20;
/**
 * How long alerts written to a state's outbox belong to the instance that wrote them. Past it
 * the writer is taken to have crashed before sending them, and the next one to touch the state
 * sends them (again: same ids).
 */
export const OUTBOX_LEASE_MS = 30_000;

export interface RuleEngineOptions {
  kv: KeyValueStore;
  /** Current city; read on every batch so a reload applies at once. */
  cityIndex: () => CityIndex;
  /** Sends alerts on, in order; resolves once they are durable. */
  emit: (alerts: Alert[]) => Promise<void>;
  /** Deadman silence counts from here at the earliest: when this engine started listening. */
  startedAt: number;
  /** Platform time, for outbox leases (the tick passes its own `now`). */
  clock: Clock;
}

/**
 * A device's state under its key prefix (core/device-state.ts), so it goes with the device;
 * a zone's under its rule. Threshold state predates the other kinds and names no kind.
 */
export function stateKey(rule: Pick<Rule, 'id' | 'kind'>, subject: string): string {
  if (subject.startsWith(ZONE_SUBJECT)) return `rule:${rule.id}:${rule.kind}:${subject}`;
  return `${deviceKeyPrefix(subject)}rule:${rule.id}${rule.kind === 'threshold' ? '' : `:${rule.kind}`}`;
}

/** How shared state is stored: the state (null once gone), alerts not yet emitted and when they were written. */
interface Envelope<S> {
  s: S | null;
  o?: Alert[];
  t?: number;
}

type SharedUpdate = (prev: unknown) => Change<unknown>;

interface CompiledRules {
  source: CityIndex;
  /** Threshold, rate and composite rules by the metrics they read. */
  byMetric: Map<string, (ThresholdRule | RateRule | CompositeRule)[]>;
  deadman: DeadmanRule[];
  camera: CameraRule[];
}

interface OwnedWork {
  key: string;
  rule: ThresholdRule | RateRule;
  reading: Reading;
  place: AlertPlace;
}

export class RuleEngine {
  private compiled: CompiledRules | undefined;
  private readonly subjects: SubjectLists;
  /**
   * When each deadman state read by a tick can fire at the earliest (by its newest data and its
   * wait): the tick skips it until then. Data moves that time only later, and is seen here or by
   * the next reading of the lists, when this is cleared.
   */
  private readonly due = new Map<string, number>();

  constructor(private readonly opts: RuleEngineOptions) {
    this.subjects = new SubjectLists(opts.kv);
  }

  /** Evaluates readings in order; resolves with the alerts emitted. */
  async readings(batch: readonly Reading[]): Promise<Alert[]> {
    const index = this.opts.cityIndex();
    const rules = this.rules(index);
    const owned: OwnedWork[] = [];
    const shared = new SharedBatch();

    for (const reading of batch) {
      const zones = zonesOf(index, reading.zoneIds);
      for (const rule of rules.byMetric.get(reading.metric) ?? []) {
        if (rule.kind === 'composite') {
          for (const zone of selectedZones(zones, rule.zones)) {
            const place = placeIn(reading, zone.id);
            shared.add(stateKey(rule, zoneSubject(zone.id)), (prev) => compositeChange(rule, prev as CompositeState | undefined, reading, place));
          }
          continue;
        }
        const at = placeRule<NonNullable<typeof rule.overrides>[number]>(zones, rule);
        if (!at) continue;
        const effective = withOverride(rule, at.override) as typeof rule;
        owned.push({ key: stateKey(rule, reading.deviceId), rule: effective, reading, place: placeIn(reading, at.zone?.id ?? null) });
      }
      for (const rule of rules.deadman) {
        if (rule.metric !== undefined && rule.metric !== reading.metric) continue;
        const places: [string, AlertPlace][] = [];
        if (rule.per === 'zone') {
          for (const zone of selectedZones(zones, rule.zones)) places.push([zoneSubject(zone.id), placeIn(reading, zone.id)]);
        } else {
          // Placed like any rule, so the tick finds the same override for the stored zone.
          const at = placeRule<NonNullable<DeadmanRule['overrides']>[number]>(zones, rule);
          if (at) places.push([reading.deviceId, placeIn(reading, at.zone?.id ?? null)]);
        }
        for (const [subject, place] of places) {
          const key = stateKey(rule, subject);
          shared.register(rule.id, subject);
          this.due.delete(key);
          shared.add(key, (prev) => {
            const before = prev as Placed<DeadmanState> | undefined;
            // New, or back after it fired: its list entry may have been pruned meanwhile.
            if (!before || before.phase === 'firing') shared.force(rule.id, subject);
            return deadmanDataChange(rule, before, reading, subject, place);
          });
        }
      }
    }

    await this.subjects.add(shared.subjects);
    const sharedAlerts = await this.applyShared(shared.updates, this.opts.clock.now());
    await this.subjects.add(shared.forced, true);
    const { alerts: ownedAlerts, writes } = await this.evaluateOwned(owned);
    const alerts = [...sharedAlerts.emit, ...ownedAlerts];
    if (alerts.length) await this.opts.emit(alerts);
    await this.opts.kv.setMany(writes);
    await this.clearOutboxes(sharedAlerts.flushed);
    return alerts;
  }

  /** Evaluates camera and analytics events in order; resolves with the alerts emitted. */
  async events(batch: readonly CameraEvent[]): Promise<Alert[]> {
    const index = this.opts.cityIndex();
    const rules = this.rules(index);
    if (rules.camera.length === 0) return [];
    const shared = new SharedBatch();
    for (const event of batch) {
      const zones = zonesOf(index, event.zoneIds);
      for (const rule of rules.camera) {
        if (!rule.types.includes(event.type)) continue;
        const at = placeRule<NonNullable<CameraRule['overrides']>[number]>(zones, rule);
        if (!at) continue;
        const params = withOverride(rule, at.override);
        const place: AlertPlace = { zoneId: at.zone?.id ?? null, subcenterId: event.subcenterId, loc: event.loc };
        const ok = qualifies(params, event);
        if (ok) shared.register(rule.id, event.deviceId);
        shared.add(stateKey(rule, event.deviceId), (prev) => {
          // A camera with no state left may have been pruned from the list meanwhile.
          if (ok && !prev) shared.force(rule.id, event.deviceId);
          return cameraEventChange(params, prev as Placed<CameraState> | undefined, event, place);
        });
      }
    }
    await this.subjects.add(shared.subjects);
    const { emit, flushed } = await this.applyShared(shared.updates, this.opts.clock.now());
    await this.subjects.add(shared.forced, true);
    if (emit.length) await this.opts.emit(emit);
    await this.clearOutboxes(flushed);
    return emit;
  }

  /** Lets time pass to `now` (platform clock): deadman silences and camera presences. */
  async tick(now: number): Promise<Alert[]> {
    const index = this.opts.cityIndex();
    const rules = this.rules(index);
    const timed: (DeadmanRule | CameraRule)[] = [...rules.deadman, ...rules.camera];
    if (timed.length === 0) return [];
    const { lists, refreshed } = await this.subjects.lists(timed.map((r) => r.id), now);
    if (refreshed) this.due.clear();
    const shared = new SharedBatch();
    for (const rule of timed) {
      for (const subject of lists.get(rule.id) ?? []) {
        if (rule.kind === 'deadman') {
          const key = stateKey(rule, subject);
          if ((this.due.get(key) ?? -Infinity) > now) continue;
          shared.add(key, (prev) => {
            const state = prev as Placed<DeadmanState> | undefined;
            this.due.set(key, deadmanDue(index, rule, state, this.opts.startedAt));
            return deadmanTickChange(index, rule, state, now, this.opts.startedAt, subject);
          });
        } else {
          shared.add(stateKey(rule, subject), (prev) => cameraTickChange(index, rule, prev as Placed<CameraState> | undefined, now, subject));
        }
      }
    }
    const { emit, flushed } = await this.applyShared(shared.updates, now);
    if (emit.length) await this.opts.emit(emit);
    await this.clearOutboxes(flushed);
    return emit;
  }

  /**
   * Prunes the subject lists (subjects.ts): subjects with no state left, deadman subjects whose
   * alert fired and whose silence passed `silentMs` (or the rule's own wait, if longer), and the
   * lists of rules no longer in the city. Resolves with how many subjects left their lists.
   */
  async pruneSubjects(now: number, silentMs: number): Promise<number> {
    const index = this.opts.cityIndex();
    const rules = this.rules(index);
    const live = new Map<string, { stateKey: (subject: string) => string; droppable: (subject: string, state: unknown) => boolean }>();
    for (const rule of [...rules.deadman, ...rules.camera]) {
      live.set(rule.id, {
        stateKey: (subject) => stateKey(rule, subject),
        droppable: (_subject, stored) => {
          const envelope = stored as Envelope<unknown> | undefined;
          // Alerts not sent yet keep it: the next writer of the state sends them.
          if (envelope?.o?.length) return false;
          if (envelope?.s === undefined || envelope.s === null) return true;
          if (rule.kind !== 'deadman') return false;
          const d = envelope.s as Placed<DeadmanState>;
          const after = withOverride(rule, overrideFor(index, rule, d.place.zoneId)).after;
          return d.phase === 'firing' && now - d.lastSeen >= Math.max(silentMs, after);
        },
      });
    }
    return this.subjects.prune(live);
  }

  /** Takes deleted devices out of the timed rules' subject lists (their state goes with their key prefix). */
  async forgetDevices(deviceIds: readonly string[]): Promise<number> {
    const rules = this.rules(this.opts.cityIndex());
    for (const rule of [...rules.deadman, ...rules.camera]) for (const id of deviceIds) this.due.delete(stateKey(rule, id));
    return this.subjects.remove(new Set(deviceIds), [...rules.deadman, ...rules.camera].map((r) => r.id));
  }

  /** Devices this engine holds something about in memory (its copies of the subject lists). */
  knownDevices(): string[] {
    return [...this.subjects.known()].filter((s) => !s.startsWith(ZONE_SUBJECT));
  }

  /** The shortest duration a timed rule waits: ticks need to be finer than this. */
  shortestWait(): number | undefined {
    const rules = this.rules(this.opts.cityIndex());
    const waits = [
      ...rules.deadman.flatMap((r) => [r.after, ...(r.overrides ?? []).map((o) => o.after ?? r.after)]),
      ...rules.camera.flatMap((r) => [r.clearAfter, ...[r.for, ...(r.overrides ?? []).map((o) => o.for ?? r.for)].filter((ms) => ms > 0)]),
    ];
    return waits.length ? Math.min(...waits) : undefined;
  }

  private rules(index: CityIndex): CompiledRules {
    if (this.compiled?.source === index) return this.compiled;
    const byMetric = new Map<string, (ThresholdRule | RateRule | CompositeRule)[]>();
    const add = (metric: string, rule: ThresholdRule | RateRule | CompositeRule): void => {
      const list = byMetric.get(metric) ?? [];
      if (!list.includes(rule)) list.push(rule);
      byMetric.set(metric, list);
    };
    const deadman: DeadmanRule[] = [];
    const camera: CameraRule[] = [];
    for (const rule of index.city.rules) {
      if (rule.kind === 'threshold' || rule.kind === 'rate') add(rule.metric, rule);
      else if (rule.kind === 'composite') for (const c of rule.conditions) add(c.metric, rule);
      else if (rule.kind === 'deadman') deadman.push(rule);
      else camera.push(rule);
    }
    this.compiled = { source: index, byMetric, deadman, camera };
    return this.compiled;
  }

  private async evaluateOwned(work: readonly OwnedWork[]): Promise<{ alerts: Alert[]; writes: Map<string, unknown> }> {
    const writes = new Map<string, unknown>();
    const alerts: Alert[] = [];
    if (work.length === 0) return { alerts, writes };
    const stored = await this.opts.kv.getMany<ThresholdState | RateState>([...new Set(work.map((w) => w.key))]);
    const current = new Map<string, ThresholdState | RateState | undefined>();
    for (const { key, rule, reading, place } of work) {
      const prev = current.has(key) ? current.get(key) : stored.get(key);
      if (rule.kind === 'threshold') {
        const before = prev as ThresholdState | undefined;
        const { state, transition } = evaluateThreshold(rule, before, reading.value, reading.ts);
        current.set(key, state);
        // Steady "ok" only moves lastTs: not writing it back saves a store write per reading.
        if (state !== before && !(state.phase === 'ok' && (before === undefined || before.phase === 'ok'))) writes.set(key, state);
        if (transition) alerts.push(thresholdAlert(rule, reading, place, transition, transition === 'firing' ? state.since : before!.since));
      } else {
        const before = prev as RateState | undefined;
        const { state, transition, change } = evaluateRate(rule, before, reading.value, reading.ts);
        current.set(key, state);
        if (state !== before) writes.set(key, state);
        if (transition) alerts.push(rateAlert(rule, reading, place, transition, transition === 'firing' ? state.since : before!.since, change));
      }
    }
    return { alerts, writes };
  }

  /**
   * Applies each key's updates in order with compare-and-set, re-reading and re-applying the
   * keys whose write lost a race. New alerts ride in the stored outbox; returns the alerts to
   * emit now, in order, with the envelopes to clear of them once they are out.
   *
   * A writer that adds alerts emits the whole outbox, older entries first, so one fingerprint's
   * alerts leave in order even when another instance's are still in flight (alerting drops the
   * repeated ids). A writer that adds none leaves a fresh outbox to its owner, so two instances
   * racing to the same verdict send it once, and takes over an outbox past its lease.
   */
  private async applyShared(updates: ReadonlyMap<string, SharedUpdate[]>, now: number): Promise<{ emit: Alert[]; flushed: Map<string, Outgoing> }> {
    const emit: Alert[] = [];
    const flushed = new Map<string, Outgoing>();
    let pending = [...updates.keys()];
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > MAX_CAS_ATTEMPTS) throw contention(pending[0]!);
      const stored = await this.opts.kv.getMany<Envelope<unknown>>(pending);
      const changes: { key: string; expected: unknown; next: Envelope<unknown> | undefined; sending: Alert[] }[] = [];
      for (const key of pending) {
        const before = stored.get(key);
        const carried = before?.o ?? [];
        const stale = carried.length > 0 && now - (before?.t ?? 0) >= OUTBOX_LEASE_MS;
        let state: unknown = before?.s ?? undefined;
        const added: Alert[] = [];
        let changed = false;
        for (const update of updates.get(key)!) {
          const change = update(state);
          if (change.state !== state) changed = true;
          state = change.state;
          added.push(...change.alerts);
        }
        // Alerts waiting in the state's outbox: the tick looks at it again until they are out.
        if (carried.length > 0 || added.length > 0) this.due.delete(key);
        if (!changed && added.length === 0 && !stale) continue;
        const sending = added.length > 0 || stale ? [...carried, ...added] : [];
        const outbox = [...carried, ...added];
        const next: Envelope<unknown> | undefined =
          outbox.length > 0 ? { s: (state ?? null) as unknown, o: outbox, t: sending.length > 0 ? now : before!.t! } : state === undefined ? undefined : { s: state };
        changes.push({ key, expected: before, next, sending });
      }
      // One commit for the batch's shared states (a deadman state per device moves with each reading).
      const won = await this.opts.kv.compareAndSetMany(changes);
      const lost: string[] = [];
      changes.forEach(({ key, next, sending }, i) => {
        if (!won[i]) return void lost.push(key);
        if (sending.length > 0) {
          emit.push(...sending);
          flushed.set(key, { envelope: next!, ids: new Set(sending.map((a) => a.id)) });
        }
      });
      pending = lost;
    }
    return { emit, flushed };
  }

  /** Takes the emitted alerts out of their outboxes (what others added since stays). */
  private async clearOutboxes(flushed: ReadonlyMap<string, Outgoing>): Promise<void> {
    for (const [key, { envelope, ids }] of flushed) {
      let expected: Envelope<unknown> | undefined = envelope;
      for (let attempt = 1; expected?.o && attempt <= MAX_CAS_ATTEMPTS; attempt++) {
        const rest = expected.o.filter((a) => !ids.has(a.id));
        const next = rest.length > 0 ? { ...expected, o: rest } : expected.s === null ? undefined : { s: expected.s };
        if (await this.opts.kv.compareAndSet(key, expected, next)) break;
        expected = (await this.opts.kv.getMany<Envelope<unknown>>([key])).get(key);
      }
      // Still there after that much contention: it is sent again once its lease runs out.
    }
  }
}

/** Alerts sent from one state's outbox, to clear once they are out. */
interface Outgoing {
  envelope: Envelope<unknown>;
  ids: Set<string>;
}

class SharedBatch {
  readonly updates = new Map<string, SharedUpdate[]>();
  readonly subjects = new Map<string, Set<string>>();
  /** Subjects to add to their lists even if the cached copy has them (see SubjectLists.add). */
  readonly forced = new Map<string, Set<string>>();

  force(ruleId: string, subject: string): void {
    const set = this.forced.get(ruleId);
    if (set) set.add(subject);
    else this.forced.set(ruleId, new Set([subject]));
  }

  add(key: string, update: SharedUpdate): void {
    const list = this.updates.get(key);
    if (list) list.push(update);
    else this.updates.set(key, [update]);
  }

  register(ruleId: string, subject: string): void {
    const set = this.subjects.get(ruleId);
    if (set) set.add(subject);
    else this.subjects.set(ruleId, new Set([subject]));
  }
}

function contention(key: string): StreetWatchError {
  return new StreetWatchError('SW_ERR_UNAVAILABLE', ['rule state', `too many concurrent changes to ${key}`], {});
}

function zonesOf(index: CityIndex, ids: readonly string[]): Zone[] {
  const out: Zone[] = [];
  for (const id of ids) {
    const zone = index.zoneById.get(id);
    if (zone) out.push(zone);
  }
  return out;
}

/** Where a reading puts an alert of `zoneId`: built whole, not spread from a shared base (core/objects.ts). */
function placeIn(reading: Reading, zoneId: string | null): AlertPlace {
  return { subcenterId: reading.subcenterId, loc: reading.loc, zoneId };
}
