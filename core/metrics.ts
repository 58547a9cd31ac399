import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Buckets of the histograms of a batch's or a step's time, in seconds: 50 ms is one of them (a step that long shows in a p99). */
const STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** The default metrics that are gauges with a `_total` name. */
const DEFAULT_TOTAL_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Prometheus metrics for one StreetWatch process, served at `/metrics`. Each platform
 * instance owns its registry, so tests can run several in one process.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly mqttConnections = new Gauge({ name: 'streetwatch_mqtt_connections', help: 'Connected MQTT clients', registers: [this.registry] });
  readonly mqttSockets = new Gauge({ name: 'streetwatch_mqtt_sockets', help: 'Open MQTT network connections (TCP, TLS, WebSocket), authenticated or not', registers: [this.registry] });
  readonly mqttAuthFailures = new Counter({ name: 'streetwatch_mqtt_auth_failures_total', help: 'Rejected MQTT connections by code', labelNames: ['code'], registers: [this.registry] });
  readonly mqttTakeovers = new Counter({ name: 'streetwatch_mqtt_takeovers_total', help: 'MQTT connections closed because a new connection authenticated with the same client id', registers: [this.registry] });
  readonly brokerNode = new Gauge({ name: 'streetwatch_broker_node_info', help: 'The broker node this process runs (1), by node name and mode (standalone, or cluster: one of the nodes of one broker)', labelNames: ['node', 'mode'], registers: [this.registry] });
  /** What the broker's connections hold now, read at each scrape (the broker sets it). */
  mqttHeld: () => { publishes: number; bytes: number; unread: number } = () => ({ publishes: 0, bytes: 0, unread: 0 });
  readonly mqttPublishesInProgress: Gauge = new Gauge({
    name: 'streetwatch_mqtt_publishes_in_progress',
    help: 'Publishes read from MQTT connections and not yet answered (being authorized, waiting for their rate, being handed to the pipeline)',
    registers: [this.registry],
    collect: (): void => this.mqttPublishesInProgress.set(this.mqttHeld().publishes),
  });
  readonly mqttHeldBytes: Gauge = new Gauge({
    name: 'streetwatch_mqtt_held_bytes',
    help: 'Bytes MQTT connections hold in the broker: publishes in progress and messages not yet sent to their client',
    registers: [this.registry],
    collect: (): void => this.mqttHeldBytes.set(this.mqttHeld().bytes),
  });
  readonly mqttUnreadBytes: Gauge = new Gauge({
    name: 'streetwatch_mqtt_unread_bytes',
    help: "Bytes MQTT connections read from the network and not yet parsed: at most a network read and a parser's slice per connection",
    registers: [this.registry],
    collect: (): void => this.mqttUnreadBytes.set(this.mqttHeld().unread),
  });
  /** Publishes waiting for their hand-off to the pipeline, read at each scrape (the broker sets it). */
  mqttHandOffsWaiting: () => number = () => 0;
  readonly mqttHandOffsWaitingGauge: Gauge = new Gauge({
    name: 'streetwatch_mqtt_handoffs_waiting',
    help: 'Accepted publishes waiting in the broker for their turn to be handed to the pipeline (at MQTT_HANDOFF_MAX_WAITING no connection is read)',
    registers: [this.registry],
    collect: (): void => this.mqttHandOffsWaitingGauge.set(this.mqttHandOffsWaiting()),
  });
  readonly mqttDisconnects = new Counter({
    name: 'streetwatch_mqtt_disconnects_total',
    help: 'MQTT connections the broker closed on its own account, by error code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly limited = new Counter({
    name: 'streetwatch_limited_total',
    help: 'Connections, logins and publishes refused or held back by a limit, by limit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly limitFallbacks = new Counter({
    name: 'streetwatch_limit_fallbacks_total',
    help: 'Limit decisions a clustered broker node took alone because Redis did not answer, by limit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly feedDropped = new Counter({ name: 'streetwatch_feed_dropped_total', help: 'Readings and events not sent to the operators\' live feeds because too many were on their way, by feed', labelNames: ['feed'], registers: [this.registry] });
  readonly mqttPublishes = new Counter({ name: 'streetwatch_mqtt_publishes_total', help: 'Accepted device publishes by topic kind', labelNames: ['kind'], registers: [this.registry] });
  readonly mqttHandOffFailures = new Counter({
    name: 'streetwatch_mqtt_handoff_failures_total',
    help: 'What the broker could not hand to the pipeline (the bus refused or failed), by path (publish, deadletter, alert, presence) and error code',
    labelNames: ['path', 'code'],
    registers: [this.registry],
  });
  readonly rejected = new Counter({ name: 'streetwatch_rejected_total', help: 'Rejected device input by error code', labelNames: ['code'], registers: [this.registry] });
  /** Refused HTTP API requests: a series of their own, so that a client's mistakes never read as a device fault. */
  readonly apiErrors = new Counter({ name: 'streetwatch_http_errors_total', help: 'HTTP API requests answered with a coded error, by code and status', labelNames: ['code', 'status'], registers: [this.registry] });
  readonly readingsStored = new Counter({ name: 'streetwatch_readings_stored_total', help: 'Readings written to the time-series store', registers: [this.registry] });
  readonly alerts = new Counter({ name: 'streetwatch_alerts_total', help: 'Alerts emitted by status', labelNames: ['status'], registers: [this.registry] });
  readonly tickets = new Counter({ name: 'streetwatch_tickets_total', help: 'Ticket changes by event', labelNames: ['event'], registers: [this.registry] });
  readonly alertReplays = new Counter({ name: 'streetwatch_alert_replays_total', help: 'Alerts recognised as already applied to their ticket (redeliveries, replays) and dropped', registers: [this.registry] });
  readonly flapping = new Counter({
    name: 'streetwatch_alert_flapping_total',
    help: 'Flapping alerts: started, stopped, and changes saved without being announced (quiet_change)',
    labelNames: ['event'],
    registers: [this.registry],
  });
  readonly reports = new Counter({ name: 'streetwatch_reports_total', help: "People's reports and report photos taken in, by channel (grid, open311, photo)", labelNames: ['channel'], registers: [this.registry] });
  readonly ticketTimers = new Counter({ name: 'streetwatch_ticket_timers_total', help: 'Due ticket timers by kind and outcome (fired, or void when the ticket had moved on)', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  readonly deliveries = new Counter({ name: 'streetwatch_deliveries_total', help: 'Webhook delivery attempts by outcome', labelNames: ['outcome'], registers: [this.registry] });
  readonly webhookCircuitOpen = new Gauge({
    name: 'streetwatch_webhook_circuit_open',
    help: 'Whether a unit\'s webhook circuit is open (1: its receiver failed too often in a row, its messages wait)',
    labelNames: ['unit'],
    registers: [this.registry],
  });
  readonly busRecords = new Counter({ name: 'streetwatch_bus_records_total', help: 'Bus records handled by this process, by topic and consumer group', labelNames: ['topic', 'group'], registers: [this.registry] });
  readonly busHandlerErrors = new Counter({ name: 'streetwatch_bus_handler_errors_total', help: 'Failed batch handlers (retried, or their record parked)', labelNames: ['topic', 'group'], registers: [this.registry] });
  readonly busParked = new Counter({ name: 'streetwatch_bus_parked_total', help: 'Bus records a consumer group parked (not retriable, or failed too often), by the code of the cause', labelNames: ['topic', 'group', 'code'], registers: [this.registry] });
  readonly busSkipped = new Counter({ name: 'streetwatch_bus_skipped_total', help: 'Records of the embedded log pruned before a group that was away came back for them', labelNames: ['topic', 'group'], registers: [this.registry] });
  /**
   * How long each batch took, from its handler's start to its commit, in wall time: embedded, the
   * stages share one event loop, so a batch is long when it held the loop or waited behind what did.
   */
  readonly busBatchSeconds = new Histogram({
    name: 'streetwatch_bus_batch_seconds',
    help: "Time a consumer group took over one batch of bus records, from its handler's start to its commit, by topic and group",
    labelNames: ['topic', 'group'],
    buckets: STEP_BUCKETS,
    registers: [this.registry],
  });
  readonly busBacklog = new Gauge({ name: 'streetwatch_bus_backlog_records', help: 'Records of the embedded log not yet taken by every subscribed consumer group (publishes wait beyond its bound)', labelNames: ['topic'], registers: [this.registry] });
  readonly retentionRows = new Counter({ name: 'streetwatch_retention_rows_total', help: 'Rows folded into roll-ups or pruned by the retention job, by task', labelNames: ['task'], registers: [this.registry] });
  readonly retentionErrors = new Counter({ name: 'streetwatch_retention_errors_total', help: 'Failed runs of a retention task (retried at the next run), by task', labelNames: ['task'], registers: [this.registry] });
  readonly retentionStepSeconds = new Histogram({
    name: 'streetwatch_retention_step_seconds',
    help: 'Time one step of a retention task took (a step holds the event loop), by task',
    labelNames: ['task'],
    buckets: STEP_BUCKETS,
    registers: [this.registry],
  });
  readonly retentionLastRun = new Gauge({ name: 'streetwatch_retention_last_run_timestamp_seconds', help: 'When this process last ran a retention task, by task', labelNames: ['task'], registers: [this.registry] });
  readonly storeBytes = new Gauge({ name: 'streetwatch_store_bytes', help: 'Size on disk of each embedded database file (with its write-ahead log)', labelNames: ['file'], registers: [this.registry] });
  readonly seriesRows = new Gauge({ name: 'streetwatch_series_rows', help: 'Rows of the time-series store by resolution (raw, 5m, 1h); absent where counting would read everything', labelNames: ['resolution'], registers: [this.registry] });
  readonly seriesOldest = new Gauge({ name: 'streetwatch_series_oldest_timestamp_seconds', help: 'Time of the oldest row of the time-series store by resolution', labelNames: ['resolution'], registers: [this.registry] });
  readonly diskFree = new Gauge({ name: 'streetwatch_disk_free_bytes', help: 'Free space on the file system of the data directory', registers: [this.registry] });
  /**
   * How long after its arrival at the broker a device's publish is done with by each stage:
   * `ingest` (stored), `detectors` (rules evaluated), `alerting` (ticket saved; counted from the
   * event time of the reading that fired, so a device clock ahead of ours reads as zero).
   */
  readonly stageLag = new Histogram({
    name: 'streetwatch_stage_lag_seconds',
    help: 'Time from a publish reaching the broker to a stage being done with it, by stage',
    labelNames: ['stage'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly openTickets = new Gauge({
    name: 'streetwatch_tickets_open',
    help: 'Open (not closed) tickets by grade and whether they are overdue (red), as the store holds them at the scrape',
    labelNames: ['grade', 'overdue'],
    registers: [this.registry],
  });

  /**
   * Reads the open tickets at each scrape. `read` returns at most a bounded list (the caller's
   * limit); the gauge then counts what it got.
   */
  countOpenTickets(read: () => Promise<readonly { grade: string; red: boolean }[]>): void {
    const gauge = this.openTickets;
    // prom-client calls `collect` before each scrape; an async one is awaited.
    Object.assign(gauge, {
      async collect() {
        const tickets = await read();
        gauge.reset();
        for (const grade of ['A', 'B', 'C', 'D']) for (const overdue of ['true', 'false']) gauge.set({ grade, overdue }, 0);
        for (const t of tickets) gauge.inc({ grade: t.grade, overdue: String(t.red) });
      },
    });
  }

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) {
      // The collector's pauses in the buckets of the batches and retention steps: what held the
      // event loop past 50 ms is told apart by the same bounds.
      collectDefaultMetrics({ register: this.registry, prefix: 'streetwatch_', gcDurationBuckets: STEP_BUCKETS });
      // Gauges named `_total` break the exposition conventions (`promtool check metrics`); each is
      // the sum of the per-type gauge beside it (`sum(streetwatch_nodejs_active_handles)`).
      for (const name of DEFAULT_TOTAL_GAUGES) this.registry.removeSingleMetric(`streetwatch_${name}`);
    }
  }
}

/**
 * Observes how long ago each publish among `items` reached the broker, once per publish: the
 * readings (or events) of one publish come one after another and share its `ref` and arrival
 * time, so a run of them is one observation (the stage lag is per publish, not per reading).
 */
export function observePublishLag(lag: { observe(seconds: number): void }, now: number, items: Iterable<{ ref: string; receivedAt: number }>): void {
  let last: string | undefined;
  for (const { ref, receivedAt } of items) {
    if (ref === last) continue;
    last = ref;
    lag.observe(Math.max(0, now - receivedAt) / 1000);
  }
}
