import { randomUUID } from 'node:crypto';
import { unitById } from '../../core/tickets/units.js';
import { TokenIssued, TokenList } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import type { ApiTokenRecord } from '../../core/ports.js';
import { TokenCreateBody } from '../../core/schemas.js';
import { generateDisplayToken, generateUnitToken, hashApiToken } from '../../core/api-token.js';
import { IdParams } from '../context.js';
import { route, type Route } from '../route-table.js';

function tokenView(t: ApiTokenRecord): Record<string, unknown> {
  return { id: t.id, unit: t.unitId, kind: t.kind, label: t.label, createdAt: t.createdAt, revokedAt: t.revokedAt };
}

/**
 * Per-unit API tokens, managed by the admin. A token is shown once, at creation, and stored
 * only as its hash. A unit token also serves as the MQTT password of the unit's ticket feed and
 * as the Open311 api_key; a display token only opens the unit's wall view (`/#/wall`). Revoking a
 * token ends its open event streams.
 */
export const tokenRoutes: readonly Route[] = [
  route({
    method: 'POST',
    url: '/api/tokens',
    operationId: 'createToken',
    summary: "Issue a unit's API token",
    description:
      "The token is in this answer only; the platform keeps its hash. A unit token (`kind: unit`, the default) is also the MQTT password of the unit's ticket feed and its Open311 api_key; a display token (`kind: display`) only reads the unit's wall view (the district center's: the whole city).",
    tag: 'tokens',
    access: 'admin',
    body: TokenCreateBody,
    responses: { 201: { description: 'Issued', schema: TokenIssued } },
    errors: ['SW_ERR_UNIT_UNKNOWN'],
    handler: async ({ body }, req, reply, { state, cityIndex, clock }) => {
      const unit = unitById(cityIndex(), body.unit);
      if (!unit) throw swError('SW_ERR_UNIT_UNKNOWN', body.unit);
      const token = body.kind === 'display' ? generateDisplayToken() : generateUnitToken();
      const record: ApiTokenRecord = { id: randomUUID(), unitId: unit.id, kind: body.kind, tokenHash: hashApiToken(token), label: body.label ?? unit.name, createdAt: clock.now(), revokedAt: null };
      await state.tokens.add(record);
      req.log.info({ tokenId: record.id, unitId: unit.id, kind: body.kind }, `${body.kind} token issued`);
      return reply.status(201).send({ ...tokenView(record), token });
    },
  }),
  route({
    method: 'GET',
    url: '/api/tokens',
    operationId: 'listTokens',
    summary: 'List unit tokens (never the tokens themselves)',
    tag: 'tokens',
    access: 'admin',
    responses: { 200: { description: 'Tokens, revoked ones included', schema: TokenList } },
    handler: async (_input, _req, _reply, { state }) => ({ tokens: (await state.tokens.list()).map(tokenView) }),
  }),
  route({
    method: 'DELETE',
    url: '/api/tokens/:id',
    operationId: 'revokeToken',
    summary: 'Revoke a unit token',
    tag: 'tokens',
    access: 'admin',
    params: IdParams,
    responses: { 204: { description: 'Revoked' } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id } }, req, reply, { state, clock, hub }) => {
      if (!(await state.tokens.revoke(id, clock.now()))) throw swError('SW_ERR_NOT_FOUND', `active token ${id}`);
      // Its open event streams end now, not at their next reconnection.
      hub.revokeToken(id);
      req.log.info({ tokenId: id }, 'unit token revoked');
      return reply.status(204).send();
    },
  }),
];
