import type { TicketStatus } from '../schemas.js';

/** Statuses in which the holder still has work to do before the resolution deadline. */
export const WORKING: ReadonlySet<TicketStatus> = new Set(['dispatched', 'acknowledged', 'in_progress', 'reopened']);
