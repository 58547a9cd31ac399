/**
 * Detectors: `sw.readings` and `sw.events` → rules → `sw.alerts`, plus a clock tick for the
 * rules that fire on time passing (a silent device, an object that stays). The rule engine
 * (engine.ts) decides and keeps the state; this file wires it to the bus and the clock.
 */
import type { CityIndex } from '../core/city-index.js';
import type { DeviceStateHolder } from '../core/device-state.js';
import type { Logger } from '../core/logger.js';
import { observePublishLag, type Metrics } from '../core/metrics.js';
import { systemClock, type Bus, type BusRecord, type Clock, type KeyValueStore, type Subscription } from '../core/ports.js';
import type { Alert } from '../core/schemas.js';
import { RuleEngine } from './engine.js';

/** Longest wait between two ticks: how late a 15-minute deadman may fire, at most. */
export const DEFAULT_MAX_TICK_MS = 5_000;
/** Shortest wait between two ticks, whatever the rules ask. */
export const MIN_TICK_MS = 50;
/** Ticks per shortest rule wait, so a short deadman is not late by a whole tick. */
const TICKS_PER_WAIT = 5;

export interface DetectorsOptions {
  bus: Bus;
  kv: KeyValueStore;
  /** Current city; read on every batch so a reload applies at once. */
  cityIndex: () => CityIndex;
  /** The platform clock: deadman silences and camera presences are measured against it. */
  clock?: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Longest wait between two ticks (shorter when rules wait less; see TICKS_PER_WAIT). */
  maxTickMs?: number;
}

export interface Detectors extends Subscription {
  /** Lets time pass now instead of at the next timer: tests with a controlled clock use it. */
  tick(): Promise<Alert[]>;
  /** Prunes the timed rules' subject lists (RuleEngine.pruneSubjects); resolves with how many left. */
  pruneSubjects(now: number, silentMs: number): Promise<number>;
  /** Its copies of the subject lists, and the lists themselves, forget deleted devices. */
  readonly deviceState: DeviceStateHolder;
}

export async function startDetectors(opts: DetectorsOptions): Promise<Detectors> {
  const { bus, metrics } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.logger.child({ stage: 'detectors' });
  const maxTickMs = opts.maxTickMs ?? DEFAULT_MAX_TICK_MS;

  const engine = new RuleEngine({
    kv: opts.kv,
    cityIndex: opts.cityIndex,
    startedAt: clock.now(),
    clock,
    emit: async (alerts) => {
      await bus.publish('sw.alerts', alerts.map((a): BusRecord<Alert> => ({ key: a.fingerprint, value: a })));
      for (const a of alerts) {
        metrics.alerts.inc({ status: a.status });
        log.info({ ruleId: a.ruleId, deviceId: a.deviceId, zoneId: a.zoneId, status: a.status, value: a.value }, 'alert');
      }
    },
  });

  // Observed for every publish: the series' child is looked up once, not by its labels each time.
  const lag = metrics.stageLag.labels({ stage: 'detectors' });
  const observeLag = (records: readonly { value: { ref: string; receivedAt: number } }[]): void =>
    observePublishLag(lag, clock.now(), records.map((r) => r.value));
  const readings = await bus.subscribe('sw.readings', 'detectors', async (records) => {
    await engine.readings(records.map((r) => r.value));
    observeLag(records);
  });
  const events = await bus.subscribe('sw.events', 'detectors', async (records) => {
    await engine.events(records.map((r) => r.value));
    observeLag(records);
  });

  let running: Promise<Alert[]> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const tick = (): Promise<Alert[]> =>
    (running ??= engine.tick(clock.now()).finally(() => {
      running = undefined;
    }));
  const schedule = (): void => {
    if (closed) return;
    const shortest = engine.shortestWait();
    const wait = shortest === undefined ? maxTickMs : Math.min(maxTickMs, Math.max(MIN_TICK_MS, shortest / TICKS_PER_WAIT));
    timer = setTimeout(() => {
      tick()
        // The next tick tries again; the state is unchanged by a failed one.
        .catch((err: unknown) => log.error({ err }, 'tick failed'))
        .finally(schedule);
    }, wait);
    timer.unref();
  };
  schedule();

  return {
    tick,
    pruneSubjects: (now, silentMs) => engine.pruneSubjects(now, silentMs),
    deviceState: {
      name: 'rule subject lists',
      forget: async (ids) => void (await engine.forgetDevices(ids)),
      known: () => engine.knownDevices(),
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await events.close();
      await readings.close();
      await running?.catch(() => undefined);
    },
  };
}
