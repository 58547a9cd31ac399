/**
 * The composition root: builds the adapters the configuration asks for and starts the stages
 * this process runs, consumers before producers so nothing published is missed.
 *
 * With external services (Kafka, InfluxDB, Redis), the API (when this process serves it) comes
 * up first so that `/healthz` and `/readyz` answer while the services are being reached; each
 * unreachable one is retried with backoff and logged by URL, and `/readyz` says which.
 */
import { startAlerting } from '../alerting/stage.js';
import { startDelivery, type Delivery } from '../alerting/delivery.js';
import { startTimerWorker, type TimerWorker } from '../alerting/timer-worker.js';
import { ensureAdminToken } from '../api/auth.js';
import { recordDeviceErrors } from '../api/device-errors.js';
import { startApi, type ApiOptions, type ApiServer } from '../api/server.js';
import { ensureOperatorToken } from '../broker/operator.js';
import { startBroker, type Broker } from '../broker/server.js';
import type { CityIndex } from '../core/city-index.js';
import { watchCity } from '../core/city-watch.js';
import { connectWithRetry } from '../core/connect-retry.js';
import { markRunning } from '../core/data-dir-lock.js';
import type { Config, StageName } from '../core/config.js';
import { createLogger, type Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { systemClock, type Bus, type Clock, type SeriesStore, type StateStore, type Subscription } from '../core/ports.js';
import type { DeviceStateHolder } from '../core/device-state.js';
import { DeviceCleanup } from '../core/retention/device-cleanup.js';
import { Maintenance, type RetentionTask } from '../core/retention/maintenance.js';
import { StorageMonitor } from '../core/retention/storage.js';
import { outboxTask, reportsTask, seriesTasks } from '../core/retention/tasks.js';
import { startDetectors, type Detectors } from '../detectors/stage.js';
import { startIngest } from '../ingest/stage.js';
import { STAGE_PORTS, createBackends, type Service } from './backends.js';

export interface PlatformOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  /** Aborting while services are being reached stops start-up; startPlatform then rejects. */
  signal?: AbortSignal;
}

export interface Platform {
  readonly config: Config;
  readonly stages: readonly StageName[];
  /** Bound ports (useful when the configuration asked for port 0). */
  readonly mqttPort: number | undefined;
  /** MQTT over TLS and over WebSocket, when configured. */
  readonly mqttTlsPort: number | undefined;
  readonly mqttWsPort: number | undefined;
  readonly httpPort: number | undefined;
  readonly adminToken: string;
  /** Where the generated admin token is kept; undefined when it came from the environment. */
  readonly adminTokenFile: string | undefined;
  /** The operators' (Node-RED flows') MQTT password, when this process runs the broker. */
  readonly operatorToken: string | undefined;
  /** Where the generated operator token is kept; undefined when it came from the environment. */
  readonly operatorTokenFile: string | undefined;
  /** The city in force (it follows edits to the city directory). */
  readonly city: CityIndex;
  readonly bus: Bus;
  readonly state: StateStore;
  readonly series: SeriesStore;
  /** External services this process uses (Kafka, InfluxDB, Redis); empty when embedded. */
  readonly services: readonly Pick<Service, 'name' | 'label' | 'target'>[];
  /** True when an embedded store keeps data in `config.dataDir`. */
  readonly usesDataDir: boolean;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The ticket timer worker, when this process runs alerting (tests drive it with a controllable clock). */
  readonly timers: TimerWorker | undefined;
  /** The detectors, when this process runs them (tests let time pass with `tick`). */
  readonly detectors: Detectors | undefined;
  /** The retention job of this process (tests with a controllable clock run it with `run`). */
  readonly maintenance: Maintenance;
  /** Store sizes, rows, free disk and the retention job's last runs. */
  readonly storage: StorageMonitor;
  stop(): Promise<void>;
}

export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = opts.metrics ?? new Metrics();
  // Edits to the city files apply while running; an invalid edit is logged and ignored.
  const cityWatch = watchCity({ dir: config.cityDir, logger });
  const cityIndex = (): CityIndex => cityWatch.current;
  const { token: adminToken, file: adminTokenFile } = ensureAdminToken(config.adminToken, config.dataDir);

  const { bus, state, series, services, usesDataDir } = createBackends(config, { logger, metrics });
  // A restore refuses the data directory while this process keeps its stores there.
  const unmark = usesDataDir ? markRunning(config.dataDir, config.stages) : undefined;
  const runs = (s: StageName): boolean => config.stages.includes(s);
  const usesSeries = config.stages.some((s) => STAGE_PORTS[s].includes('series'));
  const subscriptions: Subscription[] = [];
  /** The in-memory per-device state of this process's stages (core/device-state.ts). */
  const holders: DeviceStateHolder[] = [];
  const cleanup = new DeviceCleanup({ devices: state.devices, kv: state.kv, holders, logger });
  let maintenance: Maintenance | undefined;
  const storage = new StorageMonitor({ series: usesSeries ? series : undefined, dataDir: config.dataDir, retention: config.retention, metrics, maintenance: () => maintenance });
  let detectors: Detectors | undefined;
  let delivery: Delivery | undefined;
  let timers: TimerWorker | undefined;
  let broker: Broker | undefined;
  let api: ApiServer | undefined;
  let operator: { token: string; file: string | undefined } | undefined;
  const ready = new Map<StageName, boolean>(config.stages.map((s) => [s, false]));
  const readiness = (): Record<string, boolean> => ({
    ...Object.fromEntries(ready),
    ...Object.fromEntries(services.map((s) => [s.name, s.isConnected()])),
  });
  const apiOptions = (): ApiOptions => ({
    ...config.http,
    apiWrites: config.apiWrites,
    console: config.console,
    cap: config.cap,
    reports: config.reports,
    httpIngest: { ...config.httpIngest, maxPayloadBytes: config.ingest.maxPayloadBytes },
    adminToken,
    state,
    series,
    bus,
    cityIndex,
    clock,
    metrics,
    logger,
    ready: readiness,
    warnings: () => storage.warnings(),
    storage,
    retention: config.retention,
    forgetDevice: (id) => cleanup.forget([id]).then(() => undefined),
  });

  try {
    if (runs('api') && services.length > 0) api = await startApi(apiOptions());
    await Promise.all(services.map((s) => connectWithRetry(s.label, s.target, () => s.connect(), { logger, signal: opts.signal })));
    if (runs('alerting')) {
      delivery = await startDelivery({
        outbox: state.outbox,
        bus,
        cityIndex,
        clock,
        metrics,
        logger,
        backoffMs: config.webhooks.backoffMs,
        maxBackoffMs: config.webhooks.maxBackoffMs,
        breakerFailures: config.webhooks.breakerFailures,
        breakerOpenMs: config.webhooks.breakerOpenMs,
      });
      subscriptions.push(await startAlerting({ bus, tickets: state.tickets, cityIndex, clock, metrics, logger }));
      timers = startTimerWorker({ tickets: state.tickets, timers: state.timers, bus, cityIndex, clock, metrics, logger });
      ready.set('alerting', true);
    }
    if (runs('detectors')) {
      detectors = await startDetectors({ bus, kv: state.kv, cityIndex, clock, metrics, logger });
      subscriptions.push(detectors);
      holders.push(detectors.deviceState);
      ready.set('detectors', true);
    }
    if (runs('ingest')) {
      const ingest = await startIngest({
        bus,
        series,
        devices: state.devices,
        kv: state.kv,
        cityIndex,
        clock,
        metrics,
        logger,
        ingest: config.ingest,
      });
      subscriptions.push(ingest);
      holders.push(ingest.deviceState);
      ready.set('ingest', true);
    }
    if (runs('broker')) {
      operator = ensureOperatorToken(config.operatorToken, config.dataDir);
      const operators = { token: operator.token, cityIndex, maxClockSkewMs: config.ingest.maxClockSkewMs };
      const cluster = config.redis && { url: config.redis.url, namespace: config.namespace };
      broker = await startBroker({ ...config.mqtt, devices: state.devices, tokens: state.tokens, operator: operators, bus, clock, metrics, logger, ...(cluster ? { cluster } : {}) });
      ready.set('broker', true);
    }
    // The retention job of what this process holds: the series where it reads or writes them,
    // the outbox where it delivers, the subject lists where it detects; each shared task runs
    // in one process of the deployment at a time.
    const tasks: RetentionTask[] = [];
    if (usesSeries) tasks.push(...seriesTasks(series, config.retention));
    if (runs('alerting')) tasks.push(outboxTask(state.outbox, config.retention));
    if (runs('api')) tasks.push(reportsTask(state.reports));
    const d = detectors;
    if (d) tasks.push({ name: 'subjects', once: true, step: (now) => d.pruneSubjects(now, config.retention.silentMs) });
    tasks.push(cleanup.task(), storage.task());
    maintenance = new Maintenance({ tasks, kv: state.kv, clock, logger, metrics, intervalMs: config.retention.intervalMs, maxStepRows: config.retention.batch });
    maintenance.start();
    await storage.refreshDisk();
    if (runs('api')) {
      // What devices were refused, kept for their vendors to read back through the API.
      subscriptions.push(await recordDeviceErrors({ bus, state }));
      ready.set('api', true);
      api ??= await startApi(apiOptions());
    }
  } catch (err) {
    await shutdown();
    throw err;
  }

  async function shutdown(): Promise<void> {
    // Producers first: stop taking input, let what is in flight finish, then close stores.
    cityWatch.close();
    await api?.close();
    await broker?.close();
    await maintenance?.close();
    for (const sub of subscriptions.reverse()) await sub.close();
    await timers?.close();
    await delivery?.close();
    await bus.close();
    await state.close();
    await series.close();
    unmark?.();
  }

  let stopping: Promise<void> | undefined;
  return {
    config,
    stages: config.stages,
    mqttPort: broker?.port,
    mqttTlsPort: broker?.tlsPort,
    mqttWsPort: broker?.wsPort,
    httpPort: api?.port,
    adminToken,
    adminTokenFile,
    operatorToken: operator?.token,
    operatorTokenFile: operator?.file,
    get city() {
      return cityWatch.current;
    },
    bus,
    state,
    series,
    services: services.map(({ name, label, target }) => ({ name, label, target })),
    usesDataDir,
    metrics,
    logger,
    timers,
    detectors,
    maintenance: maintenance!,
    storage,
    stop: () => (stopping ??= shutdown()),
  };
}
