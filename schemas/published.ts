/**
 * The JSON Schema files vendors build against, derived from the zod schemas in core (the
 * contract): `npm run schemas` writes them next to this file, and schemas.test.ts fails when a
 * committed file no longer matches its zod schema.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { FrigateEvent, SenmlPack } from '../core/adapter-schemas.js';
import { CameraEventPayload, DeviceCreateBody, DeviceErrorMessage, DeviceImportBody, DeviceStatusPayload, OperatorAlert, TelemetryPayload } from '../core/schemas.js';

export const SCHEMAS_DIR = path.dirname(fileURLToPath(import.meta.url));

export interface PublishedSchema {
  file: string;
  title: string;
  description: string;
  schema: z.ZodType;
}

export const PUBLISHED_SCHEMAS: readonly PublishedSchema[] = [
  {
    file: 'telemetry.schema.json',
    title: 'StreetWatch telemetry',
    description: 'Device → platform on v1/devices/{deviceId}/telemetry: one reading object or an array of them.',
    schema: TelemetryPayload,
  },
  {
    file: 'senml.schema.json',
    title: 'SenML pack (RFC 8428) as StreetWatch reads it',
    description: 'Device → platform on v1/devices/{deviceId}/senml. Labels not listed are ignored, except those ending in "_", which refuse the pack.',
    schema: SenmlPack,
  },
  {
    file: 'camera-event.schema.json',
    title: 'StreetWatch camera analytics event',
    description: 'Device → platform on v1/devices/{deviceId}/events.',
    schema: CameraEventPayload,
  },
  {
    file: 'frigate-event.schema.json',
    title: 'Frigate NVR event as StreetWatch reads it',
    description: 'Frigate → platform on v1/devices/{deviceId}/frigate/events, unchanged. Only the listed fields are read; Frigate sends many more.',
    schema: FrigateEvent,
  },
  {
    file: 'device-status.schema.json',
    title: 'StreetWatch device status',
    description: 'Device → platform on v1/devices/{deviceId}/status (birth and last will, retained): the plain text online or offline; a JSON string is accepted too.',
    schema: DeviceStatusPayload,
  },
  {
    file: 'device-error.schema.json',
    title: 'StreetWatch device error',
    description: 'Platform → device on v1/devices/{deviceId}/errors: one per rejected publish, or per rejected part of one.',
    schema: DeviceErrorMessage,
  },
  {
    file: 'device-create.schema.json',
    title: 'Provision a device',
    description: 'Body of POST /api/devices.',
    schema: DeviceCreateBody,
  },
  {
    file: 'device-import.schema.json',
    title: 'Provision devices in bulk',
    description: 'Body of POST /api/devices/import.',
    schema: DeviceImportBody,
  },
  {
    file: 'operator-alert.schema.json',
    title: 'StreetWatch operator alert',
    description: "Operator (Node-RED flow) → platform on v1/operators/alerts/{operator}: an alert that becomes a ticket like a rule's.",
    schema: OperatorAlert,
  },
];

/** The file content for one schema: what a sender may send (the input side of transforms). */
export function renderSchema(p: PublishedSchema): string {
  const generated = z.toJSONSchema(p.schema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return `${JSON.stringify({ $schema, title: p.title, description: p.description, ...rest }, null, 2)}\n`;
}

/** Generated contract documents beside the JSON Schema files: the file and its text. */
export interface GeneratedDocument {
  file: string;
  render: () => string;
}

/** JSON as the generated documents are written: two-space indent, a final newline. */
export function renderJson(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
