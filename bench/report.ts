/**
 * The benchmark's results: one JSON document with every figure and the machine, and the same
 * as Markdown tables for people.
 */
import type { GeofenceBenchResult } from './geofence.js';
import type { Machine } from './machine.js';
import type { LatencySummary } from './stats.js';
import type { ClusterRow } from './scenarios/cluster.js';
import type { ConnectionsResult } from './scenarios/connections.js';
import type { DistributedRow } from './scenarios/distributed.js';
import type { LatencyRow } from './scenarios/latency.js';
import { STALL_MS, type LogWatchResult } from './log-watch.js';
import type { SoakResult } from './scenarios/soak.js';
import type { ThroughputRow } from './scenarios/throughput.js';

export interface BenchResults {
  kind: 'full' | 'quick';
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  cpuPlan: string;
  /** 1-minute load averages noted at the start and end of each measurement. */
  loads: { what: string; load: number }[];
  mosquitto: string | undefined;
  throughput: ThroughputRow[];
  distributed: DistributedRow[];
  latency: LatencyRow[];
  connections: ConnectionsResult | undefined;
  geofence: GeofenceBenchResult[];
  soak: SoakResult | undefined;
  reference: ThroughputRow[];
  cluster: ClusterRow[];
  /** A bare Aedes broker relaying the reference's load (scenario 9); absent in runs before it was measured. */
  aedes?: ThroughputRow[];
  /** Scenarios asked for and not run, with the reason. */
  skipped: { scenario: string; reason: string }[];
  /** Scenarios that threw, with the error's message; the run went on to the next one. */
  failed?: { scenario: string; error: string }[];
  targets: Target[];
}

export interface Target {
  target: string;
  measured: string;
  met: boolean | undefined;
}

const n0 = (v: number): string => Math.round(v).toLocaleString('en-US');
const ms = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const pct = (v: number): string => `${Math.round(v * 100)}%`;
/** A process's CPU, and its main thread's part where it was measured: `114% (98%)`. */
const cpuOf = (r: { cpu: number; loopCpu?: number }): string => (r.loopCpu === undefined ? pct(r.cpu) : `${pct(r.cpu)} (${pct(r.loopCpu)})`);
const us = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(1));
const lat = (s: LatencySummary | undefined): string => (s ? `${ms(s.p50)} / ${ms(s.p99)}` : '–');

/** StreetWatch's QoS 1 rate over Mosquitto's relay rate, for each fleet size measured on both. */
export function referenceRatios(r: Pick<BenchResults, 'throughput' | 'reference'>): { devices: number; qos: 0 | 1; ratio: number; perCpu: number; swMicros: number; mosquittoMicros: number }[] {
  const out: { devices: number; qos: 0 | 1; ratio: number; perCpu: number; swMicros: number; mosquittoMicros: number }[] = [];
  for (const m of r.reference) {
    const sw = r.throughput.find((t) => t.devices === m.devices && t.qos === m.qos);
    if (!sw) continue;
    out.push({
      devices: m.devices,
      qos: m.qos,
      ratio: sw.publishesPerSecond / m.publishesPerSecond,
      perCpu: sw.publishesPerSecond / sw.cpu / (m.publishesPerSecond / m.cpu),
      swMicros: sw.cpuMicrosPerReading,
      mosquittoMicros: m.cpuMicrosPerReading,
    });
  }
  return out;
}

/** A bare Aedes broker's relay rate over Mosquitto's, and StreetWatch's QoS 1 rate over Aedes', for each fleet size measured on them. */
export function aedesRatios(r: Pick<BenchResults, 'throughput' | 'reference' | 'aedes'>): { devices: number; qos: 0 | 1; ofMosquitto: number | undefined; streetwatchOfAedes: number | undefined; aedesMicros: number }[] {
  return (r.aedes ?? []).map((a) => {
    const m = r.reference.find((t) => t.devices === a.devices && t.qos === a.qos);
    const sw = r.throughput.find((t) => t.devices === a.devices && t.qos === a.qos);
    return {
      devices: a.devices,
      qos: a.qos,
      ofMosquitto: m && a.publishesPerSecond / m.publishesPerSecond,
      streetwatchOfAedes: sw && sw.publishesPerSecond / a.publishesPerSecond,
      aedesMicros: a.cpuMicrosPerReading,
    };
  });
}

/** Which scenario each target is measured by, for saying "failed" when that scenario threw. */
const TARGET_SCENARIOS: readonly (readonly string[])[] = [['1. throughput', '7. reference'], ['3. latency'], ['4. connections'], ['5. geofence'], ['6. soak']];

/** The error of the first of `scenarios` that failed. */
function failureOf(r: Pick<BenchResults, 'failed'>, scenarios: readonly string[]): string | undefined {
  return r.failed?.find((f) => scenarios.includes(f.scenario))?.error;
}

export function evaluateTargets(r: Omit<BenchResults, 'targets'>): Target[] {
  const targets = measuredTargets(r).map((t, k) => {
    const error = t.met === undefined ? failureOf(r, TARGET_SCENARIOS[k]!) : undefined;
    return error === undefined ? t : { ...t, measured: `failed: ${error}` };
  });
  // A failed scenario no target is measured by still gets its row: the run did not complete.
  for (const f of r.failed ?? []) {
    if (!TARGET_SCENARIOS.some((s) => s.includes(f.scenario))) targets.push({ target: `${f.scenario} runs to the end`, measured: `failed: ${f.error}`, met: false });
  }
  return targets;
}

/** What a bare Aedes broker relayed in the same run, as a share of Mosquitto's rate: the ceiling of a broker in JavaScript on that core. */
function aedesCeiling(r: Omit<BenchResults, 'targets'>): string {
  const bare = aedesRatios(r).filter((x) => x.qos === 1 && x.ofMosquitto !== undefined);
  return bare.length ? `; a bare Aedes relays ${bare.map((x) => `${x.ofMosquitto!.toFixed(2)}×`).join(', ')}` : '';
}

function measuredTargets(r: Omit<BenchResults, 'targets'>): Target[] {
  const targets: Target[] = [];
  const ratios = referenceRatios(r).filter((x) => x.qos === 1);
  targets.push({
    target: 'embedded pipeline ≥ 0.6× Mosquitto relay rate, QoS 1',
    measured: ratios.length ? ratios.map((x) => `${x.ratio.toFixed(2)}× at ${n0(x.devices)} devices (${us(x.swMicros)} CPU-µs per reading)`).join(', ') + aedesCeiling(r) : 'not measured',
    met: ratios.length ? ratios.every((x) => x.ratio >= 0.6) : undefined,
  });
  const half = r.latency.find((l) => l.share === 0.5);
  targets.push({
    target: 'p99 publish → webhook < 50 ms at half the maximum rate',
    measured: half ? `${ms(half.webhook.p99)} ms` : 'not measured',
    met: half ? half.webhook.p99 < 50 && half.missing === 0 : undefined,
  });
  const c = r.connections;
  targets.push({
    target: '10k connections under 1 GiB RSS',
    measured: c ? `${n0(c.rssMiB)} MiB with ${n0(c.connected)} connections` : 'not measured',
    met: c && c.devices >= 10_000 ? c.rssMiB < 1024 : undefined,
  });
  const g = r.geofence.find((x) => x.zones === 10_000 && x.method === 'indexed');
  targets.push({
    target: '≥ 1M geofence lookups/s at 10k zones',
    measured: g ? `${n0(g.lookupsPerSecond)} lookups/s (${n0(g.lookupsPerCpuSecond)} per CPU-second)` : 'not measured',
    met: g ? g.lookupsPerSecond >= 1e6 : undefined,
  });
  const s = r.soak;
  targets.push({
    target: 'RSS growth under 5% over the soak',
    measured: s ? `${s.growthPercent.toFixed(1)}% over ${+s.minutes.toFixed(2)} min` : 'not measured',
    met: s && s.minutes >= 10 ? s.growthPercent < 5 : undefined,
  });
  return targets;
}

export function toMarkdown(r: BenchResults): string {
  const m = r.machine;
  const loads = r.loads.map((l) => l.load);
  const lines: string[] = [];
  const table = (head: string[], rows: string[][]): void => {
    lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((x) => `| ${x.join(' | ')} |`), '');
  };
  // A scenario that threw has its section still, saying so.
  const failedSection = (scenario: string, heading: string): void => {
    const error = failureOf(r, [scenario]);
    if (error !== undefined) lines.push(heading, '', `failed: ${error}`, '');
  };
  lines.push(`# StreetWatch benchmark (${r.kind})`, '');
  lines.push(`\`${r.command}\`, ${r.startedAt} → ${r.finishedAt}, commit ${m.commit}.`, '');
  lines.push(`- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}, Node ${m.node}`);
  lines.push(`- Cores: ${r.cpuPlan}`);
  lines.push(`- Load average (1 min) at the start: ${m.loadAverage.join(', ')}; during the measurements: ${loads.length ? `${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}` : '–'}`);
  if (r.mosquitto) lines.push(`- Reference broker: Mosquitto ${r.mosquitto}`);
  if (r.kind === 'quick') lines.push('- Quick run: short windows and small fleets, a smoke test; its figures are not comparable with a full run');
  lines.push('');

  lines.push('## Targets', '');
  table(
    ['target', 'measured', 'met'],
    r.targets.map((t) => [t.target, t.measured, t.met === undefined ? '–' : t.met ? 'yes' : 'no']),
  );

  failedSection('1. throughput', '## 1. Ingest throughput, embedded');
  if (r.throughput.length) {
    lines.push('## 1. Ingest throughput, embedded', '');
    table(
      ['devices', 'QoS', 'load', 'publishes/s stored', 'acknowledged/s', 'readings/s stored', 'p50 / p99 ms', 'latency of', 'platform CPU (event loop)', 'CPU-µs per reading', 'RSS MiB', 'generator CPU', 'load avg'],
      r.throughput.map((t) => [n0(t.devices), String(t.qos), t.load, n0(t.publishesPerSecond), t.ackedPerSecond === undefined ? '–' : n0(t.ackedPerSecond), n0(t.readingsPerSecond), lat(t.latency), t.latencyOf, cpuOf(t), us(t.cpuMicrosPerReading), n0(t.rssMiB), pct(t.generatorCpu), t.loadAverage.toFixed(2)]),
    );
  }
  failedSection('2. distributed', '## 2. Ingest throughput, distributed');
  if (r.distributed.length) {
    lines.push('## 2. Ingest throughput, distributed', '');
    lines.push('Stages as separate processes (not pinned) on Kafka, InfluxDB and Redis running on the same machine; QoS 1, closed loop.', '');
    table(
      ['devices', 'ingest / detectors processes', 'load', 'acknowledged publishes/s', 'stored readings/s', 'publish → PUBACK p50 / p99 ms', 'stages CPU', 'generator CPU', 'load avg'],
      r.distributed.map((t) => [n0(t.devices), `${t.ingestProcesses} / ${t.detectorProcesses}`, `${n0(t.inflight)} in flight`, n0(t.publishesPerSecond), n0(t.storedReadingsPerSecond), lat(t.latency), pct(t.stagesCpu), pct(t.generatorCpu), t.loadAverage.toFixed(2)]),
    );
  }
  failedSection('3. latency', '## 3. End-to-end alert latency (open loop)');
  if (r.latency.length) {
    lines.push('## 3. End-to-end alert latency (open loop)', '');
    table(
      ['share of max', 'offered publishes/s', 'acked/s', 'stored p50 / p99 ms', 'webhook p50 / p99 ms', 'webhook max ms', 'alerts', 'missing', 'devices closed', 'platform CPU (event loop)', 'load avg'],
      r.latency.map((l) => [pct(l.share), n0(l.offeredPerSecond), n0(l.ackedPerSecond), lat(l.stored), lat(l.webhook), ms(l.webhook.max), n0(l.webhook.count), n0(l.missing), l.closed === undefined ? '–' : n0(l.closed), cpuOf(l), l.loadAverage.toFixed(2)]),
    );
    for (const l of r.latency) if (l.log) lines.push(`At ${pct(l.share)}: ${logWatchLine(l.log)}`, '');
  }
  failedSection('4. connections', '## 4. Connections');
  if (r.connections) {
    const c = r.connections;
    lines.push('## 4. Connections', '');
    table(
      ['devices connected', 'connect time s', 'reconnect time s', 'CPU while connecting', 'RSS idle MiB', 'RSS connected MiB', 'reporting publishes/s', 'CPU while reporting', 'stored p50 / p99 ms', 'load avg'],
      [[n0(c.connected), c.connectSeconds.toFixed(1), c.reconnectSeconds?.toFixed(1) ?? '–', pct(c.connectCpu), n0(c.rssBeforeMiB), n0(c.rssMiB), n0(c.publishesPerSecond), pct(c.cpu), lat(c.stored), c.loadAverage.toFixed(2)]],
    );
  }
  failedSection('5. geofence', '## 5. Geofence lookups');
  if (r.geofence.length) {
    lines.push('## 5. Geofence lookups', '');
    table(
      ['zones', 'method', 'lookups/s', 'lookups per CPU-second', 'zones per lookup'],
      r.geofence.map((g) => [n0(g.zones), g.method, n0(g.lookupsPerSecond), n0(g.lookupsPerCpuSecond), g.hitsPerLookup.toFixed(3)]),
    );
  }
  failedSection('6. soak', '## 6. Soak');
  if (r.soak) {
    const s = r.soak;
    lines.push('## 6. Soak', '');
    table(
      ['minutes', 'offered publishes/s', 'acked/s', 'RSS after warm-up MiB', 'RSS at the end MiB', 'growth', 'trend after warm-up', 'RSS max MiB', 'store start / end MiB', 'store MiB/h', 'stored p50 / p99 ms', 'webhook p50 / p99 ms', 'missing', 'devices closed', 'platform CPU (event loop)', 'load avg start / max / end'],
      [
        [
          String(+s.minutes.toFixed(2)),
          n0(s.ratePerSecond),
          n0(s.ackedPerSecond),
          s.rssStartMiB.toFixed(1),
          s.rssEndMiB.toFixed(1),
          `${s.growthPercent.toFixed(1)}%`,
          `${s.trendPercent.toFixed(1)}%`,
          s.rssMaxMiB.toFixed(1),
          `${n0(s.storeStartMiB)} / ${n0(s.storeEndMiB)}`,
          n0(s.storeMiBPerHour),
          lat(s.stored),
          lat(s.webhook),
          n0(s.missing),
          n0(s.closed ?? 0),
          cpuOf(s),
          `${s.loadAverage.start} / ${s.loadAverage.max} / ${s.loadAverage.end}`,
        ],
      ],
    );
    if (s.log) lines.push(logWatchLine(s.log), '');
    if (s.webhookWindows?.length) lines.push(`Webhook p99 / max ms of the alarms sent in each window (minutes from the start): ${s.webhookWindows.map(([m, , p99, max]) => `${+m.toFixed(1)}: ${p99.toFixed(0)} / ${max.toFixed(0)}`).join(', ')}.`, '');
  }
  failedSection('7. reference', '## 7. Reference: Mosquitto relaying to one subscriber');
  if (r.reference.length) {
    lines.push('## 7. Reference: Mosquitto relaying to one subscriber', '');
    table(
      ['devices', 'QoS', 'load', 'relayed/s', 'p50 / p99 ms', 'broker CPU', 'CPU-µs per reading', 'RSS MiB', 'generator CPU', 'load avg'],
      r.reference.map((t) => [n0(t.devices), String(t.qos), t.load, n0(t.publishesPerSecond), lat(t.latency), pct(t.cpu), us(t.cpuMicrosPerReading), n0(t.rssMiB), pct(t.generatorCpu), t.loadAverage.toFixed(2)]),
    );
    const ratios = referenceRatios(r);
    if (ratios.length) {
      lines.push('StreetWatch / Mosquitto per fleet, from the same run; CPU-µs per reading of each (the cost that must not grow with the fleet):', '');
      table(
        ['devices', 'QoS', 'StreetWatch / Mosquitto', 'per CPU-second', 'StreetWatch CPU-µs per reading', 'Mosquitto CPU-µs per reading'],
        ratios.map((x) => [n0(x.devices), String(x.qos), `${x.ratio.toFixed(2)}×`, `${x.perCpu.toFixed(2)}×`, us(x.swMicros), us(x.mosquittoMicros)]),
      );
    }
  }
  failedSection('9. aedes', '## 9. Reference: a bare Aedes broker relaying to one subscriber');
  if (r.aedes?.length) {
    lines.push('## 9. Reference: a bare Aedes broker relaying to one subscriber', '');
    lines.push("Aedes as its package ships (in-memory persistence, no hooks, none of StreetWatch's code), started as the platform is and on its core, relaying the reference's load: how far MQTT in JavaScript goes there before anything is stored.", '');
    table(
      ['devices', 'QoS', 'load', 'relayed/s', 'p50 / p99 ms', 'broker CPU', 'CPU-µs per reading', 'RSS MiB', 'generator CPU', 'load avg'],
      r.aedes.map((t) => [n0(t.devices), String(t.qos), t.load, n0(t.publishesPerSecond), lat(t.latency), cpuOf(t), us(t.cpuMicrosPerReading), n0(t.rssMiB), pct(t.generatorCpu), t.loadAverage.toFixed(2)]),
    );
    const ratio = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(2)}×`);
    table(
      ['devices', 'QoS', 'bare Aedes / Mosquitto', 'StreetWatch / bare Aedes'],
      aedesRatios(r).map((x) => [n0(x.devices), String(x.qos), ratio(x.ofMosquitto), ratio(x.streetwatchOfAedes)]),
    );
  }
  failedSection('8. cluster', '## 8. Broker cluster behind HAProxy');
  if (r.cluster?.length) {
    const s = (v: number): string => (Number.isNaN(v) ? '–' : (v / 1000).toFixed(1));
    lines.push('## 8. Broker cluster behind HAProxy', '');
    lines.push('Broker nodes (`--stages broker,api`, one process each, on Redis and Kafka) behind HAProxy in TCP mode with send-proxy-v2; the fleet connects through HAProxy; QoS 1 throughput by 100 further devices, closed loop.', '');
    table(
      ['nodes', 'connections held', 'per node', 'connect time s', 'RSS per node MiB', 'HAProxy RSS MiB', 'RSS per 10k connections MiB (added by them)', 'QoS 1 acknowledged/s through HAProxy', 'p50 / p99 ms', 'load avg (/proc/loadavg)'],
      r.cluster.map((c) => [
        String(c.nodes),
        n0(c.connected),
        c.perNode.map(n0).join(' / '),
        c.connectSeconds.toFixed(1),
        c.rssNodesMiB.map(n0).join(' / '),
        n0(c.rssHaproxyMiB),
        `${n0(c.rssPer10kMiB)} (${n0(c.rssAddedPer10kMiB)})`,
        n0(c.publishesPerSecond),
        lat(c.latency),
        `${c.loadAverage.toFixed(2)} (${c.procLoadavg})`,
      ]),
    );
    const f = r.cluster[0]!.nofile;
    lines.push(`Open-file limits: HAProxy ${n0(f.haproxy)} (two per connection through it), each node ${n0(f.node)}, each load generator ${n0(f.loadgen)}.`, '');
    const direct = r.cluster.find((c) => c.directPublishesPerSecond !== undefined);
    if (direct) lines.push(`One node without HAProxy, same run: ${n0(direct.directPublishesPerSecond!)} QoS 1 publishes/s acknowledged (p50 / p99 ${lat(direct.directLatency)} ms).`, '');
    const kills = r.cluster.filter((c) => c.kill);
    if (kills.length) {
      lines.push('SIGKILL of one node: time from the kill until each of its devices is connected and subscribed again through HAProxy (200 handshakes at a time per load generator).', '');
      table(
        ['nodes', "victim's devices", 'dropped', 'back', 'failed attempts', 'p50 s', 'p99 s', 'max s', 'connections on the nodes left'],
        kills.map((c) => [String(c.nodes), n0(c.kill!.victimConnections), n0(c.kill!.dropped), n0(c.kill!.reconnected), n0(c.kill!.failedAttempts), s(c.kill!.ms.p50), s(c.kill!.ms.p99), s(c.kill!.ms.max), n0(c.kill!.connectedAfter)]),
      );
    }
  }
  if (r.skipped.length) {
    lines.push('## Not run', '');
    for (const s of r.skipped) lines.push(`- ${s.scenario}: ${s.reason}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The event loop's longest delay and the sample periods that held it STALL_MS or more, with what grew in each. */
function stallsText(w: LogWatchResult): string {
  if (w.loopDelayMaxMs === undefined) return '';
  const longest = ` Longest event-loop delay: ${n0(w.loopDelayMaxMs)} ms`;
  if (!w.stallCount) return `${longest}; no sample period with a delay of ${STALL_MS} ms or more.`;
  const shown = (w.stalls ?? []).slice(0, 5).map((s) => {
    const steps = Object.entries(s.steps).map(([name, n]) => `${name} ${n0(n)}`).join(', ');
    return `${n0(s.loopDelayMs)} ms by ${n0(s.at)} s (${steps || 'no long step'})`;
  });
  return `${longest}; sample periods with a delay of ${STALL_MS} ms or more: ${n0(w.stallCount)}, the longest ${shown.join('; ')}.`;
}

/** When publishes were refused, and what the log held then; the largest backlog of each topic. */
function logWatchLine(w: LogWatchResult): string {
  const backlog = (b: Record<string, number>): string =>
    Object.entries(b)
      .filter(([, n]) => n > 0)
      .map(([topic, n]) => `${topic} ${n0(n)}`)
      .join(', ') || 'none';
  const steps = Object.entries(w.longSteps ?? {}).sort(([, a], [, b]) => b - a);
  const long = w.longSteps === undefined ? '' : ` Batches, retention steps and collector pauses over 50 ms: ${steps.map(([name, n]) => `${name} ${n0(n)}`).join(', ') || 'none'}.`;
  const stages = Object.entries(w.stageLagP99Ms ?? {});
  const lag = stages.length === 0 ? '' : ` Stage lag p99 from the broker (upper bound of its bucket): ${stages.map(([stage, ms]) => `${stage} ${Number.isFinite(ms) ? `≤ ${+ms.toFixed(1)} ms` : 'past the last bucket'}`).join(', ')}.`;
  const largest = `Largest log backlog in a sample: ${backlog(w.backlogMax)}.${long}${lag}${stallsText(w)}`;
  if (w.refusedPublishes === 0) return `No publish refused. ${largest}`;
  const shown = w.refusals.slice(0, 10).map((r) => `${n0(r.count)} by ${n0(r.at)} s (backlog ${backlog(r.backlog)})`);
  const more = w.refusals.length > shown.length ? `, and more in ${w.refusals.length - shown.length} later samples` : '';
  return `Publishes refused: ${n0(w.refusedPublishes)}; ${shown.join('; ')}${more}. ${largest}`;
}
