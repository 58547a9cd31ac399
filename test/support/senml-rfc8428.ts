/**
 * The examples of RFC 8428 section 5, typed in from the RFC, each with the devices it is sent
 * as and what StreetWatch must make of it: every record stored as a reading (or, for `lat` and
 * `lon`, as a position), or refused with a code. The decoder tests and the MQTT tests read them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config.js';

export const RFC8428_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'senml-rfc8428');

export interface Rfc8428Device {
  id: string;
  kind: string;
  location: { lat: number; lon: number };
  mobile?: boolean;
  gateway?: string;
  senml?: { name?: string; map?: { suffix?: string; unit?: string; metric: string }[] };
}

export interface Rfc8428Example {
  name: string;
  section: string;
  title: string;
  /** When the pack arrives: "now" for its relative times. */
  receivedAt: string;
  /** Provisioned first, in order (a gateway before the devices it speaks for). */
  devices: Rfc8428Device[];
  /** The device that publishes the pack. */
  publisher: string;
  pack: unknown[];
  expect: {
    stored: { deviceId: string; metric: string; value: number; unit?: string; ts: number; loc?: { lat: number; lon: number } }[];
    positions?: { deviceId: string; ts: number; loc: { lat: number; lon: number }; records: number[] }[];
    refused: { record: number; code: string }[];
  };
}

export function loadRfc8428Examples(): Rfc8428Example[] {
  return fs
    .readdirSync(RFC8428_FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.slice(0, -5), ...(JSON.parse(fs.readFileSync(path.join(RFC8428_FIXTURES, f), 'utf8')) as Omit<Rfc8428Example, 'name'>) }));
}
