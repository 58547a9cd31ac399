import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, PostTimeoutError } from './post.js';

describe('postJson', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r).closeAllConnections());
  });

  async function serve(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?unit=north`;
  }

  it('sends the body and headers, reuses the connection, and does not follow a redirect', async () => {
    const seen: { url: string; body: string; headers: http.IncomingHttpHeaders; port: number }[] = [];
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url!, body, headers: req.headers, port: req.socket.remotePort! });
        if (seen.length === 2) res.writeHead(302, { location: '/elsewhere' }).end('moved');
        else res.writeHead(204).end();
      });
    });
    const body = JSON.stringify({ ticket: '工单', n: 1 });
    expect(await postJson(url, body, { 'content-type': 'application/json', 'x-streetwatch-attempt': '1' }, 5_000)).toBe(204);
    expect(await postJson(url, body, { 'content-type': 'application/json' }, 5_000)).toBe(302);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ url: '/hook?unit=north', body, headers: { 'content-type': 'application/json', 'x-streetwatch-attempt': '1', 'content-length': String(Buffer.byteLength(body)) } });
    // Kept alive: the second request came on the first one's connection.
    expect(seen[1]!.port).toBe(seen[0]!.port);
  });

  it('gives up on a receiver that does not answer in time, and reports a refused connection', async () => {
    const url = await serve(() => undefined);
    const started = Date.now();
    const err = await postJson(url, '{}', {}, 150).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PostTimeoutError);
    expect((err as Error).message).toBe('timed out after 150 ms');
    expect(Date.now() - started).toBeLessThan(5_000);
    const refused = await postJson('http://127.0.0.1:1/hook', '{}', {}, 5_000).catch((e: unknown) => e);
    expect((refused as Error & { code?: string }).code).toBe('ECONNREFUSED');
  });
});
