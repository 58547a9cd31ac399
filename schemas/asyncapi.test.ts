/**
 * The AsyncAPI document, read by the AsyncAPI project's own parser: it parses with no error or
 * warning, names every device topic and every Kafka topic the platform uses, and its device
 * error codes are the ones a device can receive.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { BUS_TOPICS } from '../core/ports.js';
import { classifyDeviceTopic } from '../core/topics.js';
import { DEVICE_ERRORS } from './doc-tables.js';
import { SCHEMAS_DIR } from './published.js';

const text = fs.readFileSync(path.join(SCHEMAS_DIR, 'asyncapi.json'), 'utf8');

describe('AsyncAPI document', () => {
  it('parses with @asyncapi/parser, without errors or warnings', async () => {
    const parser = new Parser();
    const { document, diagnostics } = await parser.parse(text);
    // Severity 0 is an error, 1 a warning; 2 and 3 are hints (a newer AsyncAPI 3.x exists).
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
  });

  it('names every device topic and every Kafka topic, each with its payload', async () => {
    const { document } = await new Parser().parse(text);
    const channels = document!.channels().all();
    const addresses = channels.map((c) => c.address());
    for (const a of addresses.filter((x) => x?.startsWith('v1/devices/'))) {
      const rest = a!.split('/').slice(3);
      expect(classifyDeviceTopic(rest), a!).not.toBe('unknown');
    }
    for (const kind of ['telemetry', 'senml', 'events', 'frigate/events', 'status', 'errors']) expect(addresses).toContain(`v1/devices/{deviceId}/${kind}`);
    for (const topic of BUS_TOPICS) expect(addresses).toContain(topic);
    for (const c of channels) {
      const messages = c.messages().all();
      expect(messages.length, c.id()).toBeGreaterThan(0);
      for (const m of messages) expect(m.hasPayload(), `${c.id()} ${m.id()}`).toBe(true);
    }
  });

  it('lists on the errors topic exactly the codes a device can receive', () => {
    const doc = JSON.parse(text) as { components: { messages: { deviceError: { payload: { properties: { code: { enum: string[] } } } } } } };
    expect(doc.components.messages.deviceError.payload.properties.code.enum).toEqual([...DEVICE_ERRORS.keys()]);
  });
});
