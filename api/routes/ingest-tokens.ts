import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { IngestTokenIssued, IngestTokenList } from '../../core/api-schemas.js';
import { generateIngestToken, hashApiToken } from '../../core/api-token.js';
import { swError } from '../../core/errors.js';
import type { IngestTokenRecord } from '../../core/ports.js';
import { DeviceId } from '../../core/schemas.js';
import { IdParams } from '../context.js';
import { route, type Route } from '../route-table.js';

export const IngestTokenCreateBody = z.strictObject({
  /** The device that is the department's system: it sends for itself and the devices it is the gateway of. */
  device: DeviceId,
  label: z.string().min(1).max(128).optional(),
});

export const IngestTokenQuery = z.strictObject({ device: DeviceId.optional() });

function tokenView(t: IngestTokenRecord): Record<string, unknown> {
  return { id: t.id, device: t.deviceId, label: t.label, createdAt: t.createdAt, revokedAt: t.revokedAt };
}

/**
 * Ingest tokens of departments' systems, managed by the admin: shown once, at creation, and
 * stored only as their hash, like unit tokens. A token sends readings over HTTP for its system's
 * device and the devices provisioned with that device as their gateway, nothing else.
 */
export const ingestTokenRoutes: readonly Route[] = [
  route({
    method: 'POST',
    url: '/api/ingest-tokens',
    operationId: 'createIngestToken',
    summary: "Issue a department system's ingest token",
    description: 'The token is in this answer only; the platform keeps its hash. It sends on POST /api/ingest/* for the device and the devices provisioned with it as their gateway.',
    tag: 'ingest',
    access: 'admin',
    body: IngestTokenCreateBody,
    responses: { 201: { description: 'Issued', schema: IngestTokenIssued } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ body }, req, reply, { state, clock }) => {
      if (!(await state.devices.get(body.device))) throw swError('SW_ERR_NOT_FOUND', `device ${body.device}`);
      const token = generateIngestToken();
      const record: IngestTokenRecord = { id: randomUUID(), deviceId: body.device, tokenHash: hashApiToken(token), label: body.label ?? body.device, createdAt: clock.now(), revokedAt: null };
      await state.ingestTokens.add(record);
      req.log.info({ tokenId: record.id, deviceId: body.device }, 'ingest token issued');
      return reply.status(201).send({ ...tokenView(record), token });
    },
  }),
  route({
    method: 'GET',
    url: '/api/ingest-tokens',
    operationId: 'listIngestTokens',
    summary: 'List ingest tokens (never the tokens themselves)',
    tag: 'ingest',
    access: 'admin',
    query: IngestTokenQuery,
    responses: { 200: { description: 'Tokens, revoked ones included, oldest first', schema: IngestTokenList } },
    handler: async ({ query }, _req, _reply, { state }) => ({ tokens: (await state.ingestTokens.list(query.device)).map(tokenView) }),
  }),
  route({
    method: 'DELETE',
    url: '/api/ingest-tokens/:id',
    operationId: 'revokeIngestToken',
    summary: 'Revoke an ingest token',
    tag: 'ingest',
    access: 'admin',
    params: IdParams,
    responses: { 204: { description: 'Revoked' } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id } }, req, reply, { state, clock }) => {
      if (!(await state.ingestTokens.revoke(id, clock.now()))) throw swError('SW_ERR_NOT_FOUND', `active ingest token ${id}`);
      req.log.info({ tokenId: id }, 'ingest token revoked');
      return reply.status(204).send();
    },
  }),
];
