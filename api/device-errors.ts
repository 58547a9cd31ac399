/**
 * Keeps each device's recent refusals where its vendor can read them back
 * (`GET /api/devices/{id}/errors`): the devices' errors topic is the only other place, and a
 * device's one connection is the only one allowed to read it.
 */
import type { Bus, StateStore, Subscription } from '../core/ports.js';
import { deviceErrorMessage } from '../core/dead-letter.js';
import type { DeviceErrorRecord } from '../core/ports.js';

/**
 * Consumes `sw.deadletter` (the same records the broker turns into error messages) into the
 * state store's device error log, for provisioned devices only: a refusal naming a device that
 * no longer exists has nobody to read it.
 */
export function recordDeviceErrors({ bus, state }: { bus: Bus; state: StateStore }): Promise<Subscription> {
  return bus.subscribe('sw.deadletter', 'api-device-errors', async (records) => {
    const byDevice = new Map<string, DeviceErrorRecord[]>();
    for (const { value } of records) {
      const list = byDevice.get(value.deviceId) ?? [];
      list.push({ ...deviceErrorMessage(value), at: value.receivedAt });
      byDevice.set(value.deviceId, list);
    }
    await Promise.all(
      [...byDevice].map(async ([deviceId, errors]) => {
        if (await state.devices.get(deviceId)) await state.deviceErrors.append(deviceId, errors);
      }),
    );
  });
}
