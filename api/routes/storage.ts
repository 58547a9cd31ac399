import { StorageView } from '../../core/api-schemas.js';
import { swError } from '../../core/errors.js';
import { route, type Route } from '../route-table.js';

/**
 * `GET /api/storage` (admin): what the stores hold and how much room is left (docs/OPERATIONS.md):
 * each embedded database's size, rows and the oldest time per resolution of the readings, free
 * disk space against its warning threshold, the retention in force and what each retention task
 * did last. Measured by the retention job every run; the free space is measured on each call.
 */
export const storageRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/storage',
    operationId: 'getStorage',
    summary: 'Store sizes, rows, the oldest readings, free disk space and the retention job',
    description:
      'Each embedded database of the data directory and its size, rows and the oldest time per resolution of the readings (raw, 5m, 1h), free disk space against STREETWATCH_DISK_WARN, the retention in force and what each retention task did last (docs/OPERATIONS.md).',
    tag: 'operations',
    access: 'admin',
    responses: { 200: { description: 'The figures', schema: StorageView } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async (_input, _req, _reply, { storage }) => {
      if (!storage) throw swError('SW_ERR_NOT_FOUND', 'storage figures of this process');
      const snapshot = await storage.snapshot();
      return { ...snapshot, disk: (await storage.refreshDisk()) ?? snapshot.disk };
    },
  }),
];
