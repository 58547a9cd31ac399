/**
 * How much of what a device says about itself is believed: its clock, its place, the metrics it
 * invents. Pure: the ingest stage keeps the per-device state (device-state.ts) and calls this
 * once per device and publish.
 *
 * Time
 * - A publish dated after its own arrival comes from a clock running ahead (within the skew the
 *   decoder allowed): its times are moved back together until the latest is the arrival time.
 *   No measurement postdates its delivery, so no reading can resolve an alert "from the future"
 *   and hold back the device's next real readings behind a time that has not come yet. Order and
 *   spacing are kept.
 * - A reading earlier than the device's last accepted reading, less a tolerance for readings
 *   that overtake each other (two sensors of one device, a resent publish), is refused
 *   (SW_ERR_TS_STALE): a device can fill the gap since it last spoke, never rewrite what it
 *   already said. So back-dated readings cannot make a `for:` or `consecutive` rule fire in one
 *   publish, except by filling a silence the deadman rules see.
 * - Two readings of one device, metric and time in one publish are one too many: the second is
 *   refused (SW_ERR_READING_DUPLICATE) rather than silently merged by the store.
 *
 * Place
 * - A fixed device is where it was provisioned: its readings and events are placed there, and a
 *   location it states is refused (SW_ERR_LOC_FIXED), though its readings are stored.
 * - A mobile device's stated position is believed when it is within reach of the last trusted
 *   one at the speed limit (plus a slack for positioning noise); beyond, it is refused
 *   (SW_ERR_LOC_IMPLAUSIBLE) and the readings that came with it are placed at the last trusted
 *   position. Readings without a position are placed at the last trusted position too, else at
 *   the provisioned location.
 *
 * Metrics
 * - A device reports at most a bounded number of distinct metric names over its life; a reading
 *   under a new name beyond it is refused (SW_ERR_METRIC_LIMIT).
 */
import { StreetWatchError } from '../core/errors.js';
import { distanceMetres } from '../core/geo-distance.js';
import { extended } from '../core/objects.js';
import type { Location, TrustedPosition } from '../core/schemas.js';
import { recordError, type DecodedEvent, type DecodedReading, type PositionClaim } from './decode.js';

export interface TrustLimits {
  /** How far a reading may lie before the device's last accepted reading. */
  reorderToleranceMs: number;
  /** Distinct metric names one device may report. */
  maxMetricsPerDevice: number;
  /** The fastest a mobile device is believed to move. */
  maxSpeedKmh: number;
  /** Positioning noise: a jump this short is always believed. */
  positionSlackMetres: number;
}

/** What ingest remembers of a device between publishes. */
export interface DeviceTrustState {
  /** Event time of the latest reading accepted. */
  lastReadingAt: number | null;
  /** Mobile devices: the latest position believed. */
  position: TrustedPosition | null;
  /** Distinct metric names accepted so far (at most `maxMetricsPerDevice`). */
  metrics: ReadonlySet<string>;
}

export interface TrustDevice {
  id: string;
  mobile: boolean;
  /** The provisioned location. */
  location: Location | null;
}

export interface TrustInput {
  receivedAt: number;
  readings: readonly DecodedReading[];
  events: readonly DecodedEvent[];
  positions: readonly PositionClaim[];
}

export interface TrustOutcome {
  /** Accepted readings, at their believed time and place. */
  readings: DecodedReading[];
  events: DecodedEvent[];
  rejections: StreetWatchError[];
  state: DeviceTrustState;
  /** What changed in the state: new metric names must be kept at once, the rest may wait. */
  changed: { metrics: boolean; lastReadingAt: boolean; position: boolean };
  /** How far the publish was moved back, 0 when its clock was not ahead. */
  shiftedMs: number;
}

export function applyTrust(device: TrustDevice, state: DeviceTrustState, input: TrustInput, limits: TrustLimits): TrustOutcome {
  const rejections: StreetWatchError[] = [];

  let latest = -Infinity;
  for (const { ts } of input.readings) if (ts > latest) latest = ts;
  for (const { ts } of input.events) if (ts > latest) latest = ts;
  for (const { ts } of input.positions) if (ts > latest) latest = ts;
  const shiftedMs = latest > input.receivedAt ? latest - input.receivedAt : 0;
  // This runs once per publish: a pass that would keep every item is skipped rather than run to
  // copy the list, and the input lists are never changed (each pass that drops makes its own).
  const shift = <T extends { ts: number }>(x: T): T => ({ ...x, ts: x.ts - shiftedMs });
  const positions = shiftedMs === 0 ? input.positions : input.positions.map(shift);
  let events = shiftedMs === 0 ? input.events : input.events.map(shift);
  let readings = shiftedMs === 0 ? input.readings : input.readings.map(shift);

  // Readings move forward; one refusal per object or record, however many metrics it held.
  const floor = state.lastReadingAt === null ? -Infinity : state.lastReadingAt - limits.reorderToleranceMs;
  if (readings.some((r) => r.ts < floor)) {
    const refused = new Set<number>();
    readings = readings.filter((r) => {
      if (r.ts >= floor) return true;
      if (!refused.has(r.index)) {
        refused.add(r.index);
        rejections.push(recordError(r.index, 'SW_ERR_TS_STALE', iso(r.ts), iso(state.lastReadingAt!), device.id, `${limits.reorderToleranceMs / 1000} s`));
      }
      return false;
    });
  }

  // A single reading cannot repeat another: most publishes skip the keyed pass.
  if (readings.length > 1) {
    const seen = new Map<string, number>();
    readings = readings.filter((r) => {
      const key = `${r.metric}\u0000${r.ts}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, r.index);
        return true;
      }
      rejections.push(recordError(r.index, 'SW_ERR_READING_DUPLICATE', device.id, r.metric, iso(r.ts), `[${first}]`));
      return false;
    });
  }

  let metrics = state.metrics;
  if (readings.some((r) => !metrics.has(r.metric))) {
    const overLimit = new Set<string>();
    readings = readings.filter((r) => {
      if (metrics.has(r.metric)) return true;
      if (metrics.size < limits.maxMetricsPerDevice) {
        metrics = new Set([...metrics, r.metric]);
        return true;
      }
      if (!overLimit.has(r.metric)) {
        overLimit.add(r.metric);
        rejections.push(recordError(r.index, 'SW_ERR_METRIC_LIMIT', device.id, limits.maxMetricsPerDevice, r.metric));
      }
      return false;
    });
  }

  let position = state.position;
  // Fresh lists either way: the outcome never shares a list with the input.
  let placedReadings: DecodedReading[];
  let placedEvents: DecodedEvent[];
  if (device.mobile) {
    // Trusted claims, by identity: a reading or event carries the very location object of its claim.
    const trusted = new Set<Location>();
    for (const claim of [...positions].sort((a, b) => a.ts - b.ts)) {
      const jump = position && implausibleJump(position, claim, limits);
      if (jump) {
        for (const i of claim.records) {
          rejections.push(recordError(i, 'SW_ERR_LOC_IMPLAUSIBLE', device.id, `${claim.loc.lat},${claim.loc.lon}`, iso(claim.ts), jump.km, jump.seconds, limits.maxSpeedKmh));
        }
        continue;
      }
      trusted.add(claim.loc);
      if (!position || claim.ts >= position.ts) position = { lat: claim.loc.lat, lon: claim.loc.lon, ts: claim.ts };
    }
    const fallback = position ? { lat: position.lat, lon: position.lon } : device.location;
    const place = <T extends { loc?: Location }>(x: T): T => (x.loc && trusted.has(x.loc) ? x : withLoc(x, fallback));
    placedReadings = readings.map(place);
    placedEvents = events.map(place);
  } else {
    for (const claim of positions) {
      for (const i of claim.records) rejections.push(recordError(i, 'SW_ERR_LOC_FIXED', device.id, `${claim.loc.lat},${claim.loc.lon}`));
    }
    placedReadings = readings.map((r) => withLoc(r, device.location));
    placedEvents = events.map((e) => withLoc(e, device.location));
  }

  const newest = placedReadings.reduce<number | null>((m, r) => (m === null || r.ts > m ? r.ts : m), null);
  const lastReadingAt = newest !== null && (state.lastReadingAt === null || newest > state.lastReadingAt) ? newest : state.lastReadingAt;
  return {
    readings: placedReadings,
    events: placedEvents,
    rejections: rejections.sort((a, b) => recordOf(a) - recordOf(b)),
    state: { lastReadingAt, position, metrics },
    changed: { metrics: metrics !== state.metrics, lastReadingAt: lastReadingAt !== state.lastReadingAt, position: position !== state.position },
    shiftedMs,
  };
}

function implausibleJump(from: TrustedPosition, to: PositionClaim, limits: TrustLimits): { km: string; seconds: number } | undefined {
  const metres = distanceMetres(from, to.loc);
  const seconds = Math.abs(to.ts - from.ts) / 1000;
  if (metres <= limits.positionSlackMetres + (limits.maxSpeedKmh / 3.6) * seconds) return undefined;
  return { km: (metres / 1000).toFixed(1), seconds: Math.round(seconds) };
}

/**
 * `x` placed at `loc` (without a place for null). A copy only where the place changes, and this
 * runs for every reading: see `extended` (core/objects.ts) for why it is not a spread.
 */
function withLoc<T extends { loc?: Location }>(x: T, loc: Location | null): T {
  if (loc) return extended(x, 'loc', loc);
  if (x.loc === undefined) return x;
  const { loc: _claimed, ...rest } = x;
  return rest as T;
}

function recordOf(e: StreetWatchError): number {
  return (e.details as { record?: number } | undefined)?.record ?? -1;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
