/**
 * What the broker decides about a CONNECT before it looks at the credentials: the keep-alive it
 * will hold the client to, whether a device's session outlives its connection, and whether the
 * will may be published at all. Pure: it reads and adjusts the packet, no I/O.
 */
import type { ConnectPacket } from 'aedes';
import { swError, type StreetWatchError } from '../core/errors.js';
import { authorizePublish, isValidClientId, principalOfClientId, subcenterOfClientId } from './acl.js';
import { isOperatorAlertsTopic, operatorOfClientId } from './operator.js';

export interface ConnectPolicyOptions {
  /** The longest keep-alive honoured, in seconds. */
  keepaliveMaxSeconds: number;
}

/**
 * Applies the policy to `packet` (adjusting it) and returns the reason to refuse the connection,
 * if there is one; the caller answers it in the CONNACK after authentication fails it.
 */
export function applyConnectPolicy(packet: ConnectPacket, opts: ConnectPolicyOptions): StreetWatchError | undefined {
  // Keep-alive 0 turns the mechanism off, and a long one keeps a dead connection (and the
  // device's "online") for up to 1.5 times that [MQTT-3.1.2-24]. Both are held to the maximum:
  // the spec lets a server close a connection it finds inactive whatever the client asked
  // (3.1.2.10, non-normative), which is kinder than refusing such clients outright; a 3.1.1
  // CONNACK has no code for "keep-alive not acceptable" (aedes' keepaliveLimit answers 6, which
  // 3.1.1 reserves: section 3.2.2.3, table 3.1).
  if (!packet.keepalive || packet.keepalive > opts.keepaliveMaxSeconds) packet.keepalive = opts.keepaliveMaxSeconds;

  const clientId = packet.clientId;
  // A server may accept a zero-byte client id and assign one [MQTT-3.1.3-6], as aedes does; but
  // a device's id is its identity, so an empty one is refused as an invalid id, return code 2
  // [MQTT-3.1.3-8], not later as bad credentials for an id the device never chose.
  if (clientId === '') return swError('SW_ERR_CLIENT_ID_INVALID', '""');
  const operator = operatorOfClientId(clientId);
  const isDevice = isValidClientId(clientId);
  // Invalid ids are refused by authentication (return code 2); nothing more to decide here.
  if (!isDevice && operator === undefined && subcenterOfClientId(clientId) === undefined) return undefined;

  // A device's session ends with its connection, as the device protocol says. A persistent
  // session would keep every undelivered error message of a device that stops reading, in
  // memory, for as long as the device stays away. Accepted as a clean session, the CONNACK says
  // session-present 0 [MQTT-3.2.2-1], so the client knows there is nothing to resume. Feed
  // clients keep theirs: the ticket events they miss while away are worth queueing.
  if (isDevice) packet.clean = true;

  // The will is checked like a publish, now rather than when the connection ends: then nobody
  // could tell the device why it was dropped. Feed clients may publish nothing, wills included;
  // an operator only its alerts.
  if (packet.will) {
    const topic = packet.will.topic;
    // A will is published like any message, and a topic name has no wildcards
    // [MQTT-4.7.1-1] [MQTT-3.3.2-2]: refused here rather than fail when the connection ends.
    if (topic.includes('+') || topic.includes('#')) return swError('SW_ERR_TOPIC_FORBIDDEN', clientId, `${topic.slice(0, 256)} (its will: wildcards are not allowed in a topic name)`);
    const allowed = operator !== undefined ? isOperatorAlertsTopic(operator, topic) : authorizePublish(principalOfClientId(clientId), topic).allow;
    if (!allowed) return swError('SW_ERR_TOPIC_FORBIDDEN', clientId, `${topic.slice(0, 256)} (its will)`);
  }
  return undefined;
}
