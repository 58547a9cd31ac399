/**
 * The broker's listeners: MQTT over TCP, and when configured over TLS and over WebSocket at
 * `/mqtt`. Each one admits connections through the same gate and hands a byte stream to the
 * same broker; nothing about a client depends on how it came in.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { StreetWatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ConnectionGate } from './limits.js';
import { parseProxyHeader } from './proxy-protocol.js';

/** The path of the WebSocket listener, the one MQTT clients and brokers use by convention. */
export const MQTT_WS_PATH = '/mqtt';
/** WebSocket subprotocols accepted, preferred first [MQTT-6.0.0-3]: 3.1.1 names it `mqtt`, 3.1 `mqttv3.1`. */
const WS_PROTOCOLS = ['mqtt', 'mqttv3.1'];
/** A fixed header takes at most 5 bytes besides the packet's remaining length. */
const FIXED_HEADER_MAX = 5;

export interface ListenerOptions {
  host: string;
  port: number;
  tls: { port: number; certFile: string; keyFile: string } | undefined;
  wsPort: number | undefined;
  maxPacketBytes: number;
  /**
   * The plain MQTT listener reads a PROXY protocol header (v1 or v2) when a connection starts
   * with one, and takes the client's address from it (a connection that starts with an MQTT
   * packet is taken as it is: its first byte tells them apart). For nodes reachable only through
   * a balancer that sends one (HAProxy `send-proxy-v2`), since anyone who can connect can claim
   * any address.
   */
  proxyProtocol: boolean;
  /** How long an HTTP upgrade request (or a PROXY header) may take to arrive. */
  requestTimeoutMs: number;
  gate: ConnectionGate;
  /** Hands an admitted connection to the broker. */
  accept: (stream: Duplex, remoteAddress: string | undefined, req?: http.IncomingMessage) => void;
  logger: Logger;
}

export interface Listeners {
  readonly port: number;
  readonly tlsPort: number | undefined;
  readonly wsPort: number | undefined;
  close(): Promise<void>;
}

export async function startListeners(opts: ListenerOptions): Promise<Listeners> {
  const servers: net.Server[] = [];
  const listen = async (server: net.Server, port: number, addressLater = false): Promise<number> => {
    opts.gate.guard(server, addressLater);
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as net.AddressInfo).port;
  };
  const close = async (): Promise<void> => {
    await Promise.all(servers.filter((s) => s.listening).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };

  try {
    const plain = net.createServer({ noDelay: true }, (socket) => (opts.proxyProtocol ? acceptBehindProxy(socket, opts) : opts.accept(socket, socket.remoteAddress)));
    const port = await listen(plain, opts.port, opts.proxyProtocol);

    let tlsPort: number | undefined;
    if (opts.tls) {
      const secure = tls.createServer({ ...readTlsFiles(opts.tls), minVersion: 'TLSv1.2' }, (socket) => {
        socket.setNoDelay(true);
        opts.accept(socket, socket.remoteAddress);
      });
      // A failed handshake is the client's problem: logged, never an error of the server.
      secure.on('tlsClientError', (err, socket) => opts.logger.debug({ remote: socket.remoteAddress, err: err.message }, 'TLS handshake failed'));
      tlsPort = await listen(secure, opts.tls.port);
    }

    const wsPort = opts.wsPort === undefined ? undefined : await listen(webSocketServer(opts), opts.wsPort);
    return { port, tlsPort, wsPort, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Reads the certificate and key; an unreadable or invalid one names its variable. */
function readTlsFiles(files: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (variable: string, file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new StreetWatchError('SW_ERR_CONFIG_ENV', [variable, `cannot read ${file}: ${(err as Error).message}`], { cause: err });
    }
  };
  const cert = read('MQTT_TLS_CERT', files.certFile);
  const key = read('MQTT_TLS_KEY', files.keyFile);
  try {
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new StreetWatchError('SW_ERR_CONFIG_ENV', ['MQTT_TLS_CERT', `${files.certFile} and ${files.keyFile} are not a PEM certificate and its key: ${(err as Error).message}`], { cause: err });
  }
  return { cert, key };
}

/**
 * MQTT over WebSocket [MQTT-6.0.0]: binary frames only, subprotocol `mqtt`, one path. A frame
 * may carry a whole packet, so a frame is capped at the packet limit; compression is off (a
 * small compressed frame could inflate past any limit before it is counted).
 */
function webSocketServer(opts: ListenerOptions): http.Server {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket', connection: 'close' }).end(`MQTT over WebSocket: connect to ${MQTT_WS_PATH} with the "mqtt" subprotocol\n`);
  });
  server.headersTimeout = opts.requestTimeoutMs;
  server.requestTimeout = opts.requestTimeoutMs;
  const wss = new WebSocketServer({
    server,
    path: MQTT_WS_PATH,
    maxPayload: opts.maxPacketBytes + FIXED_HEADER_MAX,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => WS_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  wss.on('connection', (ws, req) => {
    // [MQTT-6.0.0-1] MQTT travels in binary frames; [MQTT-6.0.0-2] anything else closes the connection.
    ws.on('message', (_data, isBinary) => {
      if (!isBinary) ws.close(1003, 'MQTT travels in binary frames');
    });
    const stream = createWebSocketStream(ws);
    stream.on('error', (err) => opts.logger.debug({ remote: req.socket.remoteAddress, err: err.message }, 'websocket error'));
    opts.accept(stream, req.socket.remoteAddress, req);
  });
  wss.on('wsClientError', (err, _socket, req) => opts.logger.debug({ remote: req.socket.remoteAddress, err: err.message }, 'websocket handshake failed'));
  server.on('close', () => wss.close());
  return server;
}

/**
 * Reads the PROXY header if the connection starts with one, then admits the connection on the
 * client's address (the per-address rate) and hands on the bytes after the header. A connection
 * that sends nothing within the request timeout, or a malformed header, is closed.
 */
function acceptBehindProxy(socket: net.Socket, opts: ListenerOptions): void {
  let seen = Buffer.alloc(0);
  const timer = setTimeout(() => fail('no PROXY protocol header in time'), opts.requestTimeoutMs);
  const fail = (reason: string): void => {
    cleanup();
    opts.logger.debug({ remote: socket.remoteAddress, reason }, 'connection closed before MQTT: PROXY protocol');
    socket.destroy();
  };
  const cleanup = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', cleanup);
  };
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    const header = parseProxyHeader(seen);
    if (header.kind === 'partial') return;
    if (header.kind === 'invalid') return fail(header.reason);
    cleanup();
    socket.pause();
    const source = header.kind === 'header' ? (header.source ?? socket.remoteAddress) : socket.remoteAddress;
    const rest = header.kind === 'header' ? seen.subarray(header.length) : seen;
    const go = (admitted: boolean): void => {
      if (!admitted || socket.destroyed) return void socket.destroy();
      if (rest.length > 0) socket.unshift(rest);
      opts.accept(socket, source);
    };
    // Paused meanwhile: nothing of the client is read before its address is admitted.
    const admitted = opts.gate.admitAddress(source);
    if (admitted instanceof Promise) void admitted.then(go);
    else go(admitted);
  };
  socket.on('data', onData);
  socket.once('close', cleanup);
  socket.on('error', () => undefined);
}
