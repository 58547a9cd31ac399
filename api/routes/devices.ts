import { z } from 'zod';
import { isStreetWatchError, StreetWatchError, swError } from '../../core/errors.js';
import type { DeviceRegistry } from '../../core/ports.js';
import { DeviceCreateBody, DeviceId, DeviceImportBody, type DeviceRecord, type DeviceView } from '../../core/schemas.js';
import { generateSecret, hashSecret } from '../../core/secret-hash.js';
import { IdParams, parse, type RouteModule } from '../context.js';

/** Largest bulk import body: MAX_DEVICE_IMPORT devices of about 150 bytes, with room to spare. */
export const DEVICE_IMPORT_BODY_LIMIT = 1024 * 1024;

export function deviceView(d: DeviceRecord): DeviceView {
  const { secretHash: _hidden, ...view } = d;
  return view;
}

const DeviceListQuery = z.strictObject({
  status: z.enum(['online', 'offline', 'unknown']).optional(),
  kind: z.string().max(64).optional(),
});

/** One line of a bulk import's answer; `secret` is present, once, for created and rotated devices. */
export type DeviceImportResult =
  | { id: string; outcome: 'created' | 'rotated'; secret: string }
  | { id: string; outcome: 'skipped' }
  | { id: string; outcome: 'failed'; error: { code: string; message: string } };

async function newDevice(body: DeviceCreateBody, now: number): Promise<{ device: DeviceRecord; secret: string }> {
  const secret = generateSecret();
  return {
    secret,
    device: { id: body.id, kind: body.kind, location: body.location, secretHash: await hashSecret(secret), createdAt: now, status: 'unknown', lastSeen: null },
  };
}

async function importOne(devices: DeviceRegistry, body: DeviceCreateBody, onExisting: DeviceImportBody['onExisting'], now: number): Promise<DeviceImportResult> {
  // Looked up first so that skipping or rotating an existing device costs no wasted hash.
  if (onExisting !== 'fail' && (await devices.get(body.id))) return importExisting(devices, body.id, onExisting);
  try {
    const { device, secret } = await newDevice(body, now);
    await devices.add(device);
    return { id: body.id, outcome: 'created', secret };
  } catch (err) {
    if (isStreetWatchError(err, 'SW_ERR_DEVICE_EXISTS') && onExisting !== 'fail') return importExisting(devices, body.id, onExisting);
    const sw = err instanceof StreetWatchError ? err : new StreetWatchError('SW_ERR_INTERNAL', ['the device could not be stored'], { cause: err });
    return { id: body.id, outcome: 'failed', error: { code: sw.code, message: sw.message } };
  }
}

async function importExisting(devices: DeviceRegistry, id: string, onExisting: 'skip' | 'rotate'): Promise<DeviceImportResult> {
  if (onExisting === 'skip') return { id, outcome: 'skipped' };
  const secret = generateSecret();
  if (!(await devices.setSecretHash(id, await hashSecret(secret)))) {
    return { id, outcome: 'failed', error: swError('SW_ERR_NOT_FOUND', `device ${id}`).toJSON() };
  }
  return { id, outcome: 'rotated', secret };
}

/** Provisioning: a secret is returned once, at creation or rotation, and stored only hashed. */
export const deviceRoutes: RouteModule = (api, { state, clock }) => {
  api.post('/api/devices', async (req, reply) => {
    const body = parse(DeviceCreateBody, req.body, 'body');
    const { device, secret } = await newDevice(body, clock.now());
    await state.devices.add(device);
    req.log.info({ deviceId: device.id }, 'device provisioned');
    return reply.status(201).send({ id: device.id, secret, device: deviceView(device) });
  });

  // Bulk provisioning (the CLI's CSV import, the simulator's fleets): one answer per device, in
  // order, so a partly failed import can be fixed and sent again with onExisting "skip".
  api.post('/api/devices/import', { bodyLimit: DEVICE_IMPORT_BODY_LIMIT }, async (req) => {
    const body = parse(DeviceImportBody, req.body, 'body');
    const seen = new Set<string>();
    for (const [i, d] of body.devices.entries()) {
      if (seen.has(d.id)) throw swError('SW_ERR_BODY_INVALID', `body.devices[${i}].id: "${d.id}" appears twice`);
      seen.add(d.id);
    }
    const now = clock.now();
    const results = await Promise.all(body.devices.map((d) => importOne(state.devices, d, body.onExisting, now)));
    const counts = { created: 0, rotated: 0, skipped: 0, failed: 0 };
    for (const r of results) counts[r.outcome]++;
    req.log.info(counts, 'devices imported');
    return { ...counts, results };
  });

  api.get('/api/devices', async (req) => {
    const query = parse(DeviceListQuery, req.query, 'query');
    const devices = (await state.devices.list()).filter((d) => (query.status === undefined || d.status === query.status) && (query.kind === undefined || d.kind === query.kind));
    return { devices: devices.map(deviceView) };
  });

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
