import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
  readonly limited = new Counter({
    name: 'streetwatch_limited_total',
    help: 'Connections, logins and publishes refused or held back by a limit, by limit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly mqttPublishes = new Counter({ name: 'streetwatch_mqtt_publishes_total', help: 'Accepted device publishes by topic kind', labelNames: ['kind'], registers: [this.registry] });
  readonly rejected = new Counter({ name: 'streetwatch_rejected_total', help: 'Rejected device input by error code', labelNames: ['code'], registers: [this.registry] });
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
  readonly ticketTimers = new Counter({ name: 'streetwatch_ticket_timers_total', help: 'Due ticket timers by kind and outcome (fired, or void when the ticket had moved on)', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  readonly deliveries = new Counter({ name: 'streetwatch_deliveries_total', help: 'Webhook delivery attempts by outcome', labelNames: ['outcome'], registers: [this.registry] });
  readonly busRecords = new Counter({ name: 'streetwatch_bus_records_total', help: 'Bus records handled by this process, by topic and consumer group', labelNames: ['topic', 'group'], registers: [this.registry] });
  readonly busHandlerErrors = new Counter({ name: 'streetwatch_bus_handler_errors_total', help: 'Failed batch handlers (retried)', labelNames: ['topic', 'group'], registers: [this.registry] });
  readonly ingestLatency = new Histogram({
    name: 'streetwatch_ingest_latency_seconds',
    help: 'Broker arrival to stored reading',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'streetwatch_' });
  }
}
