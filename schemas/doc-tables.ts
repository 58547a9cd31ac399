/**
 * The tables of docs/DEVICE-PROTOCOL.md that restate code: known metrics, the SenML name and
 * unit mapping, and the error codes a device can receive. `npm run schemas` writes them between
 * their markers; schemas.test.ts fails when the document has drifted from the code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../core/config.js';
import { errorSpec, type ErrorCode } from '../core/errors.js';
import { METRICS } from '../core/metric-catalog.js';
import { SENML_METRICS, UNIT_METRICS } from '../ingest/senml-names.js';

export const DEVICE_PROTOCOL_DOC = path.join(REPO_ROOT, 'docs', 'DEVICE-PROTOCOL.md');

/** Every code a device can find on its errors topic, and what to do about it. */
export const DEVICE_ERRORS: ReadonlyMap<ErrorCode, string> = new Map<ErrorCode, string>([
  ['SW_ERR_PAYLOAD_TOO_LARGE', 'Send less per publish (split a batch), or ask the operator about `STREETWATCH_MAX_PAYLOAD`.'],
  ['SW_ERR_PAYLOAD_ENCODING', 'Payloads are UTF-8 text.'],
  ['SW_ERR_PAYLOAD_JSON', 'The payload is not JSON: check quoting, truncation, `NaN`/`Infinity` (not JSON).'],
  ['SW_ERR_PAYLOAD_SCHEMA', 'The JSON does not match the topic\'s schema; the message names the path (`[2].values.smoke`). See `schemas/`.'],
  ['SW_ERR_METRIC_RANGE', 'The value is physically implausible for the metric: a sensor fault or a unit mistake.'],
  ['SW_ERR_METRIC_TYPE', 'A number metric got a boolean or the reverse (or a SenML string/data value).'],
  ['SW_ERR_METRIC_UNKNOWN', 'SenML only: neither the device\'s mapping table, nor the name suffix (the tables above), nor the unit alone names a metric. Use a name or unit of the tables, or have the device provisioned with a mapping table.'],
  ['SW_ERR_UNIT_UNSUPPORTED', 'SenML only: use one of the units listed for the metric, or send no unit.'],
  ['SW_ERR_SENML_DEVICE', 'SenML only: the record\'s name belongs to no device this one may speak for. Have that device provisioned with its SenML name and this one as its gateway.'],
  ['SW_ERR_TS_RANGE', 'The time is more than 7 days before the platform\'s clock (`STREETWATCH_MAX_READING_AGE`), before 2000, or more than 5 minutes after it (`STREETWATCH_MAX_CLOCK_SKEW`): set the device clock (NTP), or leave `ts` out.'],
  ['SW_ERR_TS_STALE', 'Readings move forward: one more than a minute (`STREETWATCH_TS_TOLERANCE`) before the device\'s last accepted reading is refused. Send buffered readings oldest first, and only those not sent yet.'],
  ['SW_ERR_READING_DUPLICATE', 'One value per device, metric and time in a publish. A gateway: have the devices it speaks for provisioned, so that each record goes to its own device.'],
  ['SW_ERR_METRIC_LIMIT', 'A device reports at most 64 distinct metric names over its life (`STREETWATCH_MAX_DEVICE_METRICS`): put no ids, dates or values in metric names.'],
  ['SW_ERR_LOC_FIXED', 'The device is provisioned as fixed: its readings were stored at its provisioned location. Stop sending `loc` (or `lat`/`lon`), or have it provisioned as mobile.'],
  ['SW_ERR_LOC_IMPLAUSIBLE', 'A mobile device moved faster than 200 km/h (`STREETWATCH_MAX_SPEED`): check its positioning. Its readings were stored at its last trusted position.'],
  ['SW_ERR_MORE_REJECTIONS', 'More than ten refusals in one publish: the rest are counted here by code. Fix the first ones and look again.'],
  ['SW_ERR_TOPIC_UNKNOWN', 'Publish only to the topics of this document.'],
  ['SW_ERR_TOPIC_FORBIDDEN', 'A device publishes only under its own `v1/devices/{deviceId}/`, and never to its errors topic.'],
  ['SW_ERR_DEVICE_UNKNOWN', 'The device was removed while connected: provision it again.'],
  ['SW_ERR_INTERNAL', 'A platform fault: the publish was not stored. Report it with the `ref`.'],
]);

const esc = (s: string): string => s.replaceAll('|', '\\|');

export function renderMetricsTable(): string {
  const rows = [...METRICS].map(([metric, m]) => {
    const range = m.type === 'boolean' ? '`true`/`false` (or 1/0)' : `${m.min ?? '−∞'} … ${m.max ?? '∞'}`;
    return `| \`${metric}\` | ${esc(m.unit)} | ${range} | ${m.label} |`;
  });
  return ['| metric | unit | accepted values | 名称 |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderSenmlTable(): string {
  const rows = [...SENML_METRICS].map(([metric, m]) => {
    const names = [metric, ...m.aliases].map((n) => `\`${n}\``).join(', ');
    const units = [...m.units].map(([u, c]) => (c.scale === 1 && !c.offset ? `\`${esc(u)}\`` : `\`${esc(u)}\` (converted)`)).join(', ');
    return `| \`${metric}\` | ${names} | ${units} |`;
  });
  return ['| metric | name suffix (its last segment) | units (`u` / `bu`) |', '|---|---|---|', ...rows].join('\n');
}

export function renderSenmlUnitTable(): string {
  const rows = [...UNIT_METRICS].map(([unit, metric]) => `| \`${esc(unit)}\` | \`${metric}\` |`);
  return ['| unit | metric |', '|---|---|', ...rows].join('\n');
}

export function renderErrorTable(): string {
  const rows = [...DEVICE_ERRORS].map(([code, advice]) => {
    const spec = errorSpec(code);
    const reason = spec.mqtt === undefined ? '' : `0x${spec.mqtt.toString(16)}`;
    return `| \`${code}\` | ${esc(spec.message.replaceAll('%s', '…'))} | ${reason} | ${advice} |`;
  });
  return ['| code | message | MQTT 5 reason | what to do |', '|---|---|---|---|', ...rows].join('\n');
}

export const DOC_TABLES: Readonly<Record<string, () => string>> = {
  metrics: renderMetricsTable,
  senml: renderSenmlTable,
  'senml-units': renderSenmlUnitTable,
  errors: renderErrorTable,
};

/** The document with every generated table brought up to date. */
export function renderDeviceProtocolDoc(current: string): string {
  let text = current;
  for (const [name, render] of Object.entries(DOC_TABLES)) {
    const open = `<!-- generated:${name} (npm run schemas) -->`;
    const close = `<!-- /generated:${name} -->`;
    const a = text.indexOf(open);
    const b = text.indexOf(close);
    if (a < 0 || b < a) throw new Error(`${DEVICE_PROTOCOL_DOC}: the markers ${open} ... ${close} are missing`);
    text = `${text.slice(0, a + open.length)}\n${render()}\n${text.slice(b)}`;
  }
  return text;
}

export function readDeviceProtocolDoc(): string {
  return fs.readFileSync(DEVICE_PROTOCOL_DOC, 'utf8');
}
