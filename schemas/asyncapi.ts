/**
 * The AsyncAPI 3.0 document of StreetWatch's message contracts, generated from the same zod
 * schemas as the JSON Schema files and the OpenAPI document: the MQTT device contract (what a
 * device publishes, its status, the errors it receives), a unit's ticket feed, and the Kafka
 * topics between the stages of a distributed deployment. Written to schemas/asyncapi.json by
 * `npm run schemas`; schemas.test.ts fails when it drifts, and validates it with
 * @asyncapi/parser.
 */
import { z } from 'zod';
import { FrigateEvent, SenmlPack } from '../core/adapter-schemas.js';
import { RAW_HEADERS } from '../core/bus/kafka-codec.js';
import { Alert, CameraEvent, CameraEventPayload, DeadLetter, DeviceErrorMessage, DeviceStatusPayload, Reading, TelemetryPayload, TicketEvent, TicketMessage } from '../core/schemas.js';
import { DEVICE_ERRORS } from './doc-tables.js';

type Json = Record<string, unknown>;

/** A payload schema as the AsyncAPI default schema format reads it (JSON Schema draft 7). */
function payload(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-7' }) as Json;
  return rest;
}

const ref = (kind: string, name: string): Json => ({ $ref: `#/components/${kind}/${name}` });

interface MessageSpec {
  name: string;
  title: string;
  summary: string;
  contentType: string;
  payload: Json;
  /** The Kafka record key, for bus messages. */
  kafkaKey?: string;
  headers?: Json;
}

const NAMESPACE_NOTE = 'With STREETWATCH_NAMESPACE set, the topic name carries it as a prefix.';

const DEVICE_ID = { description: 'The device id: `clientId` = `username` = deviceId, matching `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`.' };

/** The device-facing refusal codes, with what each asks of the vendor. */
function deviceErrorPayload(): Json {
  const p = payload(DeviceErrorMessage, 'output') as { properties: Record<string, Json> };
  p.properties.code = { ...p.properties.code, enum: [...DEVICE_ERRORS.keys()], description: [...DEVICE_ERRORS].map(([code, advice]) => `${code}: ${advice}`).join('\n') };
  return p;
}

const MESSAGES: readonly MessageSpec[] = [
  { name: 'telemetry', title: 'Telemetry', summary: 'Readings: one object or an array of up to 1,000.', contentType: 'application/json', payload: payload(TelemetryPayload, 'input') },
  { name: 'senml', title: 'SenML pack (RFC 8428)', summary: 'Names and units map to metrics by the table in docs/DEVICE-PROTOCOL.md.', contentType: 'application/senml+json', payload: payload(SenmlPack, 'input') },
  { name: 'cameraEvent', title: 'Camera analytics event', summary: 'A detection: crowd, fire, smoke, intrusion...', contentType: 'application/json', payload: payload(CameraEventPayload, 'input') },
  { name: 'frigateEvent', title: 'Frigate NVR event', summary: "Frigate's own event message, unchanged; only the listed fields are read.", contentType: 'application/json', payload: payload(FrigateEvent, 'input') },
  { name: 'deviceStatus', title: 'Device status', summary: 'Birth and last will, retained: the plain text `online` or `offline` (a JSON string is accepted too).', contentType: 'text/plain', payload: payload(DeviceStatusPayload, 'input') },
  { name: 'deviceError', title: 'Device error', summary: 'One per refused publish, or per refused part of one; `ref` is the publish the platform refused.', contentType: 'application/json', payload: deviceErrorPayload() },
  { name: 'ticketMessage', title: 'Ticket event for a unit', summary: "A change to a ticket the unit holds, supervises or held; the same body as the unit's webhook.", contentType: 'application/json', payload: payload(TicketMessage, 'output') },
  {
    name: 'rawPublish',
    title: 'Accepted MQTT publish (sw.raw)',
    summary: "The device's payload bytes, unchanged; the rest of the publish travels in headers.",
    contentType: 'application/octet-stream',
    payload: { type: 'string', format: 'binary' },
    kafkaKey: 'deviceId',
    headers: {
      type: 'object',
      required: Object.values(RAW_HEADERS),
      properties: {
        [RAW_HEADERS.id]: { type: 'string', description: 'The id the platform gave the publish: `ref` in error messages.' },
        [RAW_HEADERS.clientId]: { type: 'string', description: 'The MQTT client id.' },
        [RAW_HEADERS.topic]: { type: 'string', description: 'The MQTT topic.' },
        [RAW_HEADERS.qos]: { type: 'string', enum: ['0', '1', '2'] },
        [RAW_HEADERS.receivedAt]: { type: 'string', description: 'Arrival at the broker, epoch ms.' },
      },
    },
  },
  { name: 'reading', title: 'Normalized reading (sw.readings)', summary: 'One measurement, placed in zones and a jurisdiction.', contentType: 'application/json', payload: payload(Reading, 'output'), kafkaKey: 'deviceId' },
  { name: 'cameraEventNormalized', title: 'Normalized camera event (sw.events)', summary: 'A camera or analytics event, placed.', contentType: 'application/json', payload: payload(CameraEvent, 'output'), kafkaKey: 'deviceId' },
  { name: 'alert', title: 'Alert (sw.alerts)', summary: 'A rule started or stopped firing for a device.', contentType: 'application/json', payload: payload(Alert, 'output'), kafkaKey: 'fingerprint' },
  { name: 'ticketEvent', title: 'Ticket event (sw.tickets)', summary: 'A ticket changed, with the units to tell.', contentType: 'application/json', payload: payload(TicketEvent, 'output'), kafkaKey: 'ticket id' },
  { name: 'deadLetter', title: 'Refused input (sw.deadletter)', summary: 'A refused publish with its coded reason and the first 4 KiB of its payload.', contentType: 'application/json', payload: payload(DeadLetter, 'output'), kafkaKey: 'deviceId' },
];

interface ChannelSpec {
  name: string;
  address: string;
  server: 'mqtt' | 'kafka';
  message: string;
  description: string;
  /** What the platform does: receives what devices send, sends what devices receive. */
  action: 'send' | 'receive';
  operation: string;
  parameter?: [string, Json];
}

const CHANNELS: readonly ChannelSpec[] = [
  { name: 'deviceTelemetry', address: 'v1/devices/{deviceId}/telemetry', server: 'mqtt', message: 'telemetry', action: 'receive', operation: 'receiveTelemetry', description: 'Device → platform. Publish with QoS 1: the PUBACK comes once the readings are stored.', parameter: ['deviceId', DEVICE_ID] },
  { name: 'deviceSenml', address: 'v1/devices/{deviceId}/senml', server: 'mqtt', message: 'senml', action: 'receive', operation: 'receiveSenml', description: 'Device → platform: a SenML JSON pack.', parameter: ['deviceId', DEVICE_ID] },
  { name: 'deviceEvents', address: 'v1/devices/{deviceId}/events', server: 'mqtt', message: 'cameraEvent', action: 'receive', operation: 'receiveCameraEvent', description: 'Device → platform: camera analytics.', parameter: ['deviceId', DEVICE_ID] },
  { name: 'deviceFrigateEvents', address: 'v1/devices/{deviceId}/frigate/events', server: 'mqtt', message: 'frigateEvent', action: 'receive', operation: 'receiveFrigateEvent', description: "Frigate → platform: set Frigate's `mqtt.topic_prefix` to `v1/devices/{deviceId}/frigate`.", parameter: ['deviceId', DEVICE_ID] },
  { name: 'deviceStatus', address: 'v1/devices/{deviceId}/status', server: 'mqtt', message: 'deviceStatus', action: 'receive', operation: 'receiveStatus', description: 'Device → platform, retained (64 bytes at most): birth message and last will.', parameter: ['deviceId', DEVICE_ID] },
  { name: 'deviceErrors', address: 'v1/devices/{deviceId}/errors', server: 'mqtt', message: 'deviceError', action: 'send', operation: 'sendDeviceError', description: "Platform → device: the only topic a device may subscribe to. The same refusals are readable later at `GET /api/devices/{id}/errors`.", parameter: ['deviceId', DEVICE_ID] },
  { name: 'unitTickets', address: 'v1/subcenters/{unitId}/tickets', server: 'mqtt', message: 'ticketMessage', action: 'send', operation: 'sendUnitTicket', description: 'Platform → unit: client id and username `subcenter:<unitId>`, password a unit token.', parameter: ['unitId', { description: 'A street sub-center or the district command center.' }] },
  { name: 'busRaw', address: 'sw.raw', server: 'kafka', message: 'rawPublish', action: 'send', operation: 'publishRaw', description: 'Broker → ingest.' },
  { name: 'busReadings', address: 'sw.readings', server: 'kafka', message: 'reading', action: 'send', operation: 'publishReadings', description: 'Ingest → detectors.' },
  { name: 'busEvents', address: 'sw.events', server: 'kafka', message: 'cameraEventNormalized', action: 'send', operation: 'publishEvents', description: 'Ingest → detectors.' },
  { name: 'busAlerts', address: 'sw.alerts', server: 'kafka', message: 'alert', action: 'send', operation: 'publishAlerts', description: 'Detectors and operator flows → alerting.' },
  { name: 'busTickets', address: 'sw.tickets', server: 'kafka', message: 'ticketEvent', action: 'send', operation: 'publishTickets', description: 'Alerting and the API → delivery, the event stream and the unit feeds.' },
  { name: 'busDeadLetter', address: 'sw.deadletter', server: 'kafka', message: 'deadLetter', action: 'send', operation: 'publishDeadLetter', description: 'Ingest and the broker: refused input, kept for inspection.' },
];

export function asyncApiDocument(version: string): Json {
  const messages: Record<string, Json> = {};
  for (const m of MESSAGES) {
    messages[m.name] = {
      name: m.name,
      title: m.title,
      summary: m.summary,
      contentType: m.contentType,
      payload: m.payload,
      ...(m.headers ? { headers: m.headers } : {}),
      ...(m.kafkaKey ? { bindings: { kafka: { key: { type: 'string', description: `The record key: the ${m.kafkaKey}, so that its records stay in order in one partition.` }, bindingVersion: '0.5.0' } } } : {}),
    };
  }
  const channels: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  for (const c of CHANNELS) {
    channels[c.name] = {
      address: c.address,
      description: c.server === 'kafka' ? `${c.description} ${NAMESPACE_NOTE}` : c.description,
      servers: [{ $ref: `#/servers/${c.server}` }],
      messages: { [c.message]: ref('messages', c.message) },
      ...(c.parameter ? { parameters: { [c.parameter[0]]: c.parameter[1] } } : {}),
    };
    operations[c.operation] = { action: c.action, channel: { $ref: `#/channels/${c.name}` }, messages: [{ $ref: `#/channels/${c.name}/messages/${c.message}` }] };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'StreetWatch messages',
      version,
      description:
        'The MQTT device contract (docs/DEVICE-PROTOCOL.md), the units\' ticket feed, and the Kafka topics between the stages of a distributed deployment. Generated from the zod schemas of the platform. Operations are the platform\'s: it receives what devices publish and sends their errors.',
      license: { name: 'Apache-2.0' },
    },
    servers: {
      mqtt: { host: 'localhost:1883', protocol: 'mqtt', protocolVersion: '3.1.1', description: 'Devices and units. TLS on 8883 and WebSocket on /mqtt when configured. One connection per device.', security: [{ $ref: '#/components/securitySchemes/mqttCredentials' }] },
      kafka: { host: 'kafka:9092', protocol: 'kafka', description: 'Distributed mode only: the bus between the stages.' },
    },
    channels,
    operations,
    components: {
      messages,
      securitySchemes: {
        mqttCredentials: { type: 'userPassword', description: 'A device: username = client id = deviceId, password = its secret. A unit: `subcenter:<unitId>` and a unit token.' },
      },
    },
  };
}
