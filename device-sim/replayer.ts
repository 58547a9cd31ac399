/**
 * Replays a recording (or a CSV of readings) over MQTT, as the devices that published it: each
 * publish goes out with its recorded payload, paced by its recorded time compressed `speed`
 * times. The payloads carry their own timestamps, so the platform stores exactly the readings
 * of the recorded run.
 */
import { StreetWatchClient } from '../api/client.js';
import { StreetWatchError } from '../core/errors.js';
import { DeviceConnections } from './connections.js';
import { RateMeter, formatCount, formatSeconds, progressBar } from './progress.js';
import { planReplay, readReplayFile } from './recording.js';

export interface ReplayOptions {
  file: string;
  api: string;
  mqtt: string;
  token: string;
  /** Recorded seconds per wall second; Infinity sends as fast as the broker acknowledges. */
  speed: number;
  /**
   * Devices that already exist get a new secret so replay can connect as them. Off by default:
   * on a live system that locks the real device out.
   */
  rotateExisting?: boolean;
  progress?: boolean;
  maxInflight?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface ReplayResult {
  devices: number;
  published: number;
  acked: number;
  rejected: number;
  failed: number;
  /** Recorded time covered. */
  recordedMs: number;
  wallMs: number;
  messagesPerSecond: number;
  lastErrors: string[];
}

export async function runReplay(opts: ReplayOptions): Promise<ReplayResult> {
  const log = opts.log ?? (() => undefined);
  const plan = await planReplay(opts.file);
  if (plan.publishes === 0) throw new StreetWatchError('SW_ERR_INPUT_FILE', [opts.file, 'has no publishes to replay']);
  log(`${opts.file}: ${formatCount(plan.publishes)} publishes from ${plan.devices.size} devices over ${formatSeconds((plan.last - plan.first) / 1000)}`);

  const client = new StreetWatchClient(opts.api, opts.token);
  const described = [...plan.devices.values()].filter((d) => d !== undefined);
  const onExisting = opts.rotateExisting ? 'rotate' : 'fail';
  const answer = await client.importDevices(described.map((d) => ({ id: d.id, kind: d.kind, location: d.location })), onExisting);
  const exists = answer.results.filter((r) => r.outcome === 'failed' && r.error.code === 'SW_ERR_DEVICE_EXISTS').map((r) => r.id);
  if (exists.length > 0) {
    throw new StreetWatchError('SW_ERR_INPUT_FILE', [opts.file, `${exists.length} of its devices already exist (${exists.slice(0, 3).join(', ')}...): replaying as them needs new secrets, pass --rotate-existing`]);
  }
  const broken = answer.results.find((r) => r.outcome === 'failed');
  if (broken && 'error' in broken) throw new Error(`provisioning ${broken.id} failed: ${broken.error.code} ${broken.error.message}`);
  const secrets = answer.results.flatMap((r) => ('secret' in r ? [{ id: r.id, secret: r.secret }] : []));
  // Devices named only by a CSV must exist: replay cannot know where they are.
  for (const [id, d] of plan.devices) {
    if (d !== undefined) continue;
    if (!opts.rotateExisting) throw new StreetWatchError('SW_ERR_INPUT_FILE', [opts.file, `device ${id} is not described in the file: provision it first, then replay with --rotate-existing`]);
    secrets.push(await client.rotateSecret(id));
  }

  const connections = new DeviceConnections(opts.mqtt);
  try {
    await connections.connectAll(secrets);
    const bounded = Number.isFinite(opts.speed);
    const bar = progressBar(opts.progress ?? false, 'replaying [{bar}] {percentage}% | {value}/{total} | {rate} msg/s | acked {acked} rejected {rejected} | ETA {remaining}', plan.publishes, { rate: 0, acked: 0, rejected: 0, remaining: '-' });
    const rate = new RateMeter();
    const maxInflight = opts.maxInflight ?? 2000;
    const wall0 = performance.now();
    let sent = 0;
    let lastReport = 0;
    const report = (t: number, force = false): void => {
      const now = performance.now();
      if (!force && now - lastReport < 200) return;
      lastReport = now;
      const perSecond = rate.update(now, connections.stats.acked);
      // Paced by the recording, the time left is the recorded time left; flat out, the backlog at the current rate.
      const remaining = bounded ? (plan.last - t) / opts.speed / 1000 : perSecond > 0 ? (plan.publishes - sent) / perSecond : Infinity;
      bar.update(sent, {
        rate: formatCount(perSecond),
        acked: formatCount(connections.stats.acked),
        rejected: formatCount(connections.stats.rejected),
        remaining: formatSeconds(remaining),
      });
    };

    for await (const item of readReplayFile(opts.file)) {
      if (opts.signal?.aborted) break;
      if (item.type !== 'publish') continue;
      const { t, deviceId, topic, payload } = item.publish;
      if (bounded) {
        const wait = wall0 + (t - plan.first) / opts.speed - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await connections.waitForRoom(maxInflight);
      connections.publish(deviceId, topic, payload);
      sent++;
      report(t);
    }
    await connections.drain();
    report(plan.last, true);
    bar.stop();
    const wallMs = performance.now() - wall0;
    const { stats } = connections;
    return {
      devices: plan.devices.size,
      published: stats.sent,
      acked: stats.acked,
      rejected: stats.rejected,
      failed: stats.failed,
      recordedMs: plan.last - plan.first,
      wallMs,
      messagesPerSecond: wallMs > 0 ? (stats.acked * 1000) / wallMs : 0,
      lastErrors: stats.lastErrors,
    };
  } finally {
    await connections.closeAll();
  }
}
