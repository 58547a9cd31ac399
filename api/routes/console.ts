import { UNITS_ALLOWED, type RouteModule } from '../context.js';

/**
 * What the web console needs to know beyond tickets and devices: who the token belongs to, the
 * city's name and its names for departments and categories, the deadlines per grade, and the
 * optional map tile server. Webhook URLs and secrets never leave the server. (The thresholds a
 * chart draws come with the device's readings, resolved for where the device is.)
 */
export const consoleRoutes: RouteModule = (api, { cityIndex, console: options }) => {
  api.get('/api/console/config', UNITS_ALLOWED, async (req) => {
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
  });
};
