import { describe, expect, it } from 'vitest';
import { evaluateTargets, toMarkdown, type BenchResults } from './report.js';
import type { Stall } from './log-watch.js';
import type { ClusterRow } from './scenarios/cluster.js';
import type { SoakResult } from './scenarios/soak.js';
import type { ThroughputRow } from './scenarios/throughput.js';
import { summarize } from './stats.js';

const row = (nodes: number, extra: Partial<ClusterRow> = {}): ClusterRow => ({
  nodes,
  devices: 9_500,
  connected: 9_500,
  perNode: Array.from({ length: nodes }, () => 9_500 / nodes),
  connectSeconds: 120,
  rssNodesMiB: Array.from({ length: nodes }, () => 300),
  rssHaproxyMiB: 40,
  rssPer10kMiB: 100,
  rssAddedPer10kMiB: 50,
  publishesPerSecond: 3_000,
  latency: summarize([10, 20, 30]),
  nofile: { haproxy: 20_000, node: 20_000, loadgen: 20_000 },
  loadAverage: 4.5,
  procLoadavg: '4.50 4.00 3.50 3/300 1234',
  ...extra,
});

/** A run's results with these cluster rows (and any other fields), its targets evaluated from them. */
function results(cluster: ClusterRow[], extra: Partial<Omit<BenchResults, 'targets'>> = {}): BenchResults {
  const r: Omit<BenchResults, 'targets'> = {
    kind: 'full',
    command: 'npm run bench -- --only cluster',
    startedAt: '2026-12-02T18:00:00.000Z',
    finishedAt: '2026-12-02T18:10:00.000Z',
    machine: { cpu: 'cpu', cores: 2, memoryGiB: 23.5, os: 'Debian', node: 'v20', loadAverage: [4.5, 4, 3.5], commit: 'abc1234' },
    cpuPlan: 'plan',
    loads: [{ what: 'cluster 1 nodes', load: 4.5 }],
    mosquitto: undefined,
    throughput: [],
    distributed: [],
    latency: [],
    connections: undefined,
    geofence: [],
    soak: undefined,
    reference: [],
    cluster,
    skipped: [],
    ...extra,
  };
  return { ...r, targets: evaluateTargets(r) };
}

describe('the report of the cluster scenario', () => {
  it('gives each node count, the single node without HAProxy, the kill and the load average', () => {
    const md = toMarkdown(
      results([
        row(1, { directPublishesPerSecond: 4_321, directLatency: summarize([5, 6, 7]) }),
        row(2, { kill: { victimConnections: 4_750, dropped: 4_750, reconnected: 4_750, failedAttempts: 3, ms: summarize([1_000, 2_000, 61_500]), connectedAfter: 9_500 } }),
      ]),
    );
    expect(md).toContain('## 8. Broker cluster behind HAProxy');
    expect(md).toContain('| 2 | 9,500 | 4,750 / 4,750 | 120.0 | 300 / 300 | 40 | 100 (50) | 3,000 | 20.0 / 30.0 | 4.50 (4.50 4.00 3.50 3/300 1234) |');
    expect(md).toContain('Open-file limits: HAProxy 20,000 (two per connection through it), each node 20,000, each load generator 20,000.');
    expect(md).toContain('One node without HAProxy, same run: 4,321 QoS 1 publishes/s acknowledged');
    expect(md).toContain('| 2 | 4,750 | 4,750 | 4,750 | 3 | 2.0 | 61.5 | 61.5 | 9,500 |');
  });

  it('leaves the section out when the scenario did not run', () => {
    expect(toMarkdown(results([]))).not.toContain('Broker cluster');
  });
});

describe('the report of a failed scenario', () => {
  const failed = (): BenchResults =>
    results([], {
      failed: [
        { scenario: '2. distributed', error: 'stalled: 884659 of 951578 readings in InfluxDB, none more for 60 s' },
        { scenario: '4. connections', error: 'connect ECONNREFUSED 127.0.0.1:1883' },
      ],
    });

  it('says failed with the message in the targets table', () => {
    const md = toMarkdown(failed());
    expect(md).toContain('| 10k connections under 1 GiB RSS | failed: connect ECONNREFUSED 127.0.0.1:1883 | – |');
    expect(md).toContain('| 2. distributed runs to the end | failed: stalled: 884659 of 951578 readings in InfluxDB, none more for 60 s | no |');
    expect(md).toContain('| p99 publish → webhook < 50 ms at half the maximum rate | not measured | – |');
  });

  it("says failed with the message in the scenario's section", () => {
    const md = toMarkdown(failed());
    expect(md).toContain('## 2. Ingest throughput, distributed\n\nfailed: stalled: 884659 of 951578 readings in InfluxDB, none more for 60 s\n');
    expect(md).toContain('## 4. Connections\n\nfailed: connect ECONNREFUSED 127.0.0.1:1883\n');
    expect(md).not.toContain('## 3. End-to-end alert latency');
  });

  it('keeps the failures in the JSON document', () => {
    const json = JSON.parse(JSON.stringify(failed())) as BenchResults;
    expect(json.failed).toEqual([
      { scenario: '2. distributed', error: 'stalled: 884659 of 951578 readings in InfluxDB, none more for 60 s' },
      { scenario: '4. connections', error: 'connect ECONNREFUSED 127.0.0.1:1883' },
    ]);
    expect(json.targets.find((t) => t.target === '2. distributed runs to the end')?.met).toBe(false);
  });
});

describe('the report of what the log refused', () => {
  const soak = (log: SoakResult['log'], more: Partial<SoakResult> = {}): BenchResults => {
    const r = results([]);
    const s: SoakResult = {
      devices: 1_200,
      ratePerSecond: 10_000,
      minutes: 60,
      ackedPerSecond: 9_900,
      rssStartMiB: 400,
      rssEndMiB: 404,
      rssMaxMiB: 500,
      growthPercent: 1,
      trendPercent: 0.5,
      stored: summarize([1, 2, 3]),
      webhook: summarize([5, 6, 7]),
      missing: 0,
      closed: 2,
      cpu: 0.8,
      rssSeries: [],
      storeStartMiB: 1,
      storeEndMiB: 100,
      storeMiBPerHour: 99,
      storeSeries: [],
      loadAverage: { start: 1, end: 1, max: 1.5 },
      ...(log ? { log } : {}),
      ...more,
    };
    const withSoak = { ...r, soak: s };
    return { ...withSoak, targets: evaluateTargets(withSoak) };
  };

  it('says when publishes were refused and what each topic of the log held then', () => {
    const md = toMarkdown(
      soak({
        refusedPublishes: 1_234,
        refusals: [
          { at: 605, count: 1_200, backlog: { 'sw.raw': 12, 'sw.readings': 50_000, 'sw.alerts': 0 } },
          { at: 1_810, count: 34, backlog: { 'sw.raw': 3 } },
        ],
        backlogMax: { 'sw.raw': 2_000, 'sw.readings': 50_000, 'sw.tickets': 0 },
      }),
    );
    expect(md).toContain('Publishes refused: 1,234; 1,200 by 605 s (backlog sw.raw 12, sw.readings 50,000); 34 by 1,810 s (backlog sw.raw 3). Largest log backlog in a sample: sw.raw 2,000, sw.readings 50,000.');
  });

  it('names what held the event loop over 50 ms, most first, or says nothing did', () => {
    const md = toMarkdown(soak({ refusedPublishes: 0, refusals: [], backlogMax: {}, longSteps: { 'retention rollup': 3, 'ingest on sw.raw': 41 } }));
    expect(md).toContain('Batches, retention steps and collector pauses over 50 ms: ingest on sw.raw 41, retention rollup 3.');
    expect(toMarkdown(soak({ refusedPublishes: 0, refusals: [], backlogMax: {}, longSteps: {} }))).toContain('Batches, retention steps and collector pauses over 50 ms: none.');
  });

  it('gives the longest stalls of the event loop with what grew while each held it', () => {
    const stalls: Stall[] = [
      { at: 2_431, loopDelayMs: 970, steps: { 'gc major': 1 } },
      { at: 3_300, loopDelayMs: 260, steps: {} },
    ];
    const md = toMarkdown(soak({ refusedPublishes: 0, refusals: [], backlogMax: {}, loopDelayMaxMs: 970, stallCount: 7, stalls }));
    expect(md).toContain('Longest event-loop delay: 970 ms; sample periods with a delay of 100 ms or more: 7, the longest 970 ms by 2,431 s (gc major 1); 260 ms by 3,300 s (no long step).');
    expect(toMarkdown(soak({ refusedPublishes: 0, refusals: [], backlogMax: {}, loopDelayMaxMs: 42, stallCount: 0, stalls: [] }))).toContain('Longest event-loop delay: 42 ms; no sample period with a delay of 100 ms or more.');
  });

  it('gives the p99 of each stage\'s lag over the soak, by its bucket', () => {
    const md = toMarkdown(soak({ refusedPublishes: 0, refusals: [], backlogMax: {}, stageLagP99Ms: { ingest: 10, detectors: 25, alerting: Infinity } }));
    expect(md).toContain('Stage lag p99 from the broker (upper bound of its bucket): ingest ≤ 10 ms, detectors ≤ 25 ms, alerting past the last bucket.');
  });

  it('lists the webhook p99 and max of each window of the soak', () => {
    const webhookWindows: SoakResult['webhookWindows'] = [
      [0, 300, 31.2, 40],
      [5, 300, 88.6, 140.2],
    ];
    expect(toMarkdown(soak(undefined, { webhookWindows }))).toContain('Webhook p99 / max ms of the alarms sent in each window (minutes from the start): 0: 31 / 40, 5: 89 / 140.');
  });

  it('says none was refused, and leaves the line out of a run that did not watch', () => {
    expect(toMarkdown(soak({ refusedPublishes: 0, refusals: [], backlogMax: { 'sw.raw': 40 } }))).toContain('No publish refused. Largest log backlog in a sample: sw.raw 40.');
    expect(toMarkdown(soak(undefined))).not.toContain('refused');
  });
});

describe('the report of the bare Aedes reference', () => {
  const relayRow = (system: string, devices: number, rate: number, micros: number): ThroughputRow => ({
    system,
    devices,
    qos: 1,
    load: '1,000 in flight end to end',
    publishesPerSecond: rate,
    readingsPerSecond: rate,
    latency: summarize([1, 2, 3]),
    latencyOf: 'publish → received by the subscriber',
    cpu: 1,
    loopCpu: 0.98,
    cpuMicrosPerReading: micros,
    rssMiB: 80,
    generatorCpu: 0.99,
    seconds: 15,
    loadAverage: 1.5,
  });
  const withAedes = (): BenchResults =>
    results([], {
      throughput: [relayRow('StreetWatch embedded', 1_000, 11_000, 100)],
      reference: [relayRow('Mosquitto 2.0.11', 1_000, 44_000, 18)],
      aedes: [relayRow('Aedes 1.2.0 (bare)', 1_000, 22_000, 45)],
    });

  it('gives its relay rate as a share of Mosquitto and StreetWatch as a share of it, fleet by fleet', () => {
    const md = toMarkdown(withAedes());
    expect(md).toContain('## 9. Reference: a bare Aedes broker relaying to one subscriber');
    expect(md).toContain('| 1,000 | 1 | 1,000 in flight end to end | 22,000 | 2.00 / 3.00 | 100% (98%) | 45.0 | 80 | 99% | 1.50 |');
    expect(md).toContain('| 1,000 | 1 | 0.50× | 0.50× |');
  });

  it('puts that ceiling beside the ratio target', () => {
    const target = withAedes().targets[0]!;
    expect(target.measured).toBe('0.25× at 1,000 devices (100.0 CPU-µs per reading); a bare Aedes relays 0.50×');
    expect(target.met).toBe(false);
  });

  it('leaves the section out when the scenario did not run', () => {
    expect(toMarkdown(results([]))).not.toContain('bare Aedes');
  });
});
