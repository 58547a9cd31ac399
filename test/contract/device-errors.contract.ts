/**
 * The contract every DeviceErrorLog adapter passes: newest first, bounded per device
 * (DEVICE_ERROR_LOG_SIZE, driven past), a redelivered refusal kept once, devices apart, and a
 * removed device's refusals forgotten.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DEVICE_ERROR_LOG_SIZE, type DeviceErrorLog, type DeviceErrorRecord, type StateStore } from '../../core/ports.js';

const refusal = (i: number, over: Partial<DeviceErrorRecord> = {}): DeviceErrorRecord => ({
  code: 'SW_ERR_PAYLOAD_JSON',
  message: `payload is not valid JSON: #${i}`,
  topic: 'v1/devices/d/telemetry',
  ref: `ref-${i}`,
  at: 1_700_000_000_000 + i,
  ...over,
});

export function deviceErrorLogContract(name: string, makeStore: () => Promise<StateStore>): void {
  describe(`device error log contract: ${name}`, () => {
    const opened: StateStore[] = [];
    const log = async (): Promise<DeviceErrorLog> => {
      const s = await makeStore();
      opened.push(s);
      return s.deviceErrors;
    };
    afterAll(() => Promise.all(opened.map((s) => s.close())));

    it('returns a device\'s refusals newest first, each field as appended', async () => {
      const errors = await log();
      const id = `d-${randomUUID().slice(0, 8)}`;
      await errors.append(id, [refusal(1), refusal(2, { code: 'SW_ERR_METRIC_RANGE', message: 'metric water_level: value 99 is outside the plausible range -5 … 50', topic: `v1/devices/${id}/telemetry` })]);
      await errors.append(id, [refusal(3)]);
      expect(await errors.recent(id)).toEqual([refusal(3), refusal(2, { code: 'SW_ERR_METRIC_RANGE', message: 'metric water_level: value 99 is outside the plausible range -5 … 50', topic: `v1/devices/${id}/telemetry` }), refusal(1)]);
      expect(await errors.recent(id, 1)).toEqual([refusal(3)]);
      expect(await errors.recent(`other-${id}`)).toEqual([]);
    });

    it(`keeps the newest ${DEVICE_ERROR_LOG_SIZE} per device and drops older ones`, async () => {
      const errors = await log();
      const id = `d-${randomUUID().slice(0, 8)}`;
      const neighbour = `n-${randomUUID().slice(0, 8)}`;
      await errors.append(neighbour, [refusal(0)]);
      const total = DEVICE_ERROR_LOG_SIZE + 30;
      for (let i = 0; i < total; i += 10) await errors.append(id, Array.from({ length: 10 }, (_, j) => refusal(i + j)));
      const kept = await errors.recent(id);
      expect(kept).toHaveLength(DEVICE_ERROR_LOG_SIZE);
      expect(kept[0]).toEqual(refusal(total - 1));
      expect(kept[kept.length - 1]).toEqual(refusal(total - DEVICE_ERROR_LOG_SIZE));
      // Another device's ring is its own.
      expect(await errors.recent(neighbour)).toEqual([refusal(0)]);
    });

    it('keeps a redelivered refusal once, and forgets a removed device', async () => {
      const errors = await log();
      const id = `d-${randomUUID().slice(0, 8)}`;
      await errors.append(id, [refusal(1), refusal(2)]);
      await errors.append(id, [refusal(2)]);
      expect(await errors.recent(id)).toEqual([refusal(2), refusal(1)]);
      await errors.clear(id);
      expect(await errors.recent(id)).toEqual([]);
    });
  });
}
