import { randomUUID } from 'node:crypto';
import { unitById } from '../../core/tickets/units.js';
import { TokenIssued, TokenList } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import type { ApiTokenRecord } from '../../core/ports.js';
import { TokenCreateBody } from '../../core/schemas.js';
import { generateToken, hashApiToken } from '../../core/api-token.js';
import { IdParams } from '../context.js';
import { route, type Route } from '../route-table.js';

function tokenView(t: ApiTokenRecord): Record<string, unknown> {
  return { id: t.id, unit: t.unitId, kind: t.kind, label: t.label, createdAt: t.createdAt, revokedAt: t.revokedAt };
}

/**
 * API tokens, managed by the admin: per unit (sub-center, community, grid, district), display
 * tokens for wall screens, per department, and reporter keys. A token is shown once, at
 * creation, and stored only as its hash. A unit token also serves as the MQTT password of the
 * unit's ticket feed (a department's token as that of its own feed) and as the Open311 api_key;
 * a display token only opens the unit's wall view (`/#/wall`); a reporter key files Open311
 * requests and follows those it filed. Revoking a token ends its open event streams.
 */
export const tokenRoutes: readonly Route[] = [
  route({
    method: 'POST',
    url: '/api/tokens',
    operationId: 'createToken',
    summary: 'Issue an API token: a unit\'s, a wall display\'s, a department\'s, or a reporter key',
    description:
      "The token is in this answer only; the platform keeps its hash. A unit token (`kind: unit`, the default) is also the MQTT password of the unit's ticket feed and its Open311 api_key; a display token (`kind: display`) only reads the unit's wall view (the district center's: the whole city); a department token (`kind: department`, with `department`) sees and acts on the tickets the department leads or co-handles; a reporter key (`kind: reporter`, with a `label` naming the system) files Open311 requests and reads those it filed.",
    tag: 'tokens',
    access: 'admin',
    body: TokenCreateBody,
    responses: { 201: { description: 'Issued', schema: TokenIssued } },
    errors: ['SW_ERR_UNIT_UNKNOWN', 'SW_ERR_DEPARTMENT_UNKNOWN'],
    handler: async ({ body }, req, reply, { state, cityIndex, clock }) => {
      const { city } = cityIndex();
      let owner: { id: string; name: string };
      if (body.kind === 'department') {
        const department = city.departments.get(body.department!);
        if (!department) throw swError('SW_ERR_DEPARTMENT_UNKNOWN', body.department);
        owner = department;
      } else if (body.kind === 'reporter') {
        // Reports come in for the whole district.
        owner = { id: city.district.id, name: body.label! };
      } else {
        const unit = unitById(cityIndex(), body.unit!);
        if (!unit) throw swError('SW_ERR_UNIT_UNKNOWN', body.unit);
        owner = unit;
      }
      const token = generateToken(body.kind);
      const record: ApiTokenRecord = { id: randomUUID(), unitId: owner.id, kind: body.kind, tokenHash: hashApiToken(token), label: body.label ?? owner.name, createdAt: clock.now(), revokedAt: null };
      await state.tokens.add(record);
      req.log.info({ tokenId: record.id, unitId: owner.id, kind: body.kind }, `${body.kind} token issued`);
      return reply.status(201).send({ ...tokenView(record), token });
    },
  }),
  route({
    method: 'GET',
    url: '/api/tokens',
    operationId: 'listTokens',
    summary: 'List API tokens (never the tokens themselves)',
    tag: 'tokens',
    access: 'admin',
    responses: { 200: { description: 'Tokens, revoked ones included', schema: TokenList } },
    handler: async (_input, _req, _reply, { state }) => ({ tokens: (await state.tokens.list()).map(tokenView) }),
  }),
  route({
    method: 'DELETE',
    url: '/api/tokens/:id',
    operationId: 'revokeToken',
    summary: 'Revoke an API token',
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
