/**
 * Forgetting deleted devices (core/device-state.ts): their key-value state under their prefix,
 * and whatever the stages of this process hold in memory. The process that deletes a device
 * forgets it at once; every process also reconciles from time to time, which catches devices
 * deleted by another process (or by this one before a crash) that it still holds state about.
 */
import { DEVICE_KEY_PREFIX, deviceKeyPrefix, deviceOfKey, type DeviceStateHolder } from '../device-state.js';
import type { Logger } from '../logger.js';
import type { DeviceRegistry, KeyValueStore } from '../ports.js';
import type { RetentionTask } from './maintenance.js';

/** How often each process looks for state of devices deleted elsewhere. */
export const DEVICE_RECONCILE_MS = 60 * 60_000;

export class DeviceCleanup {
  constructor(
    private readonly deps: {
      devices: DeviceRegistry;
      kv: KeyValueStore;
      /** The in-memory state of this process's stages. */
      holders: readonly DeviceStateHolder[];
      logger: Logger;
    },
  ) {}

  /** Forgets devices everywhere this process reaches; resolves with the keys deleted. */
  async forget(deviceIds: readonly string[]): Promise<number> {
    let keys = 0;
    for (const id of deviceIds) keys += await this.deps.kv.deletePrefix(deviceKeyPrefix(id));
    for (const h of this.deps.holders) await h.forget(deviceIds);
    return keys;
  }

  /**
   * Finds the devices that state is kept about (keys under the device prefix, and what the
   * holders know) but that are not registered, checks each once more (one provisioned meanwhile
   * stays), and forgets them. Resolves with how many devices it forgot.
   */
  async reconcile(): Promise<number> {
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await this.deps.kv.scanPrefix(DEVICE_KEY_PREFIX, cursor);
      for (const key of page.keys) {
        const id = deviceOfKey(key);
        if (id !== undefined) seen.add(id);
      }
      cursor = page.next;
    } while (cursor !== undefined);
    for (const h of this.deps.holders) for (const id of h.known()) seen.add(id);
    if (seen.size === 0) return 0;
    const registered = new Set((await this.deps.devices.list()).map((d) => d.id));
    const gone: string[] = [];
    for (const id of seen) if (!registered.has(id) && !(await this.deps.devices.get(id))) gone.push(id);
    if (gone.length > 0) {
      await this.forget(gone);
      this.deps.logger.info({ devices: gone.length }, `forgot the state of ${gone.length} deleted devices`);
    }
    return gone.length;
  }

  /** The reconciliation as a retention task of this process (each process holds its own memory). */
  task(): RetentionTask {
    return { name: 'deleted-devices', shared: false, once: true, everyMs: DEVICE_RECONCILE_MS, step: () => this.reconcile() };
  }
}
