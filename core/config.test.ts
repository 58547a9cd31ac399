import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CITY_DIR, loadConfig, modeOf, parseStages } from './config.js';

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.mqtt.port).toBe(1883);
    expect(c.http.port).toBe(8080);
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.cityDir).toBe(DEFAULT_CITY_DIR);
    expect(c.adminToken).toBeUndefined();
    expect(c.stages).toEqual(['broker', 'ingest', 'detectors', 'alerting', 'api']);
    expect(c.console).toEqual({ tileUrl: undefined, tileAttribution: undefined });
    expect([c.kafka, c.influx, c.redis, c.namespace, modeOf(c)]).toEqual([undefined, undefined, undefined, '', 'embedded']);
  });

  it('keeps raw readings 30 days, 5-minute roll-ups 90 and hourly ones five years unless told otherwise', () => {
    const day = 86_400_000;
    expect(loadConfig({}).retention).toEqual({
      rawMs: 30 * day,
      fiveMinuteMs: 90 * day,
      hourMs: 1825 * day,
      outboxMs: 7 * day,
      silentMs: 30 * day,
      intervalMs: 60_000,
      batch: 2_000,
      diskWarnBytes: 20 * 1024 ** 3,
    });
    const c = loadConfig({ STREETWATCH_RETENTION_RAW: '7d', STREETWATCH_RETENTION_5M: '30d', STREETWATCH_RETENTION_1H: '3650d', STREETWATCH_DISK_WARN: '500MiB', STREETWATCH_MAINTENANCE_INTERVAL: '5m' });
    expect(c.retention).toMatchObject({ rawMs: 7 * day, fiveMinuteMs: 30 * day, hourMs: 3650 * day, diskWarnBytes: 500 * 1024 ** 2, intervalMs: 300_000 });
  });

  it('refuses a coarser resolution kept shorter than a finer one, and sizes it cannot read, naming the variable', () => {
    expect(() => loadConfig({ STREETWATCH_RETENTION_RAW: '100d' })).toThrow(/STREETWATCH_RETENTION_5M: must be at least STREETWATCH_RETENTION_RAW/);
    expect(() => loadConfig({ STREETWATCH_RETENTION_5M: '400d', STREETWATCH_RETENTION_1H: '365d' })).toThrow(/STREETWATCH_RETENTION_1H: must be at least STREETWATCH_RETENTION_5M/);
    expect(() => loadConfig({ STREETWATCH_DISK_WARN: '5 gigs' })).toThrow(/STREETWATCH_DISK_WARN: must be a size like "500MiB" or "5GiB"/);
    expect(() => loadConfig({ STREETWATCH_RETENTION_RAW: '10m' })).toThrow(/STREETWATCH_RETENTION_RAW/);
  });

  it('takes an optional map tile URL template for the console', () => {
    const c = loadConfig({ STREETWATCH_MAP_TILES: 'https://tiles.example.com/{z}/{x}/{y}.png', STREETWATCH_MAP_ATTRIBUTION: '© Example' });
    expect(c.console).toEqual({ tileUrl: 'https://tiles.example.com/{z}/{x}/{y}.png', tileAttribution: '© Example' });
  });

  it('selects the distributed services that are set', () => {
    const c = loadConfig({
      KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092',
      INFLUX_URL: 'http://influxdb:8086',
      INFLUX_TOKEN: 'user:password',
      INFLUX_ORG: 'streetwatch',
      INFLUX_BUCKET: 'streetwatch/autogen',
      REDIS_URL: 'redis://:secret@redis:6379/2',
      STREETWATCH_NAMESPACE: 'city-a.',
    });
    expect(c.kafka).toEqual({ brokers: ['kafka-1:9092', 'kafka-2:9092'], clientId: 'streetwatch' });
    expect(c.influx).toEqual({ url: 'http://influxdb:8086', token: 'user:password', org: 'streetwatch', bucket: 'streetwatch/autogen' });
    expect(c.redis).toEqual({ url: 'redis://:secret@redis:6379/2' });
    expect(c.namespace).toBe('city-a.');
    expect(modeOf(c)).toBe('distributed');
    expect(modeOf(loadConfig({ REDIS_URL: 'redis://localhost' }))).toBe('distributed');
    const influx = { INFLUX_URL: 'http://influxdb:8086', INFLUX_TOKEN: 't', INFLUX_ORG: 'o', INFLUX_BUCKET: 'raw' };
    expect(loadConfig({ ...influx, INFLUX_ROLLUP_BUCKET: 'rollups' }).influx).toMatchObject({ bucket: 'raw', rollupBucket: 'rollups' });
  });

  it('needs the token, org and bucket with INFLUX_URL', () => {
    expect(() => loadConfig({ INFLUX_URL: 'http://influxdb:8086', INFLUX_TOKEN: 't', INFLUX_ORG: 'o' })).toThrow(
      expect.objectContaining({ code: 'SW_ERR_CONFIG_ENV', message: 'environment variable INFLUX_BUCKET: is required when INFLUX_URL is set' }),
    );
  });

  it('parses stage lists and names an unknown stage', () => {
    expect(parseStages('ingest, detectors,ingest')).toEqual(['ingest', 'detectors']);
    expect(() => parseStages('ingest,teleport')).toThrow('unknown stage "teleport"');
    expect(() => parseStages(' , ')).toThrow('no stage given');
  });

  it('reads ports, dirs, stages and treats empty strings as unset', () => {
    const c = loadConfig({ MQTT_PORT: '2883', HTTP_PORT: '', STREETWATCH_STAGES: 'ingest, detectors', STREETWATCH_DATA_DIR: '/tmp/sw' });
    expect(c.mqtt.port).toBe(2883);
    expect(c.http.port).toBe(8080);
    expect(c.stages).toEqual(['ingest', 'detectors']);
    expect(c.dataDir).toBe('/tmp/sw');
  });

  it.each([
    ['MQTT_PORT', 'abc'],
    ['HTTP_PORT', '70000'],
    ['STREETWATCH_ADMIN_TOKEN', 'short'],
    ['STREETWATCH_OPERATOR_TOKEN', 'has a space in it, so no'],
    ['STREETWATCH_STAGES', 'ingest,teleport'],
    ['LOG_LEVEL', 'loud'],
    ['STREETWATCH_MAP_TILES', 'https://tiles.example.com/world.png'],
    ['MQTT_TLS_PORT', '-1'],
    ['MQTT_WS_PORT', 'ws'],
    ['MQTT_MAX_CONNECTIONS', '0'],
    ['MQTT_PUBLISH_RATE', '1.5'],
    ['MQTT_KEEPALIVE_MAX', '500ms'],
    ['MQTT_KEEPALIVE_MAX', '1000h'],
    ['MQTT_DRAIN_TIMEOUT', 'soon'],
    ['STREETWATCH_LOGIN_FAILURE_REFILL', '10'],
    ['STREETWATCH_LIMIT_LOOPBACK', 'yes'],
    ['KAFKA_BROKERS', 'kafka'],
    ['KAFKA_BROKERS', 'kafka:9092,nope'],
    ['INFLUX_URL', 'influxdb:8086'],
    ['REDIS_URL', 'http://redis:6379'],
    ['STREETWATCH_NAMESPACE', 'a/b'],
    ['MQTT_CLIENT_INFLIGHT', '0'],
    ['MQTT_CLIENT_QUEUE_BYTES', '1000'],
    ['MQTT_HANDOFF_CONCURRENCY', '1001'],
    ['MQTT_HANDOFF_MAX_WAITING', '0'],
    ['MQTT_SUBSCRIBE_REFUSAL_RATE', '-1'],
  ])('names the variable when %s=%s is bad', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(expect.objectContaining({ code: 'SW_ERR_CONFIG_ENV', message: expect.stringContaining(`environment variable ${variable}:`) }));
  });

  it('wants room for two of the largest packets in what a connection may hold', () => {
    expect(() => loadConfig({ MQTT_MAX_PACKET_SIZE: '1048576' })).toThrow(/environment variable MQTT_CLIENT_QUEUE_BYTES: must be at least twice MQTT_MAX_PACKET_SIZE/);
    expect(loadConfig({ MQTT_MAX_PACKET_SIZE: '1048576', MQTT_CLIENT_QUEUE_BYTES: '2097152' }).mqtt.limits.clientQueueBytes).toBe(2_097_152);
  });

  it.each([
    ['STREETWATCH_ADMIN_TOKEN', 'hunter2-but-short'.slice(0, 12), 'hunter2-but'],
    ['STREETWATCH_ADMIN_TOKEN', 'correct horse battery staple', 'correct horse'],
    ['STREETWATCH_OPERATOR_TOKEN', 'op secret with spaces', 'op secret'],
    ['REDIS_URL', 'http://:s3cr3t-pass@redis:6379', 's3cr3t-pass'],
    ['REDIS_URL', 'redis//user:s3cr3t-pass@redis:6379', 's3cr3t-pass'],
    ['INFLUX_URL', 'ftp://admin:s3cr3t-pass@influx:8086', 's3cr3t-pass'],
    ['STREETWATCH_MAP_TILES', 'https://tiles.example.com/map.png?key=s3cr3t-key', 's3cr3t-key'],
    ['KAFKA_BROKERS', 'kafka://user:s3cr3t-pass@kafka:9092', 's3cr3t-pass'],
  ])('never echoes the secret in a refused %s', (variable, value, secret) => {
    let message = '';
    try {
      loadConfig({ [variable]: value });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`environment variable ${variable}:`);
    expect(message).not.toContain(secret);
  });

  it('shows a refused URL without its credentials, so the mistake can still be found', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://:s3cr3t@redis:6379/2' })).toThrow('(got "http://redis:6379/2")');
    expect(() => loadConfig({ MQTT_PORT: 'abc' })).toThrow('(got "abc")');
  });

  it('gives the broker its limits, with durations in words', () => {
    expect(loadConfig({}).mqtt).toMatchObject({
      tls: undefined,
      wsPort: undefined,
      limits: {
        maxConnections: 20_000,
        connectRate: 20,
        connectBurst: 100,
        publishRate: 20,
        publishBurst: 100,
        keepaliveMaxSeconds: 1200,
        connectTimeoutMs: 10_000,
        drainTimeoutMs: 30_000,
        clientInflight: 64,
        clientQueueBytes: 1024 * 1024,
        handOffConcurrency: 500,
        handOffMaxWaiting: 10_000,
        subscribeRefusalRate: 1,
        subscribeRefusalBurst: 10,
        loginFailures: { burst: 10, refillMs: 10_000, limitLoopback: false },
      },
    });
    const c = loadConfig({ MQTT_KEEPALIVE_MAX: '90s', MQTT_DRAIN_TIMEOUT: '1.5s', STREETWATCH_LIMIT_LOOPBACK: 'true', MQTT_WS_PORT: '8083' });
    expect(c.mqtt.limits).toMatchObject({ keepaliveMaxSeconds: 90, drainTimeoutMs: 1500, loginFailures: { limitLoopback: true } });
    expect(c.mqtt.wsPort).toBe(8083);
    expect(c.http.loginFailures).toEqual(c.mqtt.limits.loginFailures);
  });

  it('needs the TLS port, certificate and key together, and names the one missing', () => {
    expect(loadConfig({ MQTT_TLS_PORT: '8883', MQTT_TLS_CERT: 'cert.pem', MQTT_TLS_KEY: 'key.pem' }).mqtt.tls).toEqual({ port: 8883, certFile: path.resolve('cert.pem'), keyFile: path.resolve('key.pem') });
    expect(() => loadConfig({ MQTT_TLS_PORT: '8883', MQTT_TLS_CERT: 'cert.pem' })).toThrow(/environment variable MQTT_TLS_KEY: is required/);
    expect(() => loadConfig({ MQTT_TLS_KEY: 'key.pem', MQTT_TLS_CERT: 'cert.pem' })).toThrow(/environment variable MQTT_TLS_PORT: is required/);
  });
});
