/**
 * `npm run bench`: throughput, latency, connections, geofence, soak, the reference brokers
 * (Mosquitto, a bare Aedes) and the clustered broker in one run, written to `bench/results/` as
 * JSON and Markdown with the machine's description.
 * `npm run bench -- --quick` is a smoke run of every scenario in under a minute (small fleets,
 * short windows, no timing assertions). docs/BENCHMARKS.md explains each scenario.
 *
 *   npm run bench
 *   npm run bench -- --quick
 *   npm run bench -- --only throughput,reference,aedes
 *   npm run bench -- --only distributed        (also: npm run bench:distributed)
 *   npm run bench -- --only latency,soak --max-rate 9000 --quiet-below 0.5
 *   npm run bench -- --only cluster --cluster-connections 20000
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { REPO_ROOT } from '../core/config.js';
import { benchGeofence, DEFAULT_GEOFENCE_SIZES } from './geofence.js';
import { benchCity } from './fleet.js';
import { startSink, type BenchContext } from './harness.js';
import { describeMachine, loadAverage } from './machine.js';
import { findMosquitto, mosquittoVersion } from './mosquitto.js';
import { planCpus } from './processes.js';
import { evaluateTargets, toMarkdown, type BenchResults } from './report.js';
import { cluster, clusterOptions, DEFAULT_CLUSTER_CONNECTIONS } from './scenarios/cluster.js';
import { connections, connectionsOptions } from './scenarios/connections.js';
import { distributedOptions, distributedThroughput } from './scenarios/distributed.js';
import { alertLatency, latencyOptions } from './scenarios/latency.js';
import { soak, soakOptions } from './scenarios/soak.js';
import { aedesThroughput, fmt, mosquittoThroughput, streetwatchThroughput, throughputOptions } from './scenarios/throughput.js';

const SCENARIOS = ['throughput', 'distributed', 'latency', 'connections', 'geofence', 'soak', 'reference', 'cluster', 'aedes'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Options {
  quick?: boolean;
  only?: Scenario[];
  out: string;
  maxRate?: number;
  soakMinutes?: number;
  shares?: number[];
  connections?: number;
  clusterConnections?: number;
  fleets?: number[];
  quietBelow?: number;
  keep?: boolean;
  cpuProf?: string;
  heapProf?: string;
  helperCore: boolean;
}

function scenarioList(v: string): Scenario[] {
  return v.split(',').map((s) => {
    const name = s.trim();
    const byNumber = /^[1-9]$/.test(name) ? SCENARIOS[Number(name) - 1] : undefined;
    const hit = byNumber ?? SCENARIOS.find((x) => x === name);
    if (!hit) throw new InvalidArgumentError(`unknown scenario "${name}": ${SCENARIOS.join(', ')} or 1-${SCENARIOS.length}`);
    return hit;
  });
}

function fleetList(v: string): number[] {
  return v.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${x}" is not a fleet size`);
    return n;
  });
}

function shareList(v: string): number[] {
  return v.split(',').map((x) => {
    const n = Number(x);
    if (!(n > 0 && n <= 1)) throw new InvalidArgumentError(`"${x}" is not a share of the maximum rate (0 to 1)`);
    return n;
  });
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

const program = new Command('bench')
  .description('StreetWatch benchmarks: throughput, latency, scale and memory, side by side with Mosquitto')
  .option('--quick', 'a smoke run of every scenario: small fleets, short windows, under a minute')
  .option('--only <scenarios>', `comma-separated: ${SCENARIOS.join(', ')} (or their numbers 1-${SCENARIOS.length})`, scenarioList)
  .option('--out <dir>', 'where the JSON and Markdown results go', path.join(REPO_ROOT, 'bench', 'results'))
  .option('--max-rate <n>', 'QoS 1 publishes/s the latency and soak shares are taken of (default: measured by the throughput scenario)', positive)
  .option('--fleets <list>', 'comma-separated fleet sizes of the throughput scenarios, embedded, Mosquitto and bare Aedes (default 100,1000,10000; quick: 50)', fleetList)
  .option('--connections <n>', 'devices of the connections scenario (default 10000; quick: 200)', positive)
  .option('--cluster-connections <n>', `devices of the cluster scenario, across its nodes (default ${DEFAULT_CLUSTER_CONNECTIONS}; quick: 300)`, positive)
  .option('--shares <list>', 'comma-separated shares of the maximum rate the latency scenario offers (default 0.1,0.5,0.9; quick: 0.5)', shareList)
  .option('--soak-minutes <n>', 'length of the soak (default 10; quick: 0.25)', positive)
  .option('--quiet-below <load>', 'before each scenario, wait (up to 30 min) for the 1-minute load average to fall below this', positive)
  .option('--keep', "keep the processes' logs (in the system's temp directory)")
  .option('--no-helper-core', "keep the platform's helper threads on its own core, as runs before 2026-12-04 did (by default they run on the load generator's core)")
  .option('--cpu-prof <dir>', "write a V8 CPU profile of the platform's measured windows to this directory")
  .option('--heap-prof <dir>', "write a sampling heap profile of the platform's measured windows (what they allocated that outlived the young generation: still live at their end, or freed by a full collection) to this directory");

async function waitForQuiet(ctx: BenchContext, below: number | undefined): Promise<void> {
  if (below === undefined) return;
  const end = Date.now() + 30 * 60_000;
  let said = false;
  while (loadAverage()[0] >= below && Date.now() < end) {
    if (!said) ctx.log(`  waiting for the load average (${loadAverage()[0]}) to fall below ${below}`);
    said = true;
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

async function main(): Promise<void> {
  const opts = program.parse().opts<Options>();
  const quick = opts.quick ?? false;
  const wanted = new Set<Scenario>(opts.only ?? SCENARIOS);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-bench-'));
  const cpus = planCpus(opts.helperCore);
  const startedAt = new Date();
  const machine = describeMachine();
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  log(`StreetWatch benchmark (${quick ? 'quick' : 'full'}): ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverage.join(' ')}`);
  log(`${cpus.note}; logs in ${workDir}`);

  const sink = await startSink(cpus, workDir);
  const ctx: BenchContext = { quick, cpus, workDir, city: benchCity(), sink, log, loads: [], profileDir: opts.cpuProf && path.resolve(opts.cpuProf), heapProfileDir: opts.heapProf && path.resolve(opts.heapProf) };
  const mosquitto = findMosquitto();
  const results: Omit<BenchResults, 'targets'> = {
    kind: quick ? 'quick' : 'full',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    machine,
    cpuPlan: cpus.note,
    loads: ctx.loads,
    mosquitto: mosquitto ? mosquittoVersion(mosquitto) : undefined,
    throughput: [],
    distributed: [],
    latency: [],
    connections: undefined,
    geofence: [],
    soak: undefined,
    reference: [],
    cluster: [],
    aedes: [],
    skipped: [],
    failed: [],
  };
  // A scenario that throws is reported as failed and the run goes on to the next one.
  const step = async (scenario: Scenario, title: string, fn: () => Promise<void>): Promise<void> => {
    if (!wanted.has(scenario)) return;
    await waitForQuiet(ctx, opts.quietBelow);
    log(`\n${title}`);
    try {
      await fn();
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      results.failed!.push({ scenario: `${SCENARIOS.indexOf(scenario) + 1}. ${scenario}`, error });
      log(`  failed: ${err instanceof Error ? (err.stack ?? error) : error}`);
    }
  };

  let crashed = false;
  try {
    const throughput = throughputOptions(quick);
    if (opts.fleets) throughput.deviceCounts = opts.fleets;
    await step('throughput', '1. Ingest throughput, embedded', async () => {
      results.throughput = await streetwatchThroughput(ctx, throughput);
    });
    await step('distributed', '2. Ingest throughput, distributed', async () => {
      const out = await distributedThroughput(ctx, distributedOptions(quick));
      if (typeof out === 'string') {
        results.skipped.push({ scenario: '2. distributed', reason: out });
        log(`  not run: ${out}`);
      } else results.distributed = out;
    });
    await step('reference', '7. Reference: Mosquitto relaying to one subscriber', async () => {
      if (!mosquitto) {
        const reason = 'mosquitto is not installed (apt-get install -y mosquitto)';
        results.skipped.push({ scenario: '7. reference', reason });
        log(`  not run: ${reason}`);
        return;
      }
      results.reference = await mosquittoThroughput(ctx, throughput);
    });
    await step('aedes', '9. Reference: a bare Aedes broker relaying to one subscriber', async () => {
      results.aedes = await aedesThroughput(ctx, throughput);
    });
    // The shares of scenarios 3 and 6 are of the embedded QoS 1 maximum at their fleet size.
    const latency = latencyOptions(quick);
    if (opts.shares) latency.shares = opts.shares;
    const maxRate = (): number => {
      if (opts.maxRate !== undefined) return opts.maxRate;
      const measured = results.throughput.filter((t) => t.qos === 1).sort((a, b) => Math.abs(a.devices - latency.devices) - Math.abs(b.devices - latency.devices))[0];
      if (!measured) throw new Error('the latency and soak scenarios need the throughput scenario in the same run, or --max-rate');
      return measured.publishesPerSecond;
    };
    await step('latency', '3. End-to-end alert latency', async () => {
      log(`  shares of ${fmt(maxRate())} publishes/s`);
      results.latency = await alertLatency(ctx, latency, maxRate());
    });
    await step('connections', '4. Connections', async () => {
      const o = connectionsOptions(quick);
      if (opts.connections !== undefined) o.devices = Math.round(opts.connections);
      results.connections = await connections(ctx, o);
    });
    await step('geofence', '5. Geofence lookups', async () => {
      results.geofence = await benchGeofence(quick ? { sizes: [10, 1_000], durationMs: 200 } : { sizes: DEFAULT_GEOFENCE_SIZES });
      ctx.loads.push({ what: 'geofence end', load: loadAverage()[0] });
    });
    await step('soak', '6. Soak at half the maximum rate', async () => {
      const o = soakOptions(quick);
      if (opts.soakMinutes !== undefined) o.durationMs = opts.soakMinutes * 60_000;
      results.soak = await soak(ctx, o, maxRate());
    });
    await step('cluster', '8. Broker cluster behind HAProxy', async () => {
      const o = clusterOptions(quick);
      if (opts.clusterConnections !== undefined) o.devices = Math.round(opts.clusterConnections);
      const out = await cluster(ctx, o);
      if (typeof out === 'string') {
        results.skipped.push({ scenario: '8. cluster', reason: out });
        log(`  not run: ${out}`);
      } else results.cluster = out;
    });
  } catch (err) {
    crashed = true;
    log(`\nbench: ${(err as Error).stack ?? err}`);
  } finally {
    await sink.stop();
  }

  results.finishedAt = new Date().toISOString();
  const failed = crashed || results.failed!.length > 0;
  if (results.failed!.length) log(`\nbench: ${results.failed!.length} scenario(s) failed: ${results.failed!.map((f) => f.scenario).join(', ')}`);
  const full: BenchResults = { ...results, targets: evaluateTargets(results) };
  fs.mkdirSync(opts.out, { recursive: true });
  const stamp = `${startedAt.toISOString().slice(0, 16).replace(':', '')}-${full.kind}`;
  const md = toMarkdown(full);
  fs.writeFileSync(path.join(opts.out, `${stamp}.json`), `${JSON.stringify(full, null, 2)}\n`);
  fs.writeFileSync(path.join(opts.out, `${stamp}.md`), md);
  log(`\n${md}`);
  log(`results: ${path.relative(process.cwd(), path.join(opts.out, stamp))}.{json,md}`);
  if (opts.keep || failed) log(`logs: ${workDir}`);
  else fs.rmSync(workDir, { recursive: true, force: true });
  if (failed) process.exitCode = 1;
}

await main();
