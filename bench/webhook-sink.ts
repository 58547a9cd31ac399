/**
 * The sub-centers' webhook receiver for the alert latency benchmark, in a process of its own:
 * it checks each delivery's signature as a receiver must, answers 200, and notes when each
 * alarm or all-clear arrived, by the device and timestamp of the reading that caused it (the
 * ticket's alert entry carries both), so the runner can match it with the send time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../alerting/signature.js';
import { wallNow } from './mqtt-wire.js';

export type SinkCommand = { op: 'take' } | { op: 'exit' };

export interface SinkReport {
  /** `deviceId|ts` → first arrival (wall ms). */
  arrivals: [string, number][];
  deliveries: number;
  badSignatures: number;
}

const secret = process.env.BENCH_WEBHOOK_SECRET;
if (!secret) throw new Error('BENCH_WEBHOOK_SECRET is not set');

let arrivals = new Map<string, number>();
let deliveries = 0;
let badSignatures = 0;

interface Body {
  ticket?: { alerts?: { deviceId?: string; lastSeen?: number }[] };
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = wallNow();
    const body = Buffer.concat(chunks);
    if (!verifySignature(body, secret, req.headers['x-streetwatch-signature'] as string | undefined)) {
      badSignatures++;
      res.writeHead(401).end();
      return;
    }
    deliveries++;
    res.writeHead(200).end();
    const message = JSON.parse(body.toString('utf8')) as Body;
    for (const a of message.ticket?.alerts ?? []) {
      const key = `${a.deviceId}|${a.lastSeen}`;
      if (!arrivals.has(key)) arrivals.set(key, at);
    }
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

if (!process.send) throw new Error('bench/webhook-sink.ts runs as a child process of the benchmark (bench/main.ts)');
process.on('message', (cmd: SinkCommand) => {
  if (cmd.op === 'exit') server.close(() => process.exit(0));
  else {
    process.send!({ ok: true, result: { arrivals: [...arrivals], deliveries, badSignatures } satisfies SinkReport });
    arrivals = new Map();
    deliveries = 0;
    badSignatures = 0;
  }
});
process.send({ ok: true, result: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/streetwatch` } });
