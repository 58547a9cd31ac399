/**
 * Wire data in log lines, bounded: a client id or a topic filter may be up to 64 KB.
 */

/** Characters of wire data (a topic filter, a client id) a log line quotes. */
export const LOGGED_WIRE_CHARS = 120;

/** Wire data cut for a log line: at most `LOGGED_WIRE_CHARS` characters, with its full length when cut. */
export function quoteWire(text: string): string {
  return text.length <= LOGGED_WIRE_CHARS ? text : `${text.slice(0, LOGGED_WIRE_CHARS)}… (${text.length} characters)`;
}
