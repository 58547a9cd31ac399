/**
 * The embedded pipeline without MQTT: raw publishes handed to the bus as the broker hands them
 * (one record per publish, a fixed number in flight, each answered when the log has it), with
 * ingest, detectors and alerting running on a fresh data directory; prints the CPU time per
 * stored reading. It isolates the pipeline's cost from the broker's and the sockets', and runs in
 * seconds, so two versions can be compared side by side:
 *
 *   node --import ./app/ts-loader.mjs bench/pipeline.ts --devices 1000 --seconds 10 [--inflight 1000]
 *   node --import ./app/ts-loader.mjs bench/pipeline.ts --devices 10000 --cpu-prof /tmp/p10k.cpuprofile
 *   node --import ./app/ts-loader.mjs bench/pipeline.ts --devices 10000 --heap-prof /tmp/p10k.heapprofile
 *   node --trace-gc --import ./app/ts-loader.mjs bench/pipeline.ts --rate 4400 --seconds 20 [--heap-prof f --promoted]
 *
 * `--cpu-prof` profiles the measured window only, without the provisioning and warm-up that
 * `node --cpu-prof` would mix in. `--heap-prof` samples where the measured window allocates (what
 * the garbage collector's share comes from), collected objects included; both open in Chrome's
 * DevTools. `--rate` sends a fixed number of publishes a second instead of keeping a number in
 * flight, as the latency scenario does; with `--trace-gc` it shows what reaches the old
 * generation at that rate, and `--promoted` keeps only that in the heap profile (what survived the
 * young generation: still live at the end, or freed by a full collection).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { Command } from 'commander';
import { startPlatform } from '../app/platform.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { benchCity, provisionDevices, sensorFleet, TelemetrySource } from './fleet.js';

const opts = new Command('pipeline')
  .option('--devices <n>', 'fleet size', (v) => Number(v), 1_000)
  .option('--seconds <n>', 'measured window, after 3 s of warm-up', (v) => Number(v), 10)
  .option('--inflight <n>', 'publishes kept unanswered', (v) => Number(v), 1_000)
  .option('--rate <n>', 'publishes per second, instead of a number in flight', (v) => Number(v))
  .option('--cpu-prof <file>', 'write a V8 CPU profile of the measured window to this file')
  .option('--heap-prof <file>', 'write a V8 sampling heap profile of what the measured window allocates to this file')
  .option('--promoted', 'the heap profile keeps only what outlived the young generation')
  .parse()
  .opts<{ devices: number; seconds: number; inflight: number; rate?: number; cpuProf?: string; heapProf?: string; promoted?: boolean }>();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-pipeline-'));
const fleet = sensorFleet(benchCity(), opts.devices);
await provisionDevices(dir, fleet);
const platform = await startPlatform({ config: loadConfig({ STREETWATCH_DATA_DIR: dir, STREETWATCH_STAGES: 'ingest,detectors,alerting', LOG_LEVEL: 'warn' }), logger: createLogger('warn') });
const source = new TelemetrySource(fleet.map((d) => ({ id: d.id, kind: d.kind, zoneKind: d.zoneKind, zoneTags: d.zoneTags })));
const topics = fleet.map((d, i) => `v1/devices/${d.id}/${source.channels[i]}`);
const stored = async (): Promise<number> => (await platform.metrics.readingsStored.get()).values.reduce((n, v) => n + v.value, 0);

let running = true;
let turn = 0;
let sent = 0;
const send = (): void => {
  const i = turn;
  turn = (turn + 1) % fleet.length;
  const now = Date.now();
  // Distinct timestamps per device, so that no reading is a duplicate the store drops.
  const { payload } = source.next(i, now + (sent++ % 1_000));
  void platform.bus
    .publish('sw.raw', [{ key: fleet[i]!.id, value: { id: randomUUID(), clientId: fleet[i]!.id, topic: topics[i]!, payload: Buffer.from(payload), qos: 1, receivedAt: now } }])
    .then(() => {
      if (running && opts.rate === undefined) send();
    });
};
if (opts.rate === undefined) {
  for (let k = 0; k < opts.inflight; k++) send();
} else {
  // On schedule, every 5 ms: what a pause delayed is sent at once after it, as devices would.
  const interval = 1_000 / opts.rate;
  let due = performance.now();
  const tick = (): void => {
    if (!running) return;
    for (const now = performance.now(); due <= now; due += interval) send();
    setTimeout(tick, 5);
  };
  tick();
}
await new Promise((r) => setTimeout(r, 3_000));
const profiler = opts.cpuProf === undefined && opts.heapProf === undefined ? undefined : new Session();
if (profiler) {
  profiler.connect();
  if (opts.cpuProf !== undefined) {
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  if (opts.heapProf !== undefined) {
    await profiler.post('HeapProfiler.enable');
    // Objects the collector has already freed stay in the profile: they are the churn (with
    // `--promoted`, only what a full collection freed).
    await profiler.post('HeapProfiler.startSampling', { samplingInterval: 32_768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: opts.promoted !== true });
  }
}
const s0 = await stored();
const c0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, opts.seconds * 1_000));
const s1 = await stored();
const cpu = process.cpuUsage(c0);
const wall = (performance.now() - t0) / 1_000;
running = false;
if (profiler) {
  if (opts.cpuProf !== undefined) {
    const { profile } = await profiler.post('Profiler.stop');
    fs.writeFileSync(opts.cpuProf, JSON.stringify(profile));
  }
  if (opts.heapProf !== undefined) {
    const { profile } = await profiler.post('HeapProfiler.stopSampling');
    fs.writeFileSync(opts.heapProf, JSON.stringify(profile));
  }
  profiler.disconnect();
}
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({
    devices: opts.devices,
    ...(opts.rate === undefined ? { inflight: opts.inflight } : { rate: opts.rate }),
    readingsPerSecond: Math.round((s1 - s0) / wall),
    cpuShare: +(cpuSeconds / wall).toFixed(2),
    cpuMicrosPerReading: +((cpuSeconds * 1e6) / Math.max(1, s1 - s0)).toFixed(1),
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  })}\n`,
);
await platform.stop();
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
