/**
 * The load generator, run as its own process (pinned to its own core when it can be) and
 * driven over IPC by the benchmark runner. It connects the fleet the way devices connect (an
 * `offline` will, a subscription to the errors topic, an `online` birth), then runs one load
 * pattern at a time:
 *
 * - `closed`: each device keeps `window` QoS 1 publishes unacknowledged; the sustained rate is
 *   the acknowledgements per second. With `relay`, a subscriber's receipt is what frees a slot
 *   (a broker that acknowledges on arrival is measured by what it delivers).
 * - `flood`: QoS 0 as fast as the sockets take it; the broker's TCP backpressure paces it.
 * - `open`: a fixed rate whatever the answers, latency counted from each publish's scheduled
 *   time (so a stall shows as the latency of everything scheduled during it); optional hazard
 *   publishes at their own rate, whose send times are returned for matching with webhooks.
 *
 * Each reading is stamped with the wall clock (`Date.now()`, the clock ingest judges arrival by)
 * at the moment it is sent, never later, and a device never stamps two publishes in the same
 * millisecond: a publish whose device already sent one this millisecond waits for the next
 * (`waitTurn`). A faster stamp would run ahead of its own arrival, which ingest moves back onto
 * an earlier reading's time (ingest/trust.ts), and the stores keep one reading per device,
 * metric and time: the readings counted here would exceed what any store can hold.
 */
import os from 'node:os';
import { deviceErrorsTopic, deviceStatusTopic } from '../core/topics.js';
import { mapLimit } from '../device-sim/connections.js';
import type { DeviceKind } from '../device-sim/models.js';
import { HAZARD_SMOKE, TelemetrySource } from './fleet.js';
import { WireClient, wallNow } from './mqtt-wire.js';
import { LatencyRecorder, type LatencySummary } from './stats.js';

export interface LoadDevice {
  id: string;
  kind: DeviceKind;
  zoneKind: string | undefined;
  zoneTags: readonly string[];
}

export interface ConnectCommand {
  op: 'connect';
  host: string;
  port: number;
  devices: LoadDevice[];
  /** One secret for the fleet; undefined connects without credentials (the reference broker). */
  secret: string | undefined;
  concurrency: number;
  /** Hazard sensors, connected the same way and used only by `open` runs. */
  hazards?: string[];
  keepaliveSeconds?: number;
  /** The loopback address the fleet connects from (default: the kernel's choice, 127.0.0.1). */
  localAddress?: string;
}

/**
 * From now on, a device whose connection drops connects again at once (retrying every 200 ms
 * while refused), at most `concurrency` handshakes at a time, as the devices of a killed broker
 * node do; `reconnects` says when they are all back.
 */
export interface WatchCommand {
  op: 'watch';
  host: string;
  port: number;
  secret: string | undefined;
  concurrency: number;
}

/** Waits for the dropped devices to connect again: returns once none is still down and nothing dropped for `quietMs`. */
export interface ReconnectsCommand {
  op: 'reconnects';
  /** Wall time (ms) the reconnect times count from: the kill. */
  since: number;
  quietMs: number;
  timeoutMs: number;
}

export interface ReconnectsResult {
  dropped: number;
  reconnected: number;
  /** Each reconnected device: ms from `since` to its subscription acknowledged on the new connection. */
  ms: number[];
  /** Connection attempts refused or failed on the way. */
  failedAttempts: number;
}

export interface SubscribeCommand {
  op: 'subscribe';
  host: string;
  port: number;
  topic: string;
  qos: 0 | 1;
}

export interface ClosedCommand {
  op: 'closed';
  qos: 0 | 1;
  /** Publishes each device keeps unanswered. */
  window: number;
  /**
   * Instead of a window per device: this many unanswered across a fleet larger than it, each
   * answer freeing a slot for the next device in turn (every device publishes, one at a time).
   */
  inflight?: number;
  warmupMs: number;
  durationMs: number;
  /** Count the subscriber's receipts instead of PUBACKs. */
  relay?: boolean;
}

export interface FloodCommand {
  op: 'flood';
  warmupMs: number;
  durationMs: number;
}

export interface OpenCommand {
  op: 'open';
  /** Telemetry publishes per second across the fleet. */
  rate: number;
  qos: 0 | 1;
  warmupMs: number;
  durationMs: number;
  /** Hazard publishes per second, spread over the hazard sensors in turn. */
  hazardRate?: number;
  /**
   * `once`: each hazard sensor raises its alarm once, in turn (a ticket each; none sent when every
   * sensor has). The sensors the window does not need (up to WARMUP_ALARMS) raise theirs during
   * the warm-up, uncounted, so that the window does not include the first alarm after a start
   * (the alerting path's first run: its code compiled, the webhook client loaded).
   * `alternate` (default): alarm, then all-clear, then alarm again, per sensor.
   */
  hazardMode?: 'once' | 'alternate';
}

/** Most uncounted alarms of a `once` run's warm-up. */
const WARMUP_ALARMS = 10;

export type LoadCommand = ConnectCommand | WatchCommand | ReconnectsCommand | SubscribeCommand | ClosedCommand | FloodCommand | OpenCommand | { op: 'disconnect' } | { op: 'exit' };

export interface ConnectResult {
  connected: number;
  ms: number;
}

export interface RunResult {
  /** Messages sent, acknowledged (or received, for relay runs) and readings sent in the measured window. */
  sent: number;
  done: number;
  readings: number;
  seconds: number;
  /** Acknowledged (or relayed) messages per second in the measured window. */
  rate: number;
  readingsPerSecond: number;
  latency: LatencySummary | undefined;
  /** CPU the generator used in the window, as a share of one core. */
  cpu: number;
  /** Messages received on the devices' errors topics during the run. */
  rejected: number;
  /** Publishes still unanswered when the run gave up waiting. */
  lost: number;
  /** Readings sent since the generator started, measured or not. */
  readingsTotal: number;
  /**
   * Readings in QoS 1 publishes the broker acknowledged, since the generator started: what the
   * platform took charge of (a publish never acknowledged may never have reached it).
   */
  readingsAcked: number;
  /** Hazard publishes: `deviceId|ts` → scheduled send time (wall ms). */
  hazards?: [string, number][];
  /**
   * Open runs: devices whose connection was closed (by the platform, refusing a publish) at the
   * end. An open loop does not reconnect them, so nothing they were scheduled to send after it
   * is sent: the acknowledged rate falls short of the offered one by their share.
   */
  closed?: number;
}

type Reply = { ok: true; result: unknown } | { ok: false; error: string };

const clients: WireClient[] = [];
const hazardClients: WireClient[] = [];
let devices: LoadDevice[] = [];
let hazardIds: string[] = [];
let topics: string[] = [];
let source: TelemetrySource | undefined;
let lastTs = new Float64Array(0);
let subscriber: WireClient | undefined;
let rejected = 0;
let readingsTotal = 0;
let readingsAcked = 0;
/** Each device's QoS 1 publishes awaiting their PUBACK: the readings of each, in send order. */
let unacked: number[][] = [];
/**
 * Publishes waiting for their device's next millisecond: per device, the time each one's
 * latency counts from (NaN: from when it is actually sent). Bounded by what the loops keep in
 * flight (a closed loop's window; an open loop refuses a rate over 1 000/s per device).
 */
let waiting: number[][] = [];
/** The devices with a publish in `waiting`, each once. */
let waitingDevices: number[] = [];
let waitingCount = 0;
let waitingQos: 0 | 1 = 1;
let waitingWindow: Window | undefined;
let waitTimer: NodeJS.Timeout | undefined;
/** The topic of each device's telemetry → its index, for the relay subscriber. */
const topicIndex = new Map<string, number>();
/** Relay runs: send times of each device's publishes not yet received. */
let relayQueues: number[][] = [];

/**
 * A timestamp for a device's next reading, or undefined when the device already stamped one
 * this millisecond (it must wait): the scheduled time, never after now nor one used before.
 */
function stamp(i: number, at: number): number | undefined {
  const now = Date.now();
  const last = lastTs[i]!;
  if (last >= now) return undefined;
  const ts = Math.max(Math.min(Math.floor(at), now), last + 1);
  lastTs[i] = ts;
  return ts;
}

/** Whether device i may send now (no reading of it stamped in this millisecond yet). */
const ready = (i: number): boolean => lastTs[i]! < Date.now();

async function connectOne(cmd: ConnectCommand, id: string): Promise<WireClient> {
  const status = deviceStatusTopic(id);
  const client = await WireClient.connect({
    host: cmd.host,
    port: cmd.port,
    ...(cmd.localAddress ? { localAddress: cmd.localAddress } : {}),
    clientId: id,
    ...(cmd.secret === undefined ? {} : { username: id, password: cmd.secret }),
    keepaliveSeconds: cmd.keepaliveSeconds ?? 60,
    will: { topic: status, payload: 'offline', qos: 1, retain: true },
  });
  client.onMessage = () => {
    rejected++;
  };
  await client.subscribe(deviceErrorsTopic(id), 1);
  client.publish(status, 'online', 1, wallNow(), true);
  return client;
}

async function connect(cmd: ConnectCommand): Promise<ConnectResult> {
  const t0 = performance.now();
  devices = cmd.devices;
  hazardIds = cmd.hazards ?? [];
  source = new TelemetrySource(devices);
  topics = devices.map((d, i) => `v1/devices/${d.id}/${source!.channels[i]}`);
  topics.forEach((t, i) => topicIndex.set(t, i));
  lastTs = new Float64Array(devices.length);
  const all = [...devices.map((d) => d.id), ...hazardIds];
  const connected: WireClient[] = new Array(all.length);
  await mapLimit(all, cmd.concurrency, async (id, i) => {
    connected[i] = await connectOne(cmd, id);
  });
  clients.push(...connected.slice(0, devices.length));
  hazardClients.push(...connected.slice(devices.length));
  // The births are acknowledged before anything is measured.
  await settle([...clients, ...hazardClients], 60_000);
  return { connected: connected.length, ms: performance.now() - t0 };
}

/** Waits until no QoS 1 publish is unanswered, or `ms` passed; returns how many are left. */
async function settle(list: readonly WireClient[], ms: number): Promise<number> {
  const end = performance.now() + ms;
  for (;;) {
    let pending = waitingCount;
    for (const c of list) pending += c.pending;
    if (pending === 0 || performance.now() > end) return pending;
    await sleep(10);
  }
}

/** Sends the publishes whose device reached a new millisecond, one per device; rearms while any wait. */
function flushWaiting(): void {
  waitTimer = undefined;
  // Only the devices that have a publish waiting: a fleet of 10,000 is not walked every millisecond.
  const devicesWaiting = waitingDevices;
  waitingDevices = [];
  for (const i of devicesWaiting) {
    const q = waiting[i]!;
    if (ready(i)) {
      waitingCount--;
      const at = q.shift()!;
      sendTelemetry(i, waitingQos, Number.isNaN(at) ? wallNow() : at, waitingWindow!);
    }
    if (q.length > 0 && waitingDevices.at(-1) !== i) waitingDevices.push(i);
  }
  if (waitingCount > 0) waitTimer = setTimeout(flushWaiting, 1);
}

/** Queues device i's publish for its next millisecond (`at` NaN: its latency counts from the actual send). */
function waitTurn(i: number, qos: 0 | 1, at: number, w: Window): void {
  if (waiting.length !== clients.length) waiting = clients.map(() => []);
  waitingQos = qos;
  waitingWindow = w;
  if (waiting[i]!.length === 0) waitingDevices.push(i);
  waiting[i]!.push(at);
  waitingCount++;
  waitTimer ??= setTimeout(flushWaiting, 1);
}

/** A run starts from no publish waiting and no acknowledgement owed from an earlier one. */
function resetRun(): void {
  if (waitTimer) clearTimeout(waitTimer);
  waitTimer = undefined;
  waiting = clients.map(() => []);
  waitingDevices = [];
  waitingCount = 0;
  unacked = clients.map(() => []);
}

/** Counts the readings of device i's oldest unacknowledged publish as acknowledged. */
function acked(i: number): void {
  readingsAcked += unacked[i]?.shift() ?? 0;
}

async function subscribe(cmd: SubscribeCommand): Promise<void> {
  subscriber = await WireClient.connect({ host: cmd.host, port: cmd.port, clientId: `bench-subscriber-${process.pid}`, keepaliveSeconds: 60 });
  const granted = await subscriber.subscribe(cmd.topic, cmd.qos);
  if (granted[0] === 128) throw new Error(`subscription to ${cmd.topic} refused`);
}

/** A measured window: what happened between `open()` and `close()`. */
class Window {
  measuring = false;
  sent = 0;
  done = 0;
  readings = 0;
  readonly latency = new LatencyRecorder();
  private t0 = 0;
  private cpu0: NodeJS.CpuUsage | undefined;
  seconds = 0;
  cpu = 0;

  open(): void {
    this.measuring = true;
    this.sent = this.done = this.readings = 0;
    this.latency.reset();
    this.t0 = performance.now();
    this.cpu0 = process.cpuUsage();
  }

  close(): void {
    if (!this.measuring) return;
    this.measuring = false;
    this.seconds = (performance.now() - this.t0) / 1000;
    const cpu = process.cpuUsage(this.cpu0);
    this.cpu = (cpu.user + cpu.system) / 1e6 / this.seconds;
  }

  result(lost: number, extra: Partial<RunResult> = {}): RunResult {
    return {
      sent: this.sent,
      done: this.done,
      readings: this.readings,
      seconds: this.seconds,
      rate: this.done / this.seconds,
      readingsPerSecond: this.readings / this.seconds,
      latency: this.latency.count > 0 ? this.latency.summary() : undefined,
      cpu: this.cpu,
      rejected,
      lost,
      readingsTotal,
      readingsAcked,
      ...extra,
    };
  }
}

/**
 * Sends device i's next telemetry, or queues it for the device's next millisecond. `scheduledAt`
 * is what its latency counts from: open loops pass the schedule; closed loops pass `fromSend`,
 * so that a publish that waited counts from when it actually went out.
 */
function sendTelemetry(i: number, qos: 0 | 1, scheduledAt: number, w: Window, fromSend = false): boolean {
  const ts = stamp(i, scheduledAt);
  if (ts === undefined) {
    waitTurn(i, qos, fromSend ? NaN : scheduledAt, w);
    return true;
  }
  const { payload, readings } = source!.next(i, ts);
  const ok = clients[i]!.publish(topics[i]!, payload, qos, scheduledAt);
  readingsTotal += readings;
  if (qos === 1) unacked[i]?.push(readings);
  if (w.measuring) {
    w.sent++;
    w.readings += readings;
  }
  if (relayQueues.length) relayQueues[i]!.push(scheduledAt);
  return ok;
}

async function closed(cmd: ClosedCommand): Promise<RunResult> {
  const w = new Window();
  let running = true;
  rejected = 0;
  resetRun();
  // With a fleet-wide number in flight, an answer from device i frees a slot for the next device in turn.
  const shared = cmd.inflight !== undefined && cmd.inflight < clients.length;
  let turn = shared ? cmd.inflight! : 0;
  const nextOf = (i: number): number => {
    if (!shared) return i;
    const next = turn;
    turn = turn + 1 === clients.length ? 0 : turn + 1;
    return next;
  };
  if (cmd.relay) {
    if (!subscriber) throw new Error('a relay run needs a subscriber');
    relayQueues = devices.map(() => []);
    subscriber.onMessage = ({ topic }) => {
      const i = topicIndex.get(topic);
      if (i === undefined) return;
      const sentAt = relayQueues[i]!.shift();
      if (w.measuring && sentAt !== undefined) {
        w.done++;
        w.latency.record(wallNow() - sentAt);
      }
      if (running) sendTelemetry(nextOf(i), cmd.qos, wallNow(), w, true);
    };
    clients.forEach((c) => {
      c.onAck = () => undefined;
    });
    unacked = [];
  } else {
    if (cmd.qos !== 1) throw new Error('a closed loop on acknowledgements needs QoS 1');
    clients.forEach((c, i) => {
      c.onAck = (startedAt) => {
        acked(i);
        if (w.measuring) {
          w.done++;
          w.latency.record(wallNow() - startedAt);
        }
        if (running) sendTelemetry(nextOf(i), 1, wallNow(), w, true);
      };
    });
  }
  if (shared) for (let i = 0; i < cmd.inflight!; i++) sendTelemetry(i, cmd.qos, wallNow(), w, true);
  else for (let k = 0; k < cmd.window; k++) for (let i = 0; i < clients.length; i++) sendTelemetry(i, cmd.qos, wallNow(), w, true);
  await sleep(cmd.warmupMs);
  w.open();
  await sleep(cmd.durationMs);
  w.close();
  running = false;
  const lost = cmd.relay ? await settleRelay(30_000) : await settle(clients, 30_000);
  relayQueues = [];
  return w.result(lost);
}

async function settleRelay(ms: number): Promise<number> {
  const end = performance.now() + ms;
  for (;;) {
    const pending = relayQueues.reduce((n, q) => n + q.length, waitingCount);
    if (pending === 0 || performance.now() > end) return pending;
    await sleep(10);
  }
}

async function flood(cmd: FloodCommand): Promise<RunResult> {
  const w = new Window();
  rejected = 0;
  resetRun();
  let running = true;
  const stopAt = performance.now() + cmd.warmupMs + cmd.durationMs;
  setTimeout(() => w.open(), cmd.warmupMs);
  while (running) {
    let wrote = 0;
    for (let i = 0; i < clients.length; i++) {
      // A few per device per turn, then let the sockets flush.
      // A device sends at most one publish per millisecond (see `stamp`).
      for (let k = 0; k < 4 && clients[i]!.writable && ready(i); k++) {
        sendTelemetry(i, 0, wallNow(), w);
        wrote++;
      }
    }
    await (wrote === 0 ? sleep(1) : new Promise((r) => setImmediate(r)));
    if (performance.now() >= stopAt) running = false;
  }
  w.close();
  return w.result(0);
}

async function open(cmd: OpenCommand): Promise<RunResult> {
  if (cmd.rate > clients.length * 1000) throw new Error(`${cmd.rate} publishes/s is over 1 000 per device per second for ${clients.length} devices: a device stamps one reading per millisecond`);
  const w = new Window();
  rejected = 0;
  resetRun();
  const t0 = wallNow();
  const measureFrom = t0 + cmd.warmupMs;
  const stopAt = measureFrom + cmd.durationMs;
  // What was scheduled in the window counts, whenever its answer comes.
  clients.forEach((c, i) => {
    c.onAck = (startedAt) => {
      acked(i);
      if (startedAt >= measureFrom && startedAt < stopAt) {
        w.done++;
        w.latency.record(wallNow() - startedAt);
      }
    };
  });
  const hazards = new Map<string, number>();
  const alarmed = new Uint8Array(hazardIds.length);
  const hazardTs = new Float64Array(hazardIds.length);
  let hazardSent = 0;
  const hazardRate = hazardIds.length > 0 ? (cmd.hazardRate ?? 0) : 0;
  // In `once` mode, the last sensors the window leaves unused alarm during the warm-up.
  const counted = cmd.hazardMode === 'once' ? Math.min(hazardIds.length, Math.ceil((hazardRate * cmd.durationMs) / 1000)) : hazardIds.length;
  const warmAlarms = cmd.hazardMode === 'once' && hazardRate > 0 ? Math.min(WARMUP_ALARMS, hazardIds.length - counted) : 0;
  let warmSent = 0;
  hazardClients.forEach((c) => {
    c.onAck = () => undefined;
  });

  const interval = 1000 / cmd.rate;
  let sent = 0;
  let i = 0;
  for (;;) {
    const now = wallNow();
    if (now >= stopAt) break;
    if (!w.measuring && now >= measureFrom) w.open();
    // Everything scheduled up to now goes out now, stamped with its scheduled time.
    for (let at = t0 + sent * interval; at <= now; at = t0 + ++sent * interval) {
      sendTelemetry(i, cmd.qos, at, w);
      i = i + 1 === clients.length ? 0 : i + 1;
    }
    // The warm-up's alarms, evenly spread over it.
    while (warmSent < warmAlarms && t0 + ((warmSent + 1) * cmd.warmupMs) / (warmAlarms + 1) <= now) {
      const h = hazardIds.length - 1 - warmSent++;
      hazardTs[h] = Math.floor(now);
      alarmed[h] = 1;
      hazardClients[h]!.publish(`v1/devices/${hazardIds[h]}/telemetry`, `{"ts":${hazardTs[h]},"values":{"smoke":${HAZARD_SMOKE.alarm}}}`, 1);
    }
    // Alarms raised once are spread over the measured window, after the warm-up.
    const h0 = cmd.hazardMode === 'once' ? measureFrom : t0;
    if (hazardRate > 0) {
      for (let at = h0 + hazardSent * (1000 / hazardRate); at <= now; at = h0 + ++hazardSent * (1000 / hazardRate)) {
        if (cmd.hazardMode === 'once' && hazardSent >= counted) break;
        const h = hazardSent % hazardIds.length;
        const ts = Math.max(Math.floor(at), hazardTs[h]! + 1);
        hazardTs[h] = ts;
        const value = alarmed[h] ? HAZARD_SMOKE.clear : HAZARD_SMOKE.alarm;
        alarmed[h] = alarmed[h] ? 0 : 1;
        hazardClients[h]!.publish(`v1/devices/${hazardIds[h]}/telemetry`, `{"ts":${ts},"values":{"smoke":${value}}}`, 1, at);
        if (at >= measureFrom) hazards.set(`${hazardIds[h]}|${ts}`, at);
      }
    }
    await sleep(1);
  }
  w.close();
  const lost = await settle([...clients, ...hazardClients], 30_000);
  // The hazard sensors end all-clear, so the next run starts from calm.
  for (let h = 0; h < hazardIds.length; h++) {
    if (!alarmed[h]) continue;
    const ts = Math.max(Date.now(), hazardTs[h]! + 1);
    hazardTs[h] = ts;
    hazardClients[h]!.publish(`v1/devices/${hazardIds[h]}/telemetry`, `{"ts":${ts},"values":{"smoke":${HAZARD_SMOKE.clear}}}`, 1);
  }
  await settle(hazardClients, 30_000);
  return w.result(lost, { hazards: [...hazards], closed: clients.filter((c) => c.isClosed).length });
}

let watching: WatchCommand | undefined;
let dropped = 0;
let failedAttempts = 0;
let lastDropAt = 0;
let reconnectedAt: number[] = [];
const reconnectQueue: number[] = [];
let reconnecting = 0;
let connectLocal: string | undefined;

function watchClient(i: number): void {
  clients[i]!.onClose = () => {
    if (!watching) return;
    dropped++;
    lastDropAt = wallNow();
    reconnectQueue.push(i);
    pumpReconnects();
  };
}

function pumpReconnects(): void {
  while (watching && reconnecting < watching.concurrency && reconnectQueue.length > 0) {
    const i = reconnectQueue.shift()!;
    reconnecting++;
    void reconnectOne(watching, i).finally(() => {
      reconnecting--;
      pumpReconnects();
    });
  }
}

async function reconnectOne(cmd: WatchCommand, i: number): Promise<void> {
  const connectCmd = { op: 'connect', host: cmd.host, port: cmd.port, devices: [], secret: cmd.secret, concurrency: 1, ...(connectLocal ? { localAddress: connectLocal } : {}) } satisfies ConnectCommand;
  while (watching === cmd) {
    try {
      clients[i] = await connectOne(connectCmd, devices[i]!.id);
      reconnectedAt.push(wallNow());
      watchClient(i);
      return;
    } catch {
      failedAttempts++;
      await sleep(200);
    }
  }
}

async function reconnects(cmd: ReconnectsCommand): Promise<ReconnectsResult> {
  const end = Date.now() + cmd.timeoutMs;
  await sleep(cmd.quietMs);
  while (Date.now() < end && (reconnectedAt.length < dropped || wallNow() - lastDropAt < cmd.quietMs)) await sleep(100);
  const result = { dropped, reconnected: reconnectedAt.length, ms: reconnectedAt.map((t) => t - cmd.since), failedAttempts };
  dropped = failedAttempts = 0;
  reconnectedAt = [];
  return result;
}

async function disconnect(): Promise<void> {
  watching = undefined;
  reconnectQueue.length = 0;
  await mapLimit([...clients, ...hazardClients, ...(subscriber ? [subscriber] : [])], 500, (c) => c.end());
  clients.length = 0;
  hazardClients.length = 0;
  subscriber = undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function run(cmd: LoadCommand): Promise<unknown> {
  switch (cmd.op) {
    case 'connect':
      connectLocal = cmd.localAddress;
      return connect(cmd);
    case 'watch':
      watching = cmd;
      clients.forEach((_, i) => watchClient(i));
      return undefined;
    case 'reconnects':
      return reconnects(cmd);
    case 'subscribe':
      return subscribe(cmd);
    case 'closed':
      return closed(cmd);
    case 'flood':
      return flood(cmd);
    case 'open':
      return open(cmd);
    case 'disconnect':
      return disconnect();
    case 'exit':
      await disconnect();
      process.exit(0);
  }
}

if (!process.send) throw new Error('the load generator runs as a child process of the benchmark (bench/main.ts)');
process.on('message', (cmd: LoadCommand) => {
  run(cmd).then(
    (result) => process.send!({ ok: true, result } satisfies Reply),
    (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
  );
});
process.send({ ok: true, result: { ready: true, cores: os.availableParallelism() } } satisfies Reply);
