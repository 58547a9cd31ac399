/**
 * The second reference broker: Aedes as its package ships, in a process of its own on a free port
 * of 127.0.0.1, none of StreetWatch's code in it: its in-memory persistence, anonymous clients, no
 * hooks. It relays the same load as Mosquitto (scenario 9), so the run shows how far an MQTT broker
 * in JavaScript goes on the platform's core before anything is stored: the ceiling of the
 * embedded pipeline's event loop, beside Mosquitto's.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

export type AedesReferenceCommand = { op: 'exit' };

export interface AedesReferenceReady {
  port: number;
  version: string;
}

if (!process.send) throw new Error('bench/aedes-reference.ts runs as a child process of the benchmark (bench/main.ts)');

// The package exports no package.json: it is read beside its entry point.
const version = (JSON.parse(fs.readFileSync(new URL('package.json', import.meta.resolve('aedes')), 'utf8')) as { version: string }).version;
const broker = await Aedes.createBroker();
const server = net.createServer((socket) => broker.handle(socket));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

process.on('message', (cmd: AedesReferenceCommand) => {
  if (cmd.op !== 'exit') return;
  server.close();
  broker.close(() => process.exit(0));
});
process.send({ ok: true, result: { port: (server.address() as AddressInfo).port, version } satisfies AedesReferenceReady });
