import { swError } from '../../core/errors.js';
import { DeviceCreateBody, DeviceId, type DeviceRecord, type DeviceView } from '../../core/schemas.js';
import { generateSecret, hashSecret } from '../../broker/secret-hash.js';
import { IdParams, parse, type RouteModule } from '../context.js';

export function deviceView(d: DeviceRecord): DeviceView {
  const { secretHash: _hidden, ...view } = d;
  return view;
}

/** Provisioning: a secret is returned once, at creation or rotation, and stored only hashed. */
export const deviceRoutes: RouteModule = (api, { state, clock }) => {
  api.post('/api/devices', async (req, reply) => {
    const body = parse(DeviceCreateBody, req.body, 'body');
    const secret = generateSecret();
    const device: DeviceRecord = {
      id: body.id,
      kind: body.kind,
      location: body.location,
      secretHash: await hashSecret(secret),
      createdAt: clock.now(),
      status: 'unknown',
      lastSeen: null,
    };
    await state.devices.add(device);
    req.log.info({ deviceId: device.id }, 'device provisioned');
    return reply.status(201).send({ id: device.id, secret, device: deviceView(device) });
  });

  api.get('/api/devices', async () => ({ devices: (await state.devices.list()).map(deviceView) }));

  api.get('/api/devices/:id', async (req) => {
    const { id } = parse(IdParams, req.params, 'params');
    const device = await state.devices.get(id);
    if (!device) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
    return deviceView(device);
  });

  api.post('/api/devices/:id/rotate-secret', async (req) => {
    const id = parse(DeviceId, parse(IdParams, req.params, 'params').id, 'params.id');
    const secret = generateSecret();
    if (!(await state.devices.setSecretHash(id, await hashSecret(secret)))) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
    req.log.info({ deviceId: id }, 'device secret rotated');
    return { id, secret };
  });

  api.delete('/api/devices/:id', async (req, reply) => {
    const { id } = parse(IdParams, req.params, 'params');
    if (!(await state.devices.remove(id))) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
    return reply.status(204).send();
  });
};
