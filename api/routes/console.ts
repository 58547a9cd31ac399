import { ConsoleConfig } from '../../core/api-schemas.js';
import { route, type Route } from '../route-table.js';

/**
 * What the web console needs to know beyond tickets and devices: who the token belongs to, the
 * city's name and its names for departments and categories, the deadlines per grade, and the
 * optional map tile server. Webhook URLs and secrets never leave the server. (The thresholds a
 * chart draws come with the device's readings, resolved for where the device is.)
 */
export const consoleRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/console/config',
    operationId: 'getConsoleConfig',
    summary: "The web console's settings",
    tag: 'console',
    access: 'units',
    responses: { 200: { description: "Who the token belongs to, the city's names, deadlines, map tiles", schema: ConsoleConfig } },
    handler: async (_input, req, _reply, { cityIndex, console: options }) => {
      const p = req.principal!;
      const { city } = cityIndex();
      return {
        city: { name: city.name, district: { id: city.district.id, name: city.district.name } },
        departments: Object.fromEntries([...city.departments.values()].map((d) => [d.id, d.name])),
        categories: Object.fromEntries([...city.categories.values()].map((c) => [c.id, c.name])),
        sla: city.sla.grades,
        map: { tileUrl: options.tileUrl ?? null, attribution: options.tileAttribution ?? null },
        principal: p.role === 'admin' ? { role: 'admin' } : { role: 'unit', unitId: p.unitId },
      };
    },
  }),
];
