import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/harness.js';
import { node, received, startHelper, streetwatchNode } from '../../test/support/node-red.js';

const threshold = streetwatchNode('threshold');
const MIN = 60_000;
const reading = (topic: string, value: unknown, ts: number) => ({ topic, payload: { deviceId: topic, metric: 'noise', value, ts } });

describe('streetwatch-threshold node', () => {
  let helper: Awaited<ReturnType<typeof startHelper>>;
  beforeAll(async () => {
    helper = await startHelper();
  });
  afterEach(() => helper.unload());
  afterAll(() => helper.stopServer());

  const flow = (settings: Record<string, unknown>) => [
    { id: 'f1', type: 'tab' },
    { id: 't1', z: 'f1', type: 'streetwatch-threshold', above: '55', clearBelow: '50', duration: '5m', wires: [['out']], ...settings },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: ['t1'], wires: [['errors']] },
    { id: 'errors', z: 'f1', type: 'helper' },
  ];
  type Contexts = { context(): { get(k: string): unknown; flow: { set(k: string, v: unknown): void } } };
  /** Waits until the node has judged the reading at `ts` (its state moved on to it). */
  const judged = (ts: number) =>
    waitFor(() => ((node('t1') as ReturnType<typeof node> & Contexts).context().get('thresholds') as [string, { lastTs: number }][] | undefined)?.some(([, s]) => s.lastTs === ts), `the reading at ${ts}`);

  it('sends the transitions only: firing after the duration, resolved below the hysteresis band, per sensor', async () => {
    await helper.load(threshold, flow({}));
    const out = received('out');
    const t1 = node('t1');
    t1.receive(reading('nz-1', 60, 0));
    t1.receive(reading('nz-2', 70, 1 * MIN));
    t1.receive(reading('nz-1', 58, 5 * MIN));
    t1.receive(reading('nz-1', 52, 6 * MIN));
    t1.receive(reading('nz-2', 40, 2 * MIN));
    t1.receive(reading('nz-1', 50, 7 * MIN));
    await waitFor(() => out.length >= 2 || undefined, 'two transitions');
    expect(out.map((m) => [m.topic, m.threshold])).toEqual([
      ['nz-1', { status: 'firing', startsAt: 0, bound: 55, value: 58, ts: 5 * MIN }],
      ['nz-1', { status: 'resolved', startsAt: 0, bound: 55, value: 50, ts: 7 * MIN }],
    ]);
    expect(out[0]!.payload).toEqual({ deviceId: 'nz-1', metric: 'noise', value: 58, ts: 5 * MIN });
  });

  it('judges a JSONata expression, which can combine the message with flow context', async () => {
    await helper.load(threshold, flow({ above: '0.15', clearBelow: '', duration: '0s', value: "$flowContext('raining') ? payload.value : 0", valueType: 'jsonata' }));
    const out = received('out');
    const t1 = node('t1') as ReturnType<typeof node> & Contexts;
    t1.receive(reading('wl-1', 0.2, 1000));
    await judged(1000);
    t1.context().flow.set('raining', true);
    t1.receive(reading('wl-1', 0.2, 2000));
    await judged(2000);
    t1.context().flow.set('raining', false);
    t1.receive(reading('wl-1', 0.2, 3000));
    await waitFor(() => out.length >= 2 || undefined, 'two transitions');
    expect(out.map((m) => [m.threshold.status, m.threshold.ts])).toEqual([
      ['firing', 2000],
      ['resolved', 3000],
    ]);
  });

  it('keeps its state in the node context, where a persistent context store carries it across restarts', async () => {
    const t = flow({ duration: '0s' });
    await helper.load(threshold, t);
    node('t1').receive(reading('nz-1', 80, 1000));
    await judged(1000);
    expect((node('t1') as ReturnType<typeof node> & Contexts).context().get('thresholds')).toEqual([['nz-1', { phase: 'firing', since: 1000, lastTs: 1000 }]]);
  });

  it('reports a value that is not a number, and bad settings, as coded errors', async () => {
    await helper.load(threshold, flow({}));
    const errors = received('errors');
    node('t1').receive(reading('nz-1', 'loud', 1000));
    await waitFor(() => errors[0], 'the error');
    expect(errors[0]!.error).toMatchObject({ code: 'SW_ERR_PAYLOAD_SCHEMA', message: 'SW_ERR_PAYLOAD_SCHEMA: the value (msg.payload.value) is not a number' });
    await helper.unload();

    await helper.load(threshold, flow({ above: '5', clearBelow: '9' }));
    expect(node('t1').status).toBeDefined();
    const calls = await waitFor(() => {
      const spy = node('t1').status as unknown as { args?: unknown[][] };
      return spy.args?.find((a) => JSON.stringify(a).includes('clearBelow'));
    }, 'the settings error in the status');
    expect(JSON.stringify(calls)).toContain('"clearBelow\\" needs \\"above\\" and must not exceed it');
  });
});
