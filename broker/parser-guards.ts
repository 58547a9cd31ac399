/**
 * Checks aedes leaves to nobody, made in the MQTT parser itself, before a packet is built:
 * the packet size, and the UTF-8 of every string. Both reach into mqtt-packet's parser
 * (`_parseLength`, `_parseString`, `_emitError`, `_list`, `_pos`); `guardParser` refuses the
 * connection (returns false) rather than run unguarded when an upgrade changes them.
 */
import { isUtf8 } from 'node:buffer';

interface MqttPacketParser {
  packet: { length: number };
  _pos: number;
  _list: { slice(start: number, end: number): Buffer };
  _parseLength(): boolean;
  _parseString(): string | null;
  _emitError(err: Error): void;
}

export interface ParserGuards {
  maxPacketBytes: number;
  /** A packet announced a length over the limit; the connection closes. */
  onTooLarge: (size: number) => void;
  /** A string of a packet was not well-formed UTF-8; the connection closes. */
  onMalformedUtf8: () => void;
}

/** Installs the guards on the parser of an aedes client; false (and the connection destroyed) when they cannot be. */
export function guardParser(client: { _parser?: unknown }, connection: { destroy(): void }, guards: ParserGuards): boolean {
  const parser = client._parser as MqttPacketParser | undefined;
  if (!parser || typeof parser._parseLength !== 'function' || typeof parser._parseString !== 'function' || typeof parser._emitError !== 'function') {
    connection.destroy();
    return false;
  }
  // Aedes has no size option and its parser buffers a whole packet (up to 256 MiB by the spec)
  // before handing it over: stop as soon as the remaining length is known, before the payload
  // is buffered. MQTT 3.1.1 has no way to tell the client why.
  const parseLength = parser._parseLength;
  parser._parseLength = function guardedParseLength(this: MqttPacketParser): boolean {
    if (!parseLength.call(this)) return false;
    if (this.packet.length > guards.maxPacketBytes) {
      guards.onTooLarge(this.packet.length);
      this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds the limit of ${guards.maxPacketBytes}`));
      return false;
    }
    return true;
  };
  // [MQTT-1.5.3-1] A string that is not well-formed UTF-8 (or encodes a surrogate) makes the
  // packet malformed and the connection closes. The decoder turns every such sequence into
  // U+FFFD, so only a string holding U+FFFD has its bytes looked at: no cost for the others.
  const parseString = parser._parseString;
  parser._parseString = function guardedParseString(this: MqttPacketParser): string | null {
    const start = this._pos + 2;
    const text = parseString.call(this);
    if (text === null || !text.includes('\uFFFD') || isUtf8(this._list.slice(start, this._pos))) return text;
    guards.onMalformedUtf8();
    // The caller answers null as a string it cannot parse: the packet fails and aedes closes the connection.
    return null;
  };
  return true;
}
