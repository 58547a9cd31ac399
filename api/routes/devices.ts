import { z } from 'zod';
import { DeviceCreated, DeviceImportAnswer, DeviceList, DeviceSecret, type DeviceImportResult } from '../../core/api-schemas.js';
import { isStreetWatchError, StreetWatchError, swError } from '../../core/errors.js';
import type { DeviceRegistry } from '../../core/ports.js';
import { DeviceCreateBody, DeviceId, DeviceImportBody, DeviceView, type DeviceRecord } from '../../core/schemas.js';
import { generateSecret, hashSecret } from '../../core/secret-hash.js';
import { IdParams } from '../context.js';
import { route, type Route } from '../route-table.js';

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

/** A device id in the path of a route that acts on the device by name. */
const DeviceParams = z.strictObject({ id: DeviceId });

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
export const deviceRoutes: readonly Route[] = [
  route({
    method: 'POST',
    url: '/api/devices',
    operationId: 'createDevice',
    summary: 'Provision a device',
    description: 'The secret is in this answer only; the platform keeps its hash.',
    tag: 'devices',
    access: 'admin',
    body: DeviceCreateBody,
    responses: { 201: { description: 'Provisioned', schema: DeviceCreated } },
    errors: ['SW_ERR_DEVICE_EXISTS'],
    handler: async ({ body }, req, reply, { state, clock }) => {
      const { device, secret } = await newDevice(body, clock.now());
      await state.devices.add(device);
      req.log.info({ deviceId: device.id }, 'device provisioned');
      return reply.status(201).send({ id: device.id, secret, device: deviceView(device) });
    },
  }),
  // Bulk provisioning (the CLI's CSV import, the simulator's fleets): one answer per device, in
  // order, so a partly failed import can be fixed and sent again with onExisting "skip".
  route({
    method: 'POST',
    url: '/api/devices/import',
    operationId: 'importDevices',
    summary: 'Provision devices in bulk',
    description: 'One result per device, in order; created and rotated devices carry their secret, once.',
    tag: 'devices',
    access: 'admin',
    body: DeviceImportBody,
    bodyLimit: DEVICE_IMPORT_BODY_LIMIT,
    responses: { 200: { description: 'One result per device', schema: DeviceImportAnswer } },
    handler: async ({ body }, req, _reply, { state, clock }) => {
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
    },
  }),
  route({
    method: 'GET',
    url: '/api/devices',
    operationId: 'listDevices',
    summary: 'List devices',
    tag: 'devices',
    access: 'admin',
    query: DeviceListQuery,
    responses: { 200: { description: 'Devices with their status and last contact', schema: DeviceList } },
    handler: async ({ query }, _req, _reply, { state }) => {
      const devices = (await state.devices.list()).filter((d) => (query.status === undefined || d.status === query.status) && (query.kind === undefined || d.kind === query.kind));
      return { devices: devices.map(deviceView) };
    },
  }),
  route({
    method: 'GET',
    url: '/api/devices/:id',
    operationId: 'getDevice',
    summary: 'One device',
    tag: 'devices',
    access: 'admin',
    params: IdParams,
    responses: { 200: { description: 'The device', schema: DeviceView } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id } }, _req, _reply, { state }) => {
      const device = await state.devices.get(id);
      if (!device) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      return deviceView(device);
    },
  }),
  route({
    method: 'POST',
    url: '/api/devices/:id/rotate-secret',
    operationId: 'rotateDeviceSecret',
    summary: 'Issue a device a new secret',
    description: 'The old secret stops working; the new one is in this answer only.',
    tag: 'devices',
    access: 'admin',
    params: DeviceParams,
    responses: { 200: { description: 'The new secret', schema: DeviceSecret } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id } }, req, _reply, { state }) => {
      const secret = generateSecret();
      if (!(await state.devices.setSecretHash(id, await hashSecret(secret)))) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      req.log.info({ deviceId: id }, 'device secret rotated');
      return { id, secret };
    },
  }),
  route({
    method: 'DELETE',
    url: '/api/devices/:id',
    operationId: 'deleteDevice',
    summary: 'Remove a device',
    tag: 'devices',
    access: 'admin',
    params: IdParams,
    responses: { 204: { description: 'Removed' } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id } }, _req, reply, { state }) => {
      if (!(await state.devices.remove(id))) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      await state.deviceErrors.clear(id);
      return reply.status(204).send();
    },
  }),
];
