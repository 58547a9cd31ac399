/**
 * The service and receiver outages, run side by side: most of their time is spent waiting out
 * an outage (InfluxDB's minute, the webhook receiver's minute, restarts), and vitest runs one
 * test file at a time on a 2-core machine. Each uses private instances of the services it stops
 * and a namespace of its own on the shared ones, so they cannot disturb each other or the
 * other suites. What each proves is said in its own file and in docs/RELIABILITY.md.
 */
import { describe } from 'vitest';
import { influxOutage } from './influx-outage.js';
import { kafkaRestart } from './kafka-restart.js';
import { redisRestart } from './redis-restart.js';
import { webhookOutage } from './webhook-outage.js';

describe.concurrent('chaos: outages', () => {
  influxOutage();
  webhookOutage();
  redisRestart();
  kafkaRestart();
});
