import { z } from 'zod';
import { DeviceCreated, DeviceImportAnswer, DeviceList, DeviceSecret, type DeviceImportResult } from '../../core/api-schemas.js';
import { isStreetWatchError, StreetWatchError, swError } from '../../core/errors.js';
import type { DeviceRegistry } from '../../core/ports.js';
import {
  DeviceCreateBody,
  DeviceId,
  DeviceImportBody,
  DeviceUpdateBody,
  DeviceView,
  MAX_GATEWAY_DEVICES,
  provisionedDevice,
  type DevicePatch,
  type DeviceRecord,
} from '../../core/schemas.js';
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
  return { secret, device: provisionedDevice(body, await hashSecret(secret), now) };
}

/**
 * The gateway relation and SenML name of a device, checked against what is provisioned: the
 * gateway exists, is not the device itself, speaks for fewer than MAX_GATEWAY_DEVICES, and no
 * other device it speaks for (nor the gateway) has the same SenML name, so that every record of
 * its packs names one device.
 */
export async function checkProvisioning(devices: DeviceRegistry, id: string, fields: Pick<DeviceRecord, 'gateway' | 'senml'>, where: string): Promise<void> {
  if (fields.gateway === null) return;
  if (fields.gateway === id) throw swError('SW_ERR_BODY_INVALID', `${where}.gateway: a device cannot speak for itself`);
  const gateway = await devices.get(fields.gateway);
  if (!gateway) throw swError('SW_ERR_BODY_INVALID', `${where}.gateway: device ${fields.gateway} is not provisioned`);
  const siblings = (await devices.children(gateway.id, MAX_GATEWAY_DEVICES + 1)).filter((d) => d.id !== id);
  if (siblings.length >= MAX_GATEWAY_DEVICES) throw swError('SW_ERR_BODY_INVALID', `${where}.gateway: device ${gateway.id} already speaks for ${MAX_GATEWAY_DEVICES} devices, the limit`);
  const name = fields.senml.name;
  const clash = name === null ? undefined : [gateway, ...siblings].find((d) => d.senml.name === name);
  if (clash) throw swError('SW_ERR_BODY_INVALID', `${where}.senml.name: ${JSON.stringify(name)} is already the SenML name of ${clash.id}, which gateway ${gateway.id} also speaks for`);
}

async function importOne(devices: DeviceRegistry, body: DeviceCreateBody, onExisting: DeviceImportBody['onExisting'], now: number): Promise<DeviceImportResult> {
  // Looked up first so that skipping or rotating an existing device costs no wasted hash.
  if (onExisting !== 'fail' && (await devices.get(body.id))) return importExisting(devices, body.id, onExisting);
  try {
    await checkProvisioning(devices, body.id, { gateway: body.gateway ?? null, senml: body.senml ?? { name: null, map: [] } }, 'device');
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
      await checkProvisioning(state.devices, device.id, device, 'body');
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
      // A gateway in the same import goes in before the devices it speaks for.
      const results: DeviceImportResult[] = new Array(body.devices.length);
      const later = (d: DeviceCreateBody): boolean => d.gateway !== undefined && seen.has(d.gateway);
      for (const phase of [false, true]) {
        await Promise.all(
          body.devices.map(async (d, i) => {
            if (later(d) === phase) results[i] = await importOne(state.devices, d, body.onExisting, now);
          }),
        );
      }
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
  // Provisioning changes: mobile or fixed, the gateway that may speak for it, its SenML name and
  // mapping table, its kind and location. Ingest reads a device again at most 30 s later.
  route({
    method: 'PATCH',
    url: '/api/devices/:id',
    operationId: 'updateDevice',
    summary: 'Change what is provisioned of a device',
    description: 'Mobile or fixed, the gateway that may speak for it (`null` for none), its SenML name and mapping table, its kind and location. What is not given stays.',
    tag: 'devices',
    access: 'admin',
    params: DeviceParams,
    body: DeviceUpdateBody,
    responses: { 200: { description: 'The device as provisioned now', schema: DeviceView } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id }, body }, req, _reply, { state }) => {
      const current = await state.devices.get(id);
      if (!current) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      const patch: DevicePatch = {};
      if (body.kind !== undefined) patch.kind = body.kind;
      if (body.location !== undefined) patch.location = body.location;
      if (body.mobile !== undefined) patch.mobile = body.mobile;
      if (body.gateway !== undefined) patch.gateway = body.gateway;
      if (body.senml !== undefined) patch.senml = body.senml;
      await checkProvisioning(state.devices, id, { ...current, ...patch }, 'body');
      const updated = await state.devices.update(id, patch);
      if (!updated) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      req.log.info({ deviceId: id, fields: Object.keys(patch) }, 'device provisioning changed');
      return deviceView(updated);
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
    handler: async ({ params: { id } }, req, reply, { state, forgetDevice }) => {
      if (!(await state.devices.remove(id))) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      await state.deviceErrors.clear(id);
      // Its rule state, caches and list entries go too; what fails here the reconciliation of
      // the retention job finds later (core/retention/device-cleanup.ts).
      await forgetDevice?.(id).catch((err: unknown) => req.log.warn({ err, deviceId: id }, 'state of a deleted device not forgotten yet; the retention job will'));
      req.log.info({ deviceId: id }, 'device deleted');
      return reply.status(204).send();
    },
  }),
];
