interface MqttPacketParser {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}

/**
 * Enforces a maximum MQTT packet size. Aedes has no such option and its parser buffers a whole
 * packet (up to 256 MiB by the spec) before handing it over, so we stop at the fixed header:
 * as soon as the remaining length is known and too big, the parser fails and aedes closes the
 * connection, before the payload is buffered. MQTT 3.1.1 has no way to tell the client why.
 *
 * This reaches into mqtt-packet's parser (`_parseLength`, `_emitError`); the check below makes
 * an incompatible upgrade refuse connections (returns false) rather than run unguarded.
 */
export function guardPacketSize(client: { _parser?: unknown }, connection: { destroy(): void }, maxBytes: number, onTooLarge: (size: number) => void): boolean {
  const parser = client._parser as MqttPacketParser | undefined;
  if (!parser || typeof parser._parseLength !== 'function' || typeof parser._emitError !== 'function') {
    connection.destroy();
    return false;
  }
  const parseLength = parser._parseLength;
  parser._parseLength = function guardedParseLength(this: MqttPacketParser): boolean {
    if (!parseLength.call(this)) return false;
    if (this.packet.length > maxBytes) {
      onTooLarge(this.packet.length);
      this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds the limit of ${maxBytes}`));
      return false;
    }
    return true;
  };
  return true;
}
