import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifySignature } from '../../alerting/signature.js';

export interface ReceivedDelivery {
  key: string;
  attempt: string;
  event: string;
  body: string;
  signatureValid: boolean;
}

/**
 * A webhook receiver the way a sub-center should build one: it checks the signature, and acts
 * on each Idempotency-Key once (a repeated key is acknowledged, not processed again). It can go
 * down (stop listening), come back on the same port, and lose its response after processing
 * (the fault a sender cannot tell from a lost request).
 */
export class IdempotentReceiver {
  /** Every request that reached the server, in order. */
  readonly requests: ReceivedDelivery[] = [];
  /** What the receiver acted on: key → times processed (must stay 1). */
  readonly processed = new Map<string, number>();
  /** The next N requests are processed, then their connection is dropped without an answer. */
  dropResponses = 0;
  /** While set, every request is answered with this status and not processed (a failing receiver). */
  failWith: number | undefined;
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/streetwatch`;
  }

  async up(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const key = String(req.headers['idempotency-key']);
        const signatureValid = verifySignature(body, this.secret, req.headers['x-streetwatch-signature'] as string | undefined);
        this.requests.push({ key, attempt: String(req.headers['x-streetwatch-attempt']), event: String(req.headers['x-streetwatch-event']), body, signatureValid });
        if (!signatureValid) return void res.writeHead(401).end();
        if (this.failWith !== undefined) return void res.writeHead(this.failWith).end();
        if (!this.processed.has(key)) this.processed.set(key, 0);
        if (this.processed.get(key) === 0) this.processed.set(key, 1);
        if (this.dropResponses > 0) {
          this.dropResponses--;
          req.socket.destroy();
          return;
        }
        res.writeHead(this.processed.get(key) === 1 ? 200 : 500).end();
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and cuts every open connection: the sender sees connection refused. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
