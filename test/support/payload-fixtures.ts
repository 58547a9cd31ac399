/**
 * Sample device payloads with their expected outcome (test/fixtures/payloads/<format>/*.json):
 * the adapter conformance suite runs them through the decoders and, end to end, over MQTT.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config.js';

export const PAYLOAD_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'payloads');

export interface PayloadFixture {
  name: string;
  description: string;
  /** The topic under `v1/devices/{id}/`. */
  topic: 'telemetry' | 'senml' | 'events' | 'frigate/events';
  payload: unknown;
  expect: {
    /** Error codes, in order, the device receives on its errors topic. */
    codes: string[];
    /** Readings stored, in order (partial: only the listed fields are compared). */
    readings?: Record<string, unknown>[];
    /** Camera events emitted, in order (partial). */
    events?: Record<string, unknown>[];
  };
}

export function loadPayloadFixtures(): PayloadFixture[] {
  const out: PayloadFixture[] = [];
  for (const format of fs.readdirSync(PAYLOAD_FIXTURES).sort()) {
    for (const file of fs.readdirSync(path.join(PAYLOAD_FIXTURES, format)).sort()) {
      if (!file.endsWith('.json')) continue;
      const fixture = JSON.parse(fs.readFileSync(path.join(PAYLOAD_FIXTURES, format, file), 'utf8')) as Omit<PayloadFixture, 'name'>;
      out.push({ name: `${format}/${file.slice(0, -5)}`, ...fixture });
    }
  }
  return out;
}

export function payloadBytes(f: PayloadFixture): Buffer {
  return Buffer.from(typeof f.payload === 'string' ? f.payload : JSON.stringify(f.payload));
}
