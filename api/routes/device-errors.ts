import { z } from 'zod';
import { DeviceErrors } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import { DEVICE_ERROR_LOG_SIZE } from '../../core/ports.js';
import { IdParams } from '../context.js';
import { route, type Route } from '../route-table.js';
import { mayRead } from './readings.js';

const ErrorsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(DEVICE_ERROR_LOG_SIZE).default(DEVICE_ERROR_LOG_SIZE),
});

/**
 * A device's recent refusals, what it was sent on its errors topic, for its vendor: with the
 * device's own credentials (HTTP Basic, `curl -u id:secret`), while the device stays connected
 * to MQTT with them; or the admin; or a unit for the devices in its jurisdiction.
 */
export const deviceErrorRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/devices/:id/errors',
    operationId: 'getDeviceErrors',
    summary: "A device's recent refusals, newest first",
    description: `What the device was sent on \`v1/devices/{id}/errors\` (code, message, topic, ref) with the arrival time of the refused publish; the newest ${DEVICE_ERROR_LOG_SIZE} are kept.`,
    tag: 'devices',
    access: 'device',
    params: IdParams,
    query: ErrorsQuery,
    responses: { 200: { description: 'The refusals kept', schema: DeviceErrors } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id }, query }, req, _reply, { state, cityIndex }) => {
      const device = await state.devices.get(id);
      if (!device || (req.device !== id && !mayRead(req.principal, cityIndex(), device.location))) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      return { deviceId: id, kept: DEVICE_ERROR_LOG_SIZE, errors: await state.deviceErrors.recent(id, query.limit) };
    },
  }),
];
