import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/support/harness.js';
import { RecordingWriter, planReplay, readReplayFile, type ReplayItem } from './recording.js';

const file = (name: string, text: string): string => {
  const f = path.join(tempDir('recording'), name);
  fs.writeFileSync(f, text);
  return f;
};
const collect = async (f: string): Promise<ReplayItem[]> => {
  const out: ReplayItem[] = [];
  for await (const item of readReplayFile(f)) out.push(item);
  return out;
};

describe('recordings', () => {
  it('round-trip through the writer and the reader, and plan the replay', async () => {
    const f = path.join(tempDir('recording'), 'run.jsonl');
    const w = await RecordingWriter.open(f, { scenario: 's', seed: 3, start: 1000, createdAt: '2026-11-21T00:00:00Z' }, [{ id: 'd-1', kind: 'gas', location: { lat: 23.1, lon: 113.3 } }]);
    w.publish({ t: 1000, deviceId: 'd-1', topic: 'v1/devices/d-1/telemetry', payload: '{"ts":1000,"values":{"gas_lel":1}}' });
    w.publish({ t: 61_000, deviceId: 'd-1', topic: 'v1/devices/d-1/telemetry', payload: '{"ts":61000,"val' });
    await w.close();
    expect(await collect(f)).toEqual([
      { type: 'device', device: { type: 'device', id: 'd-1', kind: 'gas', location: { lat: 23.1, lon: 113.3 } } },
      { type: 'publish', publish: { type: 'publish', t: 1000, deviceId: 'd-1', topic: 'v1/devices/d-1/telemetry', payload: '{"ts":1000,"values":{"gas_lel":1}}' } },
      { type: 'publish', publish: { type: 'publish', t: 61_000, deviceId: 'd-1', topic: 'v1/devices/d-1/telemetry', payload: '{"ts":61000,"val' } },
    ]);
    const plan = await planReplay(f);
    expect(plan).toMatchObject({ publishes: 2, first: 1000, last: 61_000 });
    expect([...plan.devices.keys()]).toEqual(['d-1']);
  });

  it('name the line of anything wrong', async () => {
    const ok = '{"type":"publish","t":1,"deviceId":"d-1","topic":"v1/devices/d-1/telemetry","payload":"{}"}';
    await expect(collect(file('a.jsonl', `${ok}\nnot json\n`))).rejects.toThrow(/a\.jsonl:2: not JSON/);
    await expect(collect(file('b.jsonl', `${ok}\n${ok.replace('"t":1', '"t":-1')}\n`))).rejects.toThrow(/b\.jsonl:2: t: /);
    await expect(collect(file('c.jsonl', ok.replace('v1/devices/d-1/', 'v1/devices/d-2/')))).rejects.toThrow(/c\.jsonl:1: topic v1\/devices\/d-2\/telemetry is not under v1\/devices\/d-1\//);
    await expect(collect(file('d.jsonl', ok.replace('"payload"', '"extra":1,"payload"')))).rejects.toThrow(/d\.jsonl:1: .*extra/);
  });

  it('read CSV rows, grouping consecutive rows of one device and time, and a metric named like an Object property', async () => {
    const items = await collect(file('r.csv', 'deviceId,ts,metric,value\nd-1,1000,smoke,1.5\nd-1,1000,constructor,2\nd-1,1000,smoke,1.6\nd-2,2026-11-21T08:00:00Z,manhole_open,false\n'));
    expect(items.map((i) => (i.type === 'publish' ? [i.publish.deviceId, i.publish.t, i.publish.payload] : i.type))).toEqual([
      ['d-1', 1000, '{"ts":1000,"values":{"smoke":1.5,"constructor":2}}'],
      ['d-1', 1000, '{"ts":1000,"values":{"smoke":1.6}}'],
      ['d-2', Date.UTC(2026, 10, 21, 8), `{"ts":${Date.UTC(2026, 10, 21, 8)},"values":{"manhole_open":false}}`],
    ]);
    await expect(collect(file('h.csv', 'time,device,metric,value\n1,d,smoke,1\n'))).rejects.toThrow(/h\.csv:1: the header must name the columns ts,deviceId,metric,value/);
    await expect(collect(file('t.csv', 'ts,deviceId,metric,value\n2026-11-21 08:00,d,smoke,1\n'))).rejects.toThrow(/t\.csv:2: ts: .*RFC 3339/);
  });
});
