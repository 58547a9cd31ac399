/**
 * A local tile server for the console's browser tests: answers every tile request with a real
 * 256×256 PNG (a colour per layer) and records what was asked, so a test can check which tile
 * URLs the console built (XYZ, WMTS KVP, subdomains) and that the browser drew them.
 */
import http from 'node:http';
import zlib from 'node:zlib';

export interface TileRequest {
  host: string;
  path: string;
  query: URLSearchParams;
}

export interface TileServer {
  port: number;
  requests: TileRequest[];
  close(): Promise<void>;
}

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A solid-colour RGB PNG (PNG spec: signature, IHDR, one IDAT, IEND). */
export function solidPng(size: number, [r, g, b]: [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  const row = Buffer.alloc(1 + size * 3);
  for (let x = 0; x < size; x++) row.set([r, g, b], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Tile colours by the first path segment (the layer), so screenshots show which layer is drawn. */
const COLOURS: Record<string, [number, number, number]> = { street: [236, 229, 214], img: [86, 120, 84], cia: [255, 255, 255] };

export async function startTileServer(): Promise<TileServer> {
  const requests: TileRequest[] = [];
  const tiles = new Map<string, Buffer>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://tiles');
    requests.push({ host: req.headers.host ?? '', path: url.pathname, query: url.searchParams });
    const layer = url.searchParams.get('LAYER') ?? url.pathname.split('/')[1] ?? '';
    let png = tiles.get(layer);
    if (!png) tiles.set(layer, (png = solidPng(256, COLOURS[layer] ?? [200, 200, 200])));
    res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store', 'access-control-allow-origin': '*' });
    res.end(png);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
