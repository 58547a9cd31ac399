/**
 * Alert storms, pure: which open ticket an alert outside any zone belongs to. Inside a zone the
 * merge key decides (same zone, same category: one incident); outside zones there is no shared
 * place name, so nearness in space and time decides.
 */
import type { MergePolicy } from '../core/city.js';
import type { Alert, Location, Ticket } from '../core/schemas.js';

const EARTH_RADIUS_M = 6_371_008.8;

/** Great-circle distance (haversine); exact enough at street scale. */
export function distanceMetres(a: Location, b: Location): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The nearest open ticket of the same category, itself outside zones, within `radius` metres of
 * the alert and with its latest alert within `window` of it (by event time).
 */
export function nearbyTicket(candidates: readonly Ticket[], alert: Alert, policy: MergePolicy): Ticket | undefined {
  if (!alert.loc || alert.zoneId !== undefined) return undefined;
  let best: { ticket: Ticket; distance: number } | undefined;
  for (const t of candidates) {
    if (t.status === 'closed' || t.category !== alert.category || t.zoneId !== null || !t.location) continue;
    if (Math.abs(alert.ts - t.lastSeen) > policy.window) continue;
    const distance = distanceMetres(alert.loc, t.location);
    if (distance > policy.radius) continue;
    if (!best || distance < best.distance || (distance === best.distance && t.id < best.ticket.id)) best = { ticket: t, distance };
  }
  return best?.ticket;
}
