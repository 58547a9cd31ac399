/**
 * Runs a simulation against a StreetWatch: provisions the fleet through the API, connects every
 * device over MQTT, and publishes what the engine says is due as simulated time advances
 * `speed` times faster than the wall clock. Optionally records every publish.
 *
 * Simulated time only paces the run: each publish carries the time of its slot on the device's
 * grid, so a broker that falls behind makes the run slower, never different.
 */
import { StreetWatchClient } from '../api/client.js';
import type { City } from '../core/city.js';
import { StreetWatchError } from '../core/errors.js';
import { DeviceConnections } from './connections.js';
import { SimulationEngine } from './engine.js';
import { mixedFleet, planFleet, type SimDevice } from './fleet.js';
import type { Incident, IncidentType } from './incidents.js';
import { KIND_FOR_METRIC, MODELS, type DeviceKind } from './models.js';
import { RateMeter, formatCount, formatSeconds, progressBar } from './progress.js';
import { seededRandom } from './random.js';
import { RecordingWriter } from './recording.js';
import { resolveTimeline, type Scenario } from './scenario.js';

/** Publishes unacknowledged at once, across the fleet: the broker's backlog stays bounded. */
export const DEFAULT_MAX_INFLIGHT = 2000;
/** How often the pacing loop wakes when nothing is due. */
const TICK_MS = 20;
/** Most publishes sent before yielding to I/O. */
const BATCH = 500;

export interface SimulationOptions {
  api: string;
  mqtt: string;
  token: string;
  city: City;
  scenario: Scenario;
  /** Fleet size when the scenario does not describe one. */
  devices?: number;
  seed: number;
  /** Simulated seconds per wall second; Infinity runs as fast as the broker acknowledges. */
  speed: number;
  /** Simulated epoch ms of the start. */
  start: number;
  prefix: string;
  /** Simulated time between reports, for every device (default: per kind, or the scenario's). */
  intervalMs?: number;
  /** Push one device of the kind reporting this metric into an incident after `afterMs` of simulated time. */
  hazard?: { metric: string; afterMs: number };
  /** Write every publish to this JSON-lines file. */
  recordTo?: string;
  progress?: boolean;
  maxInflight?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Once the fleet is connected: a way to start a hazard now (the "h" key). */
  onRunning?: (controls: { hazardNow(): string | undefined }) => void;
}

export interface SimulationResult {
  devices: number;
  sent: number;
  acked: number;
  rejected: number;
  failed: number;
  /** Simulated time covered. */
  simulatedMs: number;
  /** Wall time spent publishing (after provisioning and connecting). */
  publishMs: number;
  /** Acknowledged publishes per wall second while publishing. */
  messagesPerSecond: number;
  lastErrors: string[];
}

/**
 * The incident that pushes a device of each kind over its thresholds. A demo hazard builds up
 * in half a minute, not the minutes a real fire or leak takes; water still rises with its lag.
 */
const HAZARD_FOR_KIND: Partial<Record<DeviceKind, Omit<Incident, 'start' | 'end'>>> = {
  water_level: { type: 'rainstorm', peak: 100, rampMs: 30_000 },
  smoke: { type: 'fire', rampMs: 30_000 },
  gas: { type: 'gas_leak', peak: 50, rampMs: 30_000 },
  manhole: { type: 'manhole_open' },
  air: { type: 'fire', rampMs: 30_000 },
  camera: { type: 'crowd', count: 5000, rampMs: 30_000 },
};

export function fleetFor(opts: Pick<SimulationOptions, 'city' | 'scenario' | 'devices' | 'prefix' | 'seed'>): SimDevice[] {
  return planFleet(opts.city, opts.scenario.fleet ?? mixedFleet(opts.devices ?? 20), opts.prefix, seededRandom(opts.seed));
}

export async function runSimulation(opts: SimulationOptions): Promise<SimulationResult> {
  const log = opts.log ?? (() => undefined);
  const { scenario, start } = opts;
  const fleet = fleetFor(opts);
  const intervalOf = (d: SimDevice): number => opts.intervalMs ?? scenario.intervalMs ?? MODELS[d.kind].intervalMs;
  const incidents = resolveTimeline(scenario, fleet, opts.city, { start, prefix: opts.prefix, intervalMs: intervalOf });
  const pickRand = seededRandom(opts.seed ^ 0x5eed);
  const hazardOn = (kind: DeviceKind, at: number): string | undefined => {
    const template = HAZARD_FOR_KIND[kind];
    const candidates = fleet.filter((d) => d.kind === kind);
    const target = candidates[Math.floor(pickRand() * candidates.length)];
    if (!template || !target) return undefined;
    const incident = { ...template, start: at, end: Infinity, type: template.type as IncidentType };
    incidents.set(target.id, [...(incidents.get(target.id) ?? []), incident]);
    engine?.addIncident(target.id, incident);
    return `${incident.type} at ${target.id} (${target.kind}) in ${target.zoneId ?? 'no zone'}`;
  };
  let engine: SimulationEngine | undefined;
  if (opts.hazard) {
    const kind = KIND_FOR_METRIC.get(opts.hazard.metric);
    if (!kind) throw new StreetWatchError('SW_ERR_INPUT_FILE', ['--hazard', `no simulated device reports ${opts.hazard.metric}; try one of ${[...KIND_FOR_METRIC.keys()].join(', ')}`]);
    const what = hazardOn(kind, start + opts.hazard.afterMs);
    if (!what) throw new StreetWatchError('SW_ERR_INPUT_FILE', ['--hazard', `the fleet has no ${kind} device`]);
    log(`hazard: ${what} from +${opts.hazard.afterMs / 1000}s`);
  }
  engine = new SimulationEngine({ fleet, seed: opts.seed, start, intervalMs: opts.intervalMs ?? scenario.intervalMs, background: scenario.background, incidents });
  const end = scenario.durationMs === undefined ? Infinity : start + scenario.durationMs;

  const client = new StreetWatchClient(opts.api, opts.token);
  const provisioning = progressBar(opts.progress ?? false, 'provisioning [{bar}] {value}/{total} devices', fleet.length, {});
  // The simulator owns its devices: an earlier run's device gets a fresh secret, as a re-flashed one would.
  const answer = await client.importDevices(
    fleet.map((d) => ({ id: d.id, kind: d.kind, location: d.location })),
    'rotate',
    (done) => provisioning.update(done, {}),
  );
  provisioning.stop();
  const failed = answer.results.filter((r) => r.outcome === 'failed');
  if (failed.length > 0) throw new Error(`provisioning failed for ${failed.length} devices, e.g. ${failed[0]!.id}: ${'error' in failed[0]! ? failed[0].error.message : ''}`);
  const secrets = answer.results.flatMap((r) => ('secret' in r ? [{ id: r.id, secret: r.secret }] : []));

  const connections = new DeviceConnections(opts.mqtt);
  const recorder = opts.recordTo
    ? await RecordingWriter.open(opts.recordTo, { scenario: scenario.name, seed: opts.seed, start, createdAt: new Date().toISOString() }, fleet)
    : undefined;
  try {
    const connecting = progressBar(opts.progress ?? false, 'connecting   [{bar}] {value}/{total} devices', fleet.length, {});
    await connections.connectAll(secrets, { onProgress: (n) => connecting.update(n, {}) });
    connecting.stop();
    log(`${connections.size} devices connected to ${opts.mqtt}; simulating ${scenario.name}${Number.isFinite(end) ? ` for ${formatSeconds((end - start) / 1000)}` : ''} at ${Number.isFinite(opts.speed) ? `${opts.speed}x` : 'full speed'}`);

    const bounded = Number.isFinite(end);
    const bar = progressBar(
      opts.progress ?? false,
      bounded
        ? 'simulating [{bar}] {percentage}% | {clock} | {rate} msg/s | sent {sent} acked {acked} rejected {rejected} | {lag}'
        : 'simulating | {clock} | {rate} msg/s | sent {sent} acked {acked} rejected {rejected} | {lag}',
      bounded ? end - start : 1,
      { clock: new Date(start).toISOString().slice(0, 19).replace('T', ' '), rate: 0, sent: 0, acked: 0, rejected: 0, lag: 'starting' },
    );
    const rate = new RateMeter();
    const wall0 = performance.now();
    const maxInflight = opts.maxInflight ?? DEFAULT_MAX_INFLIGHT;
    let simulated = start;
    const simNow = (): number => Math.min(end, start + (performance.now() - wall0) * opts.speed);
    const hazardKinds = fleet.filter((d) => HAZARD_FOR_KIND[d.kind]).map((d) => d.kind);
    opts.onRunning?.({ hazardNow: () => (hazardKinds.length ? hazardOn(hazardKinds[Math.floor(pickRand() * hazardKinds.length)]!, simNow()) : undefined) });
    let lastReport = 0;
    const report = (force = false): void => {
      const now = performance.now();
      if (!force && now - lastReport < 200) return;
      lastReport = now;
      const { stats } = connections;
      const behind = simNow() - simulated;
      bar.update(bounded ? simulated - start : 0, {
        clock: new Date(simulated).toISOString().slice(0, 19).replace('T', ' '),
        rate: formatCount(rate.update(now, stats.acked)),
        sent: formatCount(stats.sent),
        acked: formatCount(stats.acked),
        rejected: formatCount(stats.rejected),
        lag: Number.isFinite(opts.speed) && behind > 5000 * opts.speed ? `behind by ${Math.round(behind / 1000)} s simulated` : 'on time',
      });
    };

    while (!opts.signal?.aborted && engine.nextDue() <= end) {
      const due = simNow();
      const room = maxInflight - connections.inflight;
      if (engine.nextDue() > due || room <= 0 || (recorder && !recorder.ready)) {
        report();
        if (recorder && !recorder.ready) await recorder.drained();
        else if (room <= 0) await connections.waitForRoom(maxInflight);
        else await sleep(Math.min(TICK_MS, Math.max(1, (engine.nextDue() - due) / opts.speed)));
        continue;
      }
      for (const e of engine.take(due, Math.min(room, BATCH))) {
        connections.publish(e.deviceId, e.topic, e.payload);
        recorder?.publish(e);
        simulated = e.t;
      }
      report();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await connections.drain();
    const publishMs = performance.now() - wall0;
    report(true);
    bar.stop();
    const { stats } = connections;
    return {
      devices: fleet.length,
      sent: stats.sent,
      acked: stats.acked,
      rejected: stats.rejected,
      failed: stats.failed,
      simulatedMs: simulated - start,
      publishMs,
      messagesPerSecond: publishMs > 0 ? (stats.acked * 1000) / publishMs : 0,
      lastErrors: stats.lastErrors,
    };
  } finally {
    await recorder?.close();
    await connections.closeAll();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
