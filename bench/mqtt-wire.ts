/**
 * A lean MQTT 3.1.1 client for load generation: mqtt-packet encodes and parses, a socket
 * carries. mqtt.js keeps a store, timers and a callback per message, which costs the load
 * generator more CPU per publish than a fast broker spends relaying it; this keeps one map
 * entry per QoS 1 publish in flight and nothing else, so the generator is not what a
 * benchmark measures.
 */
import net from 'node:net';
import mqttPacket, { type IConnectPacket, type Packet } from 'mqtt-packet';

export interface WireConnectOptions {
  host: string;
  port: number;
  /** The loopback address to connect from: one source address reaches ~28 000 ports per destination. */
  localAddress?: string;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveSeconds?: number;
  will?: { topic: string; payload: string; qos: 0 | 1; retain: boolean };
  timeoutMs?: number;
}

export interface WireMessage {
  topic: string;
  payload: Buffer;
}

/** High-resolution wall time in ms, comparable across processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export class WireClient {
  /** QoS 1 publishes awaiting PUBACK: message id → the time they count from. */
  private readonly inflight = new Map<number, number>();
  private nextId = 1;
  private closed = false;
  private pingTimer: NodeJS.Timeout | undefined;
  /** Called with the start time of each acknowledged publish. */
  onAck: (startedAt: number) => void = () => undefined;
  /** Called for every PUBLISH received (QoS 1 ones are acknowledged first). */
  onMessage: (msg: WireMessage) => void = () => undefined;
  onClose: (err?: Error) => void = () => undefined;
  private suback: ((granted: number[]) => void) | undefined;

  private constructor(private readonly socket: net.Socket) {}

  static connect(opts: WireConnectOptions): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: opts.host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      socket.setNoDelay(true);
      const client = new WireClient(socket);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      const timer = setTimeout(() => fail(new Error(`${opts.clientId}: no CONNACK within ${opts.timeoutMs ?? 30_000} ms`)), opts.timeoutMs ?? 30_000);
      let connected = false;
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        if (!connected) reject(err);
      };
      parser.on('packet', (packet: Packet) => {
        if (!connected) {
          if (packet.cmd !== 'connack') return fail(new Error(`${opts.clientId}: expected CONNACK, got ${packet.cmd}`));
          clearTimeout(timer);
          if (packet.returnCode !== 0) return fail(new Error(`${opts.clientId}: connection refused, return code ${packet.returnCode}`));
          connected = true;
          client.startPing(opts.keepaliveSeconds ?? 60);
          return resolve(client);
        }
        client.handle(packet);
      });
      parser.on('error', (err: Error) => fail(err));
      socket.on('data', (chunk) => parser.parse(chunk));
      socket.on('error', (err) => (connected ? client.close(err) : fail(err)));
      socket.on('close', () => (connected ? client.close() : fail(new Error(`${opts.clientId}: connection closed before CONNACK`))));
      const connect: IConnectPacket = {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: opts.clientId,
        clean: true,
        keepalive: opts.keepaliveSeconds ?? 60,
      };
      if (opts.username !== undefined) connect.username = opts.username;
      if (opts.password !== undefined) connect.password = Buffer.from(opts.password);
      if (opts.will) connect.will = { ...opts.will, payload: Buffer.from(opts.will.payload) };
      socket.write(mqttPacket.generate(connect));
    });
  }

  /** QoS 1 publishes not yet acknowledged. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Closed, by either end. */
  get isClosed(): boolean {
    return this.closed;
  }

  get writable(): boolean {
    return !this.closed && !this.socket.writableNeedDrain;
  }

  /**
   * Sends a publish; for QoS 1, `startedAt` is what its latency counts from (the scheduled
   * time in an open-loop run). Returns false when the socket buffer is full.
   */
  publish(topic: string, payload: string | Buffer, qos: 0 | 1, startedAt = wallNow(), retain = false): boolean {
    if (this.closed) return false;
    let messageId: number | undefined;
    if (qos === 1) {
      messageId = this.nextId;
      this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
      if (this.inflight.has(messageId)) throw new Error('more than 65535 publishes in flight on one connection');
      this.inflight.set(messageId, startedAt);
    }
    const packet = { cmd: 'publish', topic, payload, qos, retain, dup: false, messageId } as Packet;
    return this.socket.write(mqttPacket.generate(packet));
  }

  subscribe(topic: string, qos: 0 | 1): Promise<number[]> {
    return new Promise((resolve) => {
      this.suback = resolve;
      this.socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] } as Packet));
    });
  }

  /** Sends DISCONNECT (no will) and closes. */
  async end(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.socket.end(mqttPacket.generate({ cmd: 'disconnect' } as Packet), () => resolve());
      setTimeout(resolve, 2_000).unref();
    });
    this.close();
  }

  /** Drops the connection without DISCONNECT. */
  destroy(): void {
    this.close();
  }

  private handle(packet: Packet): void {
    switch (packet.cmd) {
      case 'puback': {
        const startedAt = this.inflight.get(packet.messageId!);
        if (startedAt === undefined) return;
        this.inflight.delete(packet.messageId!);
        this.onAck(startedAt);
        return;
      }
      case 'publish':
        if (packet.qos === 1) this.socket.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId } as Packet));
        this.onMessage({ topic: packet.topic, payload: packet.payload as Buffer });
        return;
      case 'suback':
        this.suback?.(packet.granted as number[]);
        this.suback = undefined;
        return;
      default:
    }
  }

  private startPing(keepaliveSeconds: number): void {
    if (keepaliveSeconds <= 0) return;
    const ping = mqttPacket.generate({ cmd: 'pingreq' } as Packet);
    // Half the keep-alive: the broker closes a connection silent for 1.5 times it.
    this.pingTimer = setInterval(() => this.socket.write(ping), (keepaliveSeconds * 1000) / 2);
    this.pingTimer.unref();
  }

  private close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    this.socket.destroy();
    this.onClose(err);
  }
}
