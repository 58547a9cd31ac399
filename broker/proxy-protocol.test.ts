import { describe, expect, it } from 'vitest';
import { parseProxyHeader } from './proxy-protocol.js';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const v2 = (command: number, family: number, body: Buffer): Buffer => {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([SIG, Buffer.from([0x20 | command, family]), len, body]);
};
const CONNECT = Buffer.from([0x10, 0x10]);

describe('PROXY protocol header', () => {
  it('reads a version 1 header and where the MQTT bytes start', () => {
    const head = 'PROXY TCP4 203.0.113.7 10.0.0.2 51234 1883\r\n';
    expect(parseProxyHeader(Buffer.concat([Buffer.from(head), CONNECT]))).toEqual({ kind: 'header', length: head.length, source: '203.0.113.7' });
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 51234 1883\r\n'))).toMatchObject({ kind: 'header', source: '2001:db8::1' });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toMatchObject({ kind: 'header', source: undefined });
  });

  it('waits for the rest of a header cut anywhere', () => {
    const whole = Buffer.concat([v2(1, 0x11, Buffer.from([198, 51, 100, 9, 10, 0, 0, 2, 0x1f, 0x90, 0x07, 0x5b])), CONNECT]);
    for (let cut = 1; cut < whole.length - CONNECT.length; cut++) expect(parseProxyHeader(whole.subarray(0, cut)).kind).toBe('partial');
    expect(parseProxyHeader(whole)).toEqual({ kind: 'header', length: whole.length - CONNECT.length, source: '198.51.100.9' });
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4')).kind).toBe('partial');
  });

  it('reads version 2: IPv6, LOCAL (the balancer\'s own check) and TLVs after the addresses', () => {
    const six = Buffer.alloc(36);
    six.writeUInt16BE(0x2001, 0);
    six.writeUInt16BE(0x0db8, 2);
    six.writeUInt16BE(0x0007, 14);
    expect(parseProxyHeader(v2(1, 0x21, six))).toMatchObject({ kind: 'header', source: '2001:db8:0:0:0:0:0:7' });
    expect(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0)))).toEqual({ kind: 'header', length: 16, source: undefined });
    const withTlv = v2(1, 0x11, Buffer.concat([Buffer.from([192, 0, 2, 1, 10, 0, 0, 2, 0, 1, 0, 2]), Buffer.from([0x04, 0x00, 0x01, 0x00])]));
    expect(parseProxyHeader(withTlv)).toEqual({ kind: 'header', length: withTlv.length, source: '192.0.2.1' });
  });

  it('takes a connection that starts with an MQTT packet as it is', () => {
    expect(parseProxyHeader(CONNECT)).toEqual({ kind: 'none' });
  });

  it('refuses malformed headers, overlong ones included', () => {
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 not-an-address 10.0.0.2 1 2\r\n')).kind).toBe('invalid');
    expect(parseProxyHeader(Buffer.from('PROXY SCTP 1.2.3.4 10.0.0.2 1 2\r\n')).kind).toBe('invalid');
    expect(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)).kind).toBe('invalid');
    expect(parseProxyHeader(Buffer.from('PRAXY')).kind).toBe('invalid');
    expect(parseProxyHeader(v2(1, 0x11, Buffer.alloc(4))).kind).toBe('invalid');
    expect(parseProxyHeader(v2(5, 0x11, Buffer.alloc(12))).kind).toBe('invalid');
    const huge = Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
    expect(parseProxyHeader(huge).kind).toBe('invalid');
  });
});
