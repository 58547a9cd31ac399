/**
 * MQTT over TLS and over WebSocket, with a certificate made for the run: the same devices, the
 * same rules, whichever way they come in. Two clients: MQTT.js, and mosquitto_pub over TLS.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestPlatform, tempDir, waitFor, type TestPlatform } from '../support/harness.js';
import { mosquittoClients, openssl, selfSignedCertificate } from '../support/tools.js';

const run = promisify(execFile);
const SITE = { lat: 23.115, lon: 113.335 };

describe.runIf(openssl.run)('MQTT over TLS and WebSocket', () => {
  let sw: TestPlatform;
  let ca: Buffer;
  let certFile: string;
  beforeAll(async () => {
    const dir = tempDir('tls');
    const { cert, key } = selfSignedCertificate(dir);
    certFile = cert;
    ca = fs.readFileSync(cert);
    sw = await startTestPlatform({ env: { MQTT_TLS_PORT: '0', MQTT_TLS_CERT: cert, MQTT_TLS_KEY: key, MQTT_WS_PORT: '0' } });
  });
  afterAll(async () => {
    await sw?.stop();
  });

  const stored = async (id: string) => {
    await sw.settled();
    return (await sw.platform.series.query({ deviceId: id, from: 0, to: Date.now() + 60_000 })).map((r) => [r.metric, r.value]);
  };

  it('takes a device over TLS (MQTT.js), with the certificate as the trusted CA', async () => {
    const secret = await sw.provision('tls-js', SITE);
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${sw.platform.mqttTlsPort}`, { clientId: 'tls-js', username: 'tls-js', password: secret, ca, reconnectPeriod: 0 });
    const errors = await collect(client, 'v1/devices/tls-js/errors');
    await client.publishAsync('v1/devices/tls-js/telemetry', JSON.stringify({ values: { noise: 55 } }), { qos: 1 });
    await client.publishAsync('v1/devices/tls-js/telemetry', '{"values":', { qos: 1 });
    await waitFor(() => errors[0], 'the refusal over TLS');
    expect(errors[0]!.json.code).toBe('SW_ERR_PAYLOAD_JSON');
    expect(await stored('tls-js')).toEqual([['noise', 55]]);
    await client.endAsync();
  });

  it('refuses a client that does not trust the certificate, and plain MQTT on the TLS port', async () => {
    const secret = await sw.provision('tls-untrusting', SITE);
    const untrusting = await mqtt.connectAsync(`mqtts://127.0.0.1:${sw.platform.mqttTlsPort}`, { clientId: 'tls-untrusting', username: 'tls-untrusting', password: secret, reconnectPeriod: 0 }).then(
      () => 'connected',
      (err: Error) => err.message,
    );
    expect(untrusting).toMatch(/self[- ]signed/i);
    const plain = await mqtt.connectAsync(`mqtt://127.0.0.1:${sw.platform.mqttTlsPort}`, { clientId: 'tls-untrusting', username: 'tls-untrusting', password: secret, reconnectPeriod: 0, connectTimeout: 5_000 }, false).then(
      () => 'connected',
      () => 'refused',
    );
    expect(plain).toBe('refused');
  });

  it.runIf(mosquittoClients.run)('takes a device over TLS from mosquitto_pub', async () => {
    mosquittoClients.require();
    const secret = await sw.provision('tls-sh', SITE);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(sw.platform.mqttTlsPort), '--cafile', certFile, '-i', 'tls-sh', '-u', 'tls-sh', '-P', secret, '-q', '1', '-t', 'v1/devices/tls-sh/telemetry', '-m', '{"values":{"noise":61}}'], { timeout: 10_000 });
    expect(await stored('tls-sh')).toEqual([['noise', 61]]);
  });

  it('takes a device over WebSocket at /mqtt (MQTT.js), errors included', async () => {
    const secret = await sw.provision('ws-js', SITE);
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${sw.platform.mqttWsPort}/mqtt`, { clientId: 'ws-js', username: 'ws-js', password: secret, reconnectPeriod: 0 });
    const errors = await collect(client, 'v1/devices/ws-js/errors');
    await client.publishAsync('v1/devices/ws-js/telemetry', JSON.stringify({ values: { noise: 57 } }), { qos: 1 });
    await client.publishAsync('v1/devices/ws-js/telemetry', JSON.stringify({ values: { noise: 'loud' } }), { qos: 1 });
    await waitFor(() => errors[0], 'the refusal over WebSocket');
    expect(errors[0]!.json.code).toBe('SW_ERR_PAYLOAD_SCHEMA');
    expect(await stored('ws-js')).toEqual([['noise', 57]]);
    await client.endAsync();
  });

  it('answers nothing but MQTT on the WebSocket port: other paths, plain HTTP, text frames, oversized frames', async () => {
    const base = `127.0.0.1:${sw.platform.mqttWsPort}`;
    const upgrade = (url: string, protocols: string[]) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(url, protocols);
        ws.once('open', () => {
          resolve(`open ${ws.protocol}`);
          ws.terminate();
        });
        ws.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
        ws.once('error', (err) => resolve(`error ${err.message}`));
      });
    expect(await upgrade(`ws://${base}/other`, ['mqtt'])).toBe('http 400');
    expect(await upgrade(`ws://${base}/mqtt`, ['mqtt'])).toBe('open mqtt');
    expect(await upgrade(`ws://${base}/mqtt`, ['chat'])).toMatch(/^error|^http 4/);
    expect((await fetch(`http://${base}/mqtt`)).status).toBe(426);

    const closeCode = (send: (ws: WebSocket) => void) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://${base}/mqtt`, ['mqtt']);
        ws.once('open', () => send(ws));
        ws.once('close', (code) => resolve(code));
        ws.once('error', () => undefined);
      });
    // [MQTT-6.0.0-2] a text frame closes the connection.
    expect(await closeCode((ws) => ws.send('hello', { binary: false }))).toBe(1003);
    // A frame over the packet limit is not even buffered.
    expect(await closeCode((ws) => ws.send(Buffer.alloc(sw.platform.config.mqtt.maxPacketBytes + 64)))).toBe(1009);
  });

  it('names the variable of an unreadable certificate at start-up', async () => {
    const missing = path.join(tempDir('tls-missing'), 'nope.pem');
    await expect(startTestPlatform({ env: { MQTT_TLS_PORT: '0', MQTT_TLS_CERT: missing, MQTT_TLS_KEY: missing } })).rejects.toMatchObject({
      code: 'SW_ERR_CONFIG_ENV',
      message: expect.stringContaining('environment variable MQTT_TLS_CERT: cannot read'),
    });
  });
});
