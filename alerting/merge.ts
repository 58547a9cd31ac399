/**
 * Alert storms, pure: which open ticket an alert outside any zone belongs to. Inside a zone the
 * merge key decides (same zone, same category: one incident); outside zones there is no shared
 * place name, so nearness in space and time decides.
 */
import type { MergePolicy } from '../core/city.js';
import { distanceMetres } from '../core/geo-distance.js';
import type { Alert, Ticket } from '../core/schemas.js';

export { distanceMetres };

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
