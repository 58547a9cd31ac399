import type { ConnectPacket } from 'aedes';
import { describe, expect, it } from 'vitest';
import { applyConnectPolicy } from './connect-policy.js';

const connect = (over: Partial<ConnectPacket>): ConnectPacket => ({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'wl-1', clean: true, keepalive: 60, ...over });
const policy = { keepaliveMaxSeconds: 1200 };

describe('applyConnectPolicy', () => {
  it('holds a keep-alive of 0 or over the maximum to the maximum, and leaves others alone', () => {
    for (const [asked, held] of [
      [0, 1200],
      [65535, 1200],
      [1201, 1200],
      [1200, 1200],
      [30, 30],
    ]) {
      const p = connect({ keepalive: asked });
      applyConnectPolicy(p, policy);
      expect({ asked, held: p.keepalive }).toEqual({ asked, held });
    }
  });

  it('makes a device session clean, and leaves a feed client\'s or an operator\'s as asked', () => {
    const device = connect({ clean: false });
    const feed = connect({ clientId: 'subcenter:north:desk', clean: false });
    const operator = connect({ clientId: 'operator:flows', clean: false });
    for (const p of [device, feed, operator]) applyConnectPolicy(p, policy);
    expect([device.clean, feed.clean, operator.clean]).toEqual([true, false, false]);
  });

  it('refuses a will the client could not publish', () => {
    const will = (topic: string) => ({ topic, payload: Buffer.from('offline'), qos: 1 as const, retain: true });
    expect(applyConnectPolicy(connect({ will: will('v1/devices/wl-1/status') }), policy)).toBeUndefined();
    for (const topic of ['v1/devices/wl-2/status', 'v1/devices/wl-1/errors', '$SYS/x/new/clients', 'v1/devices/+/status']) {
      expect(applyConnectPolicy(connect({ will: will(topic) }), policy)?.code).toBe('SW_ERR_TOPIC_FORBIDDEN');
    }
    expect(applyConnectPolicy(connect({ clientId: 'subcenter:north', will: will('v1/subcenters/north/tickets') }), policy)?.code).toBe('SW_ERR_TOPIC_FORBIDDEN');
    expect(applyConnectPolicy(connect({ clientId: 'operator:flows', will: will('v1/operators/alerts/flows') }), policy)).toBeUndefined();
    expect(applyConnectPolicy(connect({ clientId: 'operator:flows', will: will('v1/operators/alerts/other') }), policy)?.code).toBe('SW_ERR_TOPIC_FORBIDDEN');
    expect(applyConnectPolicy(connect({ clientId: 'operator:flows', will: will('v1/devices/wl-1/status') }), policy)?.code).toBe('SW_ERR_TOPIC_FORBIDDEN');
  });

  it('leaves invalid client ids to authentication', () => {
    const p = connect({ clientId: 'bad/id', clean: false, will: { topic: 'x', payload: Buffer.alloc(0), qos: 0, retain: false } });
    expect(applyConnectPolicy(p, policy)).toBeUndefined();
    expect(p.clean).toBe(false);
  });
});
