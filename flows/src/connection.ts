/**
 * One MQTT connection to a StreetWatch platform as an operator, shared by every node that uses
 * the same config node: subscriptions are counted per filter and messages handed to the nodes
 * whose filters match; the city (retained) is kept for the geofence; alerts go out at QoS 1 and
 * their refusals come back on the operator's errors topic, matched by `ref`.
 */
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import type { OperatorAlert, OperatorError } from '../../core/schemas.js';
import { OPERATOR_CITY_TOPIC, operatorAlertsTopic, operatorErrorsTopic } from '../../core/topics.js';
import { parseCity, type CityView } from './city-view.js';
import { CodedError } from './coded-error.js';
import { topicMatches } from './topic-filter.js';

/** How long to wait before reconnecting after the connection drops. */
export const DEFAULT_RECONNECT_MS = 5_000;
/** Operator names: like device ids, safe as a topic level. */
export const OPERATOR_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Most alerts awaiting their PUBACK whose refusals are remembered. */
const MAX_PENDING = 10_000;

export interface PlatformSettings {
  /** The platform's MQTT listener, e.g. `mqtt://localhost:1883` or `mqtts://...`. */
  url: string;
  /** The operator's name: the client id is `operator:{name}:{suffix}`, the alerts topic ends with it. */
  operator: string;
  /** The operator token (STREETWATCH_OPERATOR_TOKEN, or the platform's data/operator-token). */
  token: string;
  /** Tells this runtime's connection apart from others of the same operator. */
  clientSuffix: string;
  /** Reconnect delay; DEFAULT_RECONNECT_MS when absent. */
  reconnectMs?: number;
}

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'refused';

type Handler = (topic: string, payload: Buffer) => void;

/** `operator:{name}:{suffix}` with the suffix reduced to what a client id allows. */
export function operatorClientId(operator: string, suffix: string): string {
  const safe = suffix.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 32) || 'nr';
  return `operator:${operator}:${safe}`;
}

export class PlatformConnection extends EventEmitter {
  private readonly client: MqttClient;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly pending = new Map<string, OperatorError | null>();
  private cityView: CityView | undefined;
  private cityWaiters: ((city: CityView) => void)[] = [];
  private current: ConnectionStatus = 'connecting';
  readonly errorsTopic: string;
  readonly alertsTopic: string;

  constructor(readonly settings: PlatformSettings) {
    super();
    // Every node of every flow on this platform listens here; there is no leak to warn about.
    this.setMaxListeners(0);
    if (!OPERATOR_NAME_RE.test(settings.operator)) throw new CodedError('SW_ERR_CLIENT_ID_INVALID', `operator name ${JSON.stringify(settings.operator)} must match ${OPERATOR_NAME_RE.source}`);
    this.errorsTopic = operatorErrorsTopic(settings.operator);
    this.alertsTopic = operatorAlertsTopic(settings.operator);
    this.client = mqtt.connect(settings.url, {
      clientId: operatorClientId(settings.operator, settings.clientSuffix),
      username: `operator:${settings.operator}`,
      password: settings.token,
      clean: true,
      // The connect handler subscribes to everything itself, so mqtt.js need not repeat it.
      resubscribe: false,
      reconnectPeriod: settings.reconnectMs ?? DEFAULT_RECONNECT_MS,
      connectTimeout: 10_000,
    });
    this.client.on('connect', () => {
      this.setStatus('connected');
      // Subscribed again on every connect: the session is clean, the broker kept nothing.
      const filters = [OPERATOR_CITY_TOPIC, this.errorsTopic, ...this.handlers.keys()];
      this.client.subscribe(filters, { qos: 1 }, (err, granted) => this.checkGranted(err, granted));
    });
    this.client.on('close', () => {
      if (this.current !== 'refused') this.setStatus('disconnected');
    });
    this.client.on('reconnect', () => {
      if (this.current !== 'refused') this.setStatus('connecting');
    });
    this.client.on('error', (err: Error & { code?: number }) => {
      // CONNACK 4 (bad credentials), 5 (not authorized), 2 (identifier rejected): retrying with
      // the same settings cannot help, but the platform may be fixed, so the client keeps trying.
      if (err.code === 2 || err.code === 4 || err.code === 5) this.setStatus('refused');
      this.emit('connection-error', err);
    });
    this.client.on('message', (topic, payload) => this.dispatch(topic, payload));
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  /** The latest city, once it has arrived. */
  city(): CityView | undefined {
    return this.cityView;
  }

  /** The city, as soon as it arrives (at once if it has). */
  whenCity(): Promise<CityView> {
    if (this.cityView) return Promise.resolve(this.cityView);
    return new Promise((resolve) => this.cityWaiters.push(resolve));
  }

  /** Hands messages matching `filter` to `handler` until the returned function is called. */
  subscribe(filter: string, handler: Handler): () => void {
    let set = this.handlers.get(filter);
    if (!set) {
      this.handlers.set(filter, (set = new Set()));
      if (this.client.connected) this.client.subscribe(filter, { qos: 1 }, (err, granted) => this.checkGranted(err, granted));
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(filter) === set) {
        this.handlers.delete(filter);
        if (this.client.connected) this.client.unsubscribe(filter);
      }
    };
  }

  /**
   * Sends an alert (it must carry a `ref`) and resolves at its PUBACK: the platform has put it
   * on the pipeline, or refused it, in which case this rejects with the platform's coded error.
   * The broker sends the refusal before the PUBACK; one that still comes later is emitted as
   * `alert-error`.
   */
  raiseAlert(alert: OperatorAlert & { ref: string }): Promise<void> {
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new CodedError('SW_ERR_RATE_LIMITED', `more than ${MAX_PENDING} alerts await the platform's acknowledgment`));
    this.pending.set(alert.ref, null);
    return new Promise((resolve, reject) => {
      this.client.publish(this.alertsTopic, JSON.stringify(alert), { qos: 1 }, (err) => {
        const refusal = this.pending.get(alert.ref);
        this.pending.delete(alert.ref);
        if (err) return reject(new CodedError('SW_ERR_UNAVAILABLE', `the alert could not be sent: ${err.message}`, alert.ref));
        if (refusal) return reject(new CodedError(refusal.code, refusal.message, alert.ref));
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }

  private dispatch(topic: string, payload: Buffer): void {
    if (topic === OPERATOR_CITY_TOPIC) return this.takeCity(payload);
    if (topic === this.errorsTopic) return this.takeError(payload);
    for (const [filter, set] of this.handlers) {
      if (!topicMatches(filter, topic)) continue;
      for (const handler of set) handler(topic, payload);
    }
  }

  private takeCity(payload: Buffer): void {
    try {
      this.cityView = parseCity(payload);
    } catch (err) {
      this.emit('connection-error', err);
      return;
    }
    for (const resolve of this.cityWaiters.splice(0)) resolve(this.cityView);
    this.emit('city', this.cityView);
  }

  private takeError(payload: Buffer): void {
    let error: OperatorError;
    try {
      error = JSON.parse(payload.toString()) as OperatorError;
    } catch {
      return;
    }
    if (error.ref !== undefined && this.pending.has(error.ref)) this.pending.set(error.ref, error);
    else this.emit('alert-error', new CodedError(String(error.code), String(error.message), error.ref));
  }

  private checkGranted(err: Error | null | undefined, granted: { topic: string; qos: number }[] | undefined): void {
    if (err) return void this.emit('connection-error', err);
    for (const g of granted ?? []) {
      // 0x80 in the SUBACK: the operator role may not read this.
      if (g.qos === 128) this.emit('connection-error', new CodedError('SW_ERR_SUBSCRIBE_FORBIDDEN', `the platform refused the subscription to ${g.topic}`));
    }
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.emit('status', status);
  }
}
