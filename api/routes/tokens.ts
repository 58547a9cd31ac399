import { randomUUID } from 'node:crypto';
import { unitById } from '../../core/tickets/units.js';
import { swError } from '../../core/errors.js';
import type { ApiTokenRecord } from '../../core/ports.js';
import { TokenCreateBody } from '../../core/schemas.js';
import { generateUnitToken, hashApiToken } from '../../core/api-token.js';
import { IdParams, parse, type RouteModule } from '../context.js';

function tokenView(t: ApiTokenRecord): Record<string, unknown> {
  return { id: t.id, unit: t.unitId, label: t.label, createdAt: t.createdAt, revokedAt: t.revokedAt };
}

/**
 * Per-unit API tokens, managed by the admin. A token is shown once, at creation, and stored
 * only as its hash. It also serves as the MQTT password of the unit's ticket feed and as the
 * Open311 api_key.
 */
export const tokenRoutes: RouteModule = (api, { state, cityIndex, clock }) => {
  api.post('/api/tokens', async (req, reply) => {
    const body = parse(TokenCreateBody, req.body, 'body');
    const unit = unitById(cityIndex(), body.unit);
    if (!unit) throw swError('SW_ERR_UNIT_UNKNOWN', body.unit);
    const token = generateUnitToken();
    const record: ApiTokenRecord = { id: randomUUID(), unitId: unit.id, tokenHash: hashApiToken(token), label: body.label ?? unit.name, createdAt: clock.now(), revokedAt: null };
    await state.tokens.add(record);
    req.log.info({ tokenId: record.id, unitId: unit.id }, 'unit token issued');
    return reply.status(201).send({ ...tokenView(record), token });
  });

  api.get('/api/tokens', async () => ({ tokens: (await state.tokens.list()).map(tokenView) }));

  api.delete('/api/tokens/:id', async (req, reply) => {
    const { id } = parse(IdParams, req.params, 'params');
    if (!(await state.tokens.revoke(id, clock.now()))) throw swError('SW_ERR_NOT_FOUND', `active token ${id}`);
    req.log.info({ tokenId: id }, 'unit token revoked');
    return reply.status(204).send();
  });
};
