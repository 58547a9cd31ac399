/**
 * The PROXY protocol header a load balancer sends first on each connection it opens to a node
 * (HAProxy `send-proxy` / `send-proxy-v2`), which names the client's address: behind the
 * balancer every connection comes from the balancer, and the per-address limits must see the
 * client. Versions 1 (text) and 2 (binary) of haproxy.org's PROXY protocol specification.
 */

/** A version 1 header is at most 107 bytes, CRLF included (spec, 2.1). */
const V1_MAX = 107;
/** Version 2: 12-byte signature, version/command, family/protocol, 2-byte length (spec, 2.2). */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED = 16;
/** Longest version 2 address block accepted: TLVs beyond the addresses are skipped, within this. */
const V2_MAX_BLOCK = 512;

export type ProxyHeader =
  /** More bytes are needed. */
  | { kind: 'partial' }
  /** The header ends at `length`; `source` is the client's address (undefined: use the connection's, e.g. HAProxy's own checks). */
  | { kind: 'header'; length: number; source: string | undefined }
  | { kind: 'invalid'; reason: string }
  /** The connection starts with something else (an MQTT CONNECT starts with 0x10): no header. */
  | { kind: 'none' };

/** Reads the header at the start of what a connection sent so far. */
export function parseProxyHeader(buf: Buffer): ProxyHeader {
  if (buf.length === 0) return { kind: 'partial' };
  if (buf[0] !== V2_SIGNATURE[0] && buf[0] !== 0x50) return { kind: 'none' };
  const n = Math.min(buf.length, V2_SIGNATURE.length);
  if (buf.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n))) return n < V2_SIGNATURE.length ? { kind: 'partial' } : parseV2(buf);
  const prefix = Buffer.from('PROXY ');
  const m = Math.min(buf.length, prefix.length);
  if (!buf.subarray(0, m).equals(prefix.subarray(0, m))) return { kind: 'invalid', reason: 'no PROXY protocol header' };
  return parseV1(buf);
}

function parseV1(buf: Buffer): ProxyHeader {
  const end = buf.indexOf('\r\n');
  if (end < 0) return buf.length >= V1_MAX ? { kind: 'invalid', reason: 'PROXY v1 header longer than 107 bytes' } : { kind: 'partial' };
  if (end + 2 > V1_MAX) return { kind: 'invalid', reason: 'PROXY v1 header longer than 107 bytes' };
  const fields = buf.subarray(0, end).toString('latin1').split(' ');
  if (fields[1] === 'UNKNOWN') return { kind: 'header', length: end + 2, source: undefined };
  if (fields.length !== 6 || (fields[1] !== 'TCP4' && fields[1] !== 'TCP6')) return { kind: 'invalid', reason: 'malformed PROXY v1 header' };
  const source = fields[2]!;
  const valid = fields[1] === 'TCP4' ? /^\d{1,3}(\.\d{1,3}){3}$/.test(source) : /^[0-9a-fA-F:.]+$/.test(source) && source.includes(':');
  if (!valid) return { kind: 'invalid', reason: 'malformed PROXY v1 source address' };
  return { kind: 'header', length: end + 2, source };
}

function parseV2(buf: Buffer): ProxyHeader {
  if (buf.length < V2_FIXED) return { kind: 'partial' };
  const versionCommand = buf[12]!;
  if (versionCommand >> 4 !== 2) return { kind: 'invalid', reason: 'PROXY v2 header of another version' };
  const block = buf.readUInt16BE(14);
  if (block > V2_MAX_BLOCK) return { kind: 'invalid', reason: 'PROXY v2 address block too long' };
  if (buf.length < V2_FIXED + block) return { kind: 'partial' };
  const length = V2_FIXED + block;
  const command = versionCommand & 0x0f;
  // LOCAL: the balancer's own connection (a health check): the connection's address stands.
  if (command === 0x0) return { kind: 'header', length, source: undefined };
  if (command !== 0x1) return { kind: 'invalid', reason: 'PROXY v2 header with an unknown command' };
  const family = buf[13]! >> 4;
  const body = buf.subarray(V2_FIXED, length);
  if (family === 0x1 && block >= 12) return { kind: 'header', length, source: [...body.subarray(0, 4)].join('.') };
  if (family === 0x2 && block >= 36) {
    const groups = Array.from({ length: 8 }, (_, i) => body.readUInt16BE(i * 2).toString(16));
    return { kind: 'header', length, source: groups.join(':') };
  }
  // AF_UNSPEC or AF_UNIX: no address to take.
  if (family === 0x0 || family === 0x3) return { kind: 'header', length, source: undefined };
  return { kind: 'invalid', reason: 'PROXY v2 header with a short or unknown address family' };
}
