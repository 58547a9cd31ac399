import { z } from 'zod';
import { ParkedList, ParkedView } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import { BUS_TOPICS, type BusTopic, type ParkedRecord } from '../../core/ports.js';
import { IdParams } from '../context.js';
import { route, type Route } from '../route-table.js';

/** Most parked records one listing returns (both adapters hold at most this many per answer). */
const MAX_LIST = 1_000;

const ParkedQuery = z.strictObject({
  topic: z.enum(BUS_TOPICS as [BusTopic, ...BusTopic[]]).optional(),
  group: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST).default(100),
});

/** A parked record as JSON: bytes (a raw publish's payload) as base64. */
export function parkedView(p: ParkedRecord): z.infer<typeof ParkedView> {
  return { ...p, value: JSON.parse(JSON.stringify(p.value, (_k, v: unknown) => (isBufferJson(v) ? Buffer.from(v.data).toString('base64') : v))) as unknown };
}

function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);
}

/**
 * Records the bus parked (core/bus/failure-policy.ts): what failed, in which consumer group, why,
 * and how often. Replaying publishes the record on its topic again, once its cause is fixed; every
 * group of the topic receives it again (consumers are idempotent).
 */
export const parkedRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/admin/parked',
    operationId: 'listParkedRecords',
    summary: 'List the bus records consumers parked',
    description: 'Newest first: a record a stage could not process (its error is not retriable, or it failed STREETWATCH_BUS_MAX_ATTEMPTS times), with its cause. Kept for STREETWATCH_PARKED_RETENTION.',
    tag: 'admin',
    access: 'admin',
    query: ParkedQuery,
    responses: { 200: { description: 'Parked records', schema: ParkedList } },
    handler: async ({ query }, _req, _reply, { bus }) => {
      const parked = await bus.listParked({ limit: query.limit, ...(query.topic === undefined ? {} : { topic: query.topic }), ...(query.group === undefined ? {} : { group: query.group }) });
      return { parked: parked.map(parkedView) };
    },
  }),
  route({
    method: 'POST',
    url: '/api/admin/parked/:id/replay',
    operationId: 'replayParkedRecord',
    summary: 'Publish a parked record on its topic again',
    description: 'Once its cause is fixed. Every consumer group of the topic receives it again; consumers are idempotent.',
    tag: 'admin',
    access: 'admin',
    params: IdParams,
    responses: { 200: { description: 'Replayed', schema: ParkedView } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id } }, req, _reply, { bus }) => {
      const replayed = await bus.replayParked(id);
      if (!replayed) throw swError('SW_ERR_NOT_FOUND', `parked record ${id}`);
      req.log.info({ parkedId: id, topic: replayed.topic, group: replayed.group }, 'parked record replayed');
      return parkedView(replayed);
    },
  }),
];
