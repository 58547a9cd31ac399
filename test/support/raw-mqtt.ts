/**
 * An MQTT client with no behaviour of its own: it writes the packets a test gives it and records
 * what comes back, so a test can do what a library never would (withhold an acknowledgement,
 * stop reading, send a packet of another protocol version) and see exactly what the broker does.
 */
import net from 'node:net';
import tls from 'node:tls';
import mqttPacket, { type Packet } from 'mqtt-packet';

export class RawMqtt {
  readonly received: Packet[] = [];
  /** Resolves when the broker closes the connection (or it fails). */
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: net.Socket,
    protocolVersion: number,
  ) {
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on('packet', (p: Packet) => {
      this.received.push(p);
      for (const w of this.waiters.splice(0)) w();
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(port: number, opts: { protocolVersion?: number; tls?: tls.ConnectionOptions } = {}): Promise<RawMqtt> {
    const socket = opts.tls ? tls.connect({ port, host: '127.0.0.1', ...opts.tls }) : net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawMqtt(socket, opts.protocolVersion ?? 4);
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  send(packet: Packet, protocolVersion = 4): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion }));
  }

  /** The first packet received (since `from`) that matches, waiting for it if need be. */
  async next<T extends Packet>(match: (p: Packet) => p is T, what: string, from?: number): Promise<T>;
  async next(match: (p: Packet) => boolean, what: string, from?: number): Promise<Packet>;
  async next(match: (p: Packet) => boolean, what: string, from = 0): Promise<Packet> {
    for (;;) {
      const found = this.received.slice(from).find(match);
      if (found) return found;
      if (this.isClosed) throw new Error(`connection closed before ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 10_000).unref();
      });
    }
  }

  /** Sends CONNECT and waits for the CONNACK. */
  async connect(opts: { clientId: string; username?: string; password?: string; keepalive?: number; clean?: boolean; will?: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean } }): Promise<{ returnCode: number; sessionPresent: boolean }> {
    this.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: opts.clean ?? true,
      keepalive: opts.keepalive ?? 60,
      clientId: opts.clientId,
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: Buffer.from(opts.password) } : {}),
      ...(opts.will ? { will: opts.will } : {}),
    });
    const connack = await this.next((p) => p.cmd === 'connack', 'the CONNACK');
    const c = connack as { returnCode?: number; reasonCode?: number; sessionPresent: boolean };
    return { returnCode: c.returnCode ?? c.reasonCode ?? -1, sessionPresent: c.sessionPresent };
  }

  close(): void {
    this.socket.destroy();
  }
}
