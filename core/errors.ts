/**
 * The one catalogue of StreetWatch errors. Every rejection a device, an API client or an
 * operator sees carries one of these codes, so vendors can act on it and `/metrics` can
 * count it.
 */

/** MQTT 5 reason codes (also used in our error payloads for 3.1.1 clients, for reference). */
export const MqttReason = {
  UNSPECIFIED: 0x80,
  MALFORMED_PACKET: 0x81,
  IMPLEMENTATION_SPECIFIC: 0x83,
  CLIENT_ID_INVALID: 0x85,
  BAD_CREDENTIALS: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_TOO_LARGE: 0x95,
  QUOTA_EXCEEDED: 0x97,
  PAYLOAD_FORMAT_INVALID: 0x99,
} as const;

interface ErrorSpec {
  /** HTTP status when the error is answered over the API. */
  status: number;
  /** A message a vendor or operator can act on; `%s` placeholders take the arguments. */
  message: string;
  /** True when trying again later may succeed (the cause is transient). */
  retriable?: boolean;
  /** MQTT reason code when the error is about a publish or a connection. */
  mqtt?: number;
}

const catalogue = {
  // Device input (ingest, broker)
  SW_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'payload is %s bytes, the limit is %s', mqtt: MqttReason.PACKET_TOO_LARGE },
  SW_ERR_PAYLOAD_ENCODING: { status: 400, message: 'payload is not valid UTF-8', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_PAYLOAD_JSON: { status: 400, message: 'payload is not valid JSON: %s', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_PAYLOAD_SCHEMA: { status: 400, message: 'payload does not match the schema: %s', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_METRIC_RANGE: { status: 400, message: 'metric %s: value %s is outside the plausible range %s', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_METRIC_TYPE: { status: 400, message: 'metric %s expects a %s value', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_TS_RANGE: { status: 400, message: 'timestamp %s is outside the accepted window (%s)', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_METRIC_UNKNOWN: { status: 400, message: 'name %s does not map to a StreetWatch metric (see the name table in docs/DEVICE-PROTOCOL.md)', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_UNIT_UNSUPPORTED: { status: 400, message: 'metric %s: unit %s is not accepted, use one of %s', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_TOPIC_UNKNOWN: { status: 400, message: 'topic %s is not part of the device contract', mqtt: MqttReason.TOPIC_NAME_INVALID },
  SW_ERR_TOPIC_FORBIDDEN: { status: 403, message: 'client %s may not publish to %s', mqtt: MqttReason.NOT_AUTHORIZED },
  SW_ERR_SUBSCRIBE_FORBIDDEN: { status: 403, message: 'client %s may not subscribe to %s', mqtt: MqttReason.NOT_AUTHORIZED },
  SW_ERR_DEVICE_UNKNOWN: { status: 404, message: 'device %s is not provisioned', mqtt: MqttReason.NOT_AUTHORIZED },
  SW_ERR_CLIENT_ID_INVALID: { status: 400, message: 'client id %s is not a valid device id', mqtt: MqttReason.CLIENT_ID_INVALID },
  SW_ERR_BAD_CREDENTIALS: { status: 401, message: 'bad username or secret for %s', mqtt: MqttReason.BAD_CREDENTIALS },
  SW_ERR_PACKET_TOO_LARGE: { status: 413, message: 'MQTT packet of %s bytes exceeds the limit of %s', mqtt: MqttReason.PACKET_TOO_LARGE },
  SW_ERR_MQTT_MALFORMED: { status: 400, message: 'MQTT packet is malformed: %s', mqtt: MqttReason.MALFORMED_PACKET },
  SW_ERR_CLIENT_QUEUE_FULL: { status: 429, message: 'connection of %s holds %s bytes in the broker, the limit is %s: closed', retriable: true, mqtt: MqttReason.QUOTA_EXCEEDED },
  // Trust in what a device says of itself (ingest/trust.ts)
  SW_ERR_TS_STALE: { status: 400, message: 'timestamp %s is earlier than %s, the last accepted reading of device %s less the %s tolerance: readings move forward', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_READING_DUPLICATE: { status: 400, message: 'device %s: %s at %s is given twice in this publish (first in %s)', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_METRIC_LIMIT: { status: 400, message: 'device %s already reports %s distinct metrics, its limit: %s is refused', mqtt: MqttReason.QUOTA_EXCEEDED },
  SW_ERR_LOC_FIXED: { status: 403, message: 'device %s is provisioned as fixed: its readings are placed where it was provisioned, the location %s is not used', mqtt: MqttReason.NOT_AUTHORIZED },
  SW_ERR_LOC_IMPLAUSIBLE: { status: 400, message: 'device %s: the position %s at %s is %s km from the last trusted one, %s s apart, beyond %s km/h: its readings are placed at the last trusted position', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },
  SW_ERR_SENML_DEVICE: { status: 403, message: 'SenML name %s belongs to no device that %s is provisioned to speak for', mqtt: MqttReason.NOT_AUTHORIZED },
  SW_ERR_MORE_REJECTIONS: { status: 400, message: '%s more rejections in this publish, not sent one by one: %s', mqtt: MqttReason.PAYLOAD_FORMAT_INVALID },

  // Operator alerts (Node-RED flows)
  // 0x83: the publish is well formed, but what it names does not exist here.
  SW_ERR_REFERENCE_UNKNOWN: { status: 400, message: '%s "%s" is not in the city configuration', mqtt: MqttReason.IMPLEMENTATION_SPECIFIC },

  // HTTP API
  SW_ERR_UNAUTHORIZED: { status: 401, message: 'a valid bearer token is required' },
  // Open311 GeoReport v2 takes its key as `api_key`, and answers 403 for a missing or wrong one.
  SW_ERR_API_KEY_INVALID: { status: 403, message: "a valid api_key is required: a reporter key (a citizens' app's or a 12345 system's) or a unit token, issued by the district administrator" },
  SW_ERR_FORBIDDEN: { status: 403, message: 'this token may not %s' },
  SW_ERR_NOT_FOUND: { status: 404, message: '%s not found' },
  SW_ERR_BODY_INVALID: { status: 400, message: 'request is invalid: %s' },
  SW_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body exceeds %s bytes' },
  SW_ERR_MEDIA_TYPE: { status: 415, message: 'content type %s is not supported, send application/json' },
  SW_ERR_RATE_LIMITED: { status: 429, message: 'too many requests: %s', retriable: true, mqtt: MqttReason.QUOTA_EXCEEDED },
  SW_ERR_DEVICE_EXISTS: { status: 409, message: 'device %s already exists' },
  SW_ERR_BATCH_CONFLICT: { status: 409, message: 'batch %s was already sent with a different body: a batch id names one batch' },
  SW_ERR_BATCH_PENDING: { status: 409, message: 'batch %s is being sent by another request: send it again in a few seconds', retriable: true },
  SW_ERR_TICKET_TRANSITION: { status: 409, message: 'ticket %s cannot go from %s to %s' },
  SW_ERR_TICKET_CONFLICT: { status: 409, message: 'ticket %s was changed concurrently, retry', retriable: true },
  SW_ERR_SUPERVISION_TRANSITION: { status: 409, message: 'supervision order %s cannot go from %s to %s' },
  SW_ERR_UNIT_UNKNOWN: { status: 400, message: 'no sub-center or command center has the id %s' },
  // Joint handling, returns, extensions, people's reports (docs/TICKETS.md, sections 10 to 13)
  SW_ERR_DEPARTMENT_UNKNOWN: { status: 400, message: 'no department has the id %s' },
  SW_ERR_JOINT_TRANSITION: { status: 409, message: 'co-handler %s of ticket %s cannot go from %s to %s' },
  SW_ERR_JOINT_PENDING: { status: 409, message: 'ticket %s resolves only when every co-handler has finished; waiting for %s' },
  SW_ERR_RETURN_REFUSED: { status: 409, message: 'ticket %s cannot be returned or ruled on: %s' },
  SW_ERR_RETURN_LIMIT: { status: 409, message: 'ticket %s cannot be returned again: %s' },
  SW_ERR_EXTENSION_REFUSED: { status: 409, message: 'ticket %s: extension refused: %s' },
  SW_ERR_CONFIRMATION_REFUSED: { status: 409, message: 'ticket %s cannot be confirmed that way: %s' },
  SW_ERR_PHOTO_INVALID: { status: 415, message: 'the photo is not accepted: %s' },

  // Configuration
  SW_ERR_CONFIG_ENV: { status: 500, message: 'environment variable %s: %s' },
  SW_ERR_CONFIG_FILE: { status: 500, message: '%s: %s' },

  // Tool input (scenarios, recordings, CSV files)
  SW_ERR_INPUT_FILE: { status: 400, message: '%s: %s' },

  // Infrastructure
  SW_ERR_UNAVAILABLE: { status: 503, message: '%s is unavailable: %s', retriable: true, mqtt: MqttReason.SERVER_UNAVAILABLE },
  SW_ERR_SCHEMA_NEWER: {
    status: 500,
    message: '%s has schema version %s, and this StreetWatch knows versions up to %s: run the release that wrote it (or a newer one), or restore a backup taken before the upgrade',
  },
  SW_ERR_DATA_DIR_IN_USE: { status: 409, message: 'data directory %s is in use by a running StreetWatch (process %s): stop it first' },
  SW_ERR_BACKUP_INVALID: { status: 400, message: 'backup %s: %s' },
  SW_ERR_INTERNAL: { status: 500, message: 'internal error: %s', mqtt: MqttReason.UNSPECIFIED },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof catalogue;

export class StreetWatchError extends Error {
  override readonly name = 'StreetWatchError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly mqttReason: number | undefined;
  /** Structured detail safe to show to the caller (e.g. validation issues). */
  readonly details: unknown;

  constructor(code: ErrorCode, args: readonly unknown[] = [], opts: { cause?: unknown; details?: unknown } = {}) {
    const spec: ErrorSpec = catalogue[code];
    super(format(spec.message, args), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = spec.status;
    this.retriable = spec.retriable ?? false;
    this.mqttReason = spec.mqtt;
    this.details = opts.details;
  }

  /** Whether trying the same operation again later may succeed. */
  canRetry(): boolean {
    return this.retriable;
  }

  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Creates a catalogued error: `swError('SW_ERR_NOT_FOUND', 'ticket T-1')`. */
export function swError(code: ErrorCode, ...args: unknown[]): StreetWatchError {
  return new StreetWatchError(code, args);
}

export function isStreetWatchError(err: unknown, code?: ErrorCode): err is StreetWatchError {
  return err instanceof StreetWatchError && (code === undefined || err.code === code);
}

export const errorCodes = Object.keys(catalogue) as ErrorCode[];

export function errorSpec(code: ErrorCode): Readonly<ErrorSpec> {
  return catalogue[code];
}

function format(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '?'));
}
