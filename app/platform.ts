/**
 * The composition root: builds the adapters the configuration asks for and starts the stages
 * this process runs, consumers before producers so nothing published is missed.
 */
import { startAlerting } from '../alerting/stage.js';
import { startDelivery, type Delivery } from '../alerting/delivery.js';
import { startTimerWorker, type TimerWorker } from '../alerting/timer-worker.js';
import { ensureAdminToken } from '../api/auth.js';
import { startApi, type ApiServer } from '../api/server.js';
import { ensureOperatorToken } from '../broker/operator.js';
import { startBroker, type Broker } from '../broker/server.js';
import { MemoryBus } from '../core/bus/memory.js';
import type { CityIndex } from '../core/city-index.js';
import { watchCity } from '../core/city-watch.js';
import type { Config, StageName } from '../core/config.js';
import { createLogger, type Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { systemClock, type Bus, type Clock, type SeriesStore, type StateStore, type Subscription } from '../core/ports.js';
import { SqliteSeriesStore } from '../core/store/sqlite-series.js';
import { SqliteStateStore } from '../core/store/sqlite-state.js';
import { startDetectors } from '../detectors/stage.js';
import { startIngest } from '../ingest/stage.js';

export interface PlatformOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
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
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The ticket timer worker, when this process runs alerting (tests drive it with a controllable clock). */
  readonly timers: TimerWorker | undefined;
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

  const bus = new MemoryBus({
    onHandlerError: (topic, group, err) => {
      metrics.busHandlerErrors.inc({ topic, group });
      logger.error({ err, topic, group }, 'batch failed, retrying');
    },
  });
  const state = new SqliteStateStore(config.dataDir);
  const series = new SqliteSeriesStore(config.dataDir);
  const runs = (s: StageName): boolean => config.stages.includes(s);
  const subscriptions: Subscription[] = [];
  let delivery: Delivery | undefined;
  let timers: TimerWorker | undefined;
  let broker: Broker | undefined;
  let api: ApiServer | undefined;
  let operator: { token: string; file: string | undefined } | undefined;
  const ready = new Map<StageName, boolean>(config.stages.map((s) => [s, false]));

  try {
    if (runs('alerting')) {
      delivery = await startDelivery({ outbox: state.outbox, bus, cityIndex, clock, metrics, logger });
      subscriptions.push(await startAlerting({ bus, tickets: state.tickets, cityIndex, clock, metrics, logger }));
      timers = startTimerWorker({ tickets: state.tickets, timers: state.timers, bus, cityIndex, clock, metrics, logger });
      ready.set('alerting', true);
    }
    if (runs('detectors')) {
      subscriptions.push(await startDetectors({ bus, kv: state.kv, cityIndex, clock, metrics, logger }));
      ready.set('detectors', true);
    }
    if (runs('ingest')) {
      subscriptions.push(
        await startIngest({
          bus,
          series,
          devices: state.devices,
          cityIndex,
          clock,
          metrics,
          logger,
          maxPayloadBytes: config.ingest.maxPayloadBytes,
          maxClockSkewMs: config.ingest.maxClockSkewMs,
        }),
      );
      ready.set('ingest', true);
    }
    if (runs('broker')) {
      operator = ensureOperatorToken(config.operatorToken, config.dataDir);
      const operators = { token: operator.token, cityIndex, maxClockSkewMs: config.ingest.maxClockSkewMs };
      broker = await startBroker({ ...config.mqtt, devices: state.devices, tokens: state.tokens, operator: operators, bus, clock, metrics, logger });
      ready.set('broker', true);
    }
    if (runs('api')) {
      ready.set('api', true);
      api = await startApi({ ...config.http, console: config.console, adminToken, state, series, bus, cityIndex, clock, metrics, logger, ready: () => Object.fromEntries(ready) });
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
    for (const sub of subscriptions.reverse()) await sub.close();
    await timers?.close();
    await delivery?.close();
    await bus.close();
    await state.close();
    await series.close();
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
    metrics,
    logger,
    timers,
    stop: () => (stopping ??= shutdown()),
  };
}
