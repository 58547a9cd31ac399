/**
 * Who a ticket concerns besides its holder, pure: the sub-center (and community) above a
 * community or grid that holds it, which keep seeing and supervising it; its lead department;
 * and every co-handling department not released. They are told of its changes (event
 * recipients) and may read it.
 */
import type { CityIndex } from '../city-index.js';
import type { Ticket } from '../schemas.js';
import { involvedDepartments } from './joint.js';
import { unitById } from './units.js';

export function watchersOf(ticket: Ticket, index: CityIndex): string[] {
  const holder = unitById(index, ticket.subcenterId);
  const above = holder && (holder.level === 'community' || holder.level === 'grid') ? [holder.community, holder.subcenter] : [];
  return [...new Set([...above.filter((u): u is string => u !== undefined), ...involvedDepartments(ticket).filter((d) => index.city.departments.has(d))])];
}
