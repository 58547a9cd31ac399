import type { z } from 'zod';
import { ConsoleConfig } from '../../core/api-schemas.js';
import { basemapFromTemplate, resolveBasemap, type ResolvedBasemap } from '../../core/basemap.js';
import type { CityIndex } from '../../core/city-index.js';
import type { Config } from '../../core/config.js';
import { DeviceHealth, deviceHealth } from '../../core/device-health.js';
import { unitById } from '../../core/tickets/units.js';
import { unitOf, type ApiPrincipal } from '../context.js';
import { unitSeesDevice } from '../device-access.js';
import { route, type Route } from '../route-table.js';

/**
 * The base map in force: `STREETWATCH_MAP_TILES` when the deployment sets it (one XYZ layer),
 * else the city's `basemap`, else none (the console's offline schematic).
 */
export function consoleBasemap(options: Config['console'], city: CityIndex): ResolvedBasemap | null {
  if (options.tileUrl) return resolveBasemap(basemapFromTemplate(options.tileUrl, options.tileAttribution));
  return city.city.basemap ? resolveBasemap(city.city.basemap) : null;
}

function principalView(p: ApiPrincipal, index: CityIndex): z.infer<typeof ConsoleConfig>['principal'] {
  switch (p.role) {
    case 'unit':
      return { role: 'unit', unitId: p.unitId, level: unitById(index, p.unitId)?.level ?? 'subcenter' };
    case 'display':
      return { role: 'display', unitId: p.unitId, scope: p.scope ?? null };
    case 'department':
      return { role: 'department', department: p.department };
    default:
      return { role: 'admin' };
  }
}

/**
 * What the web console needs beyond tickets: who the token belongs to, the city's names for
 * departments and categories, the deadlines per grade and the base maps (`config`); and for the
 * wall view, the health of the devices the viewer sees. Webhook URLs and secrets never leave the
 * server. (The thresholds a chart draws come with the device's readings.)
 */
export const consoleRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/console/config',
    operationId: 'getConsoleConfig',
    summary: "The web console's settings",
    tag: 'console',
    access: 'wall',
    departments: true,
    responses: { 200: { description: "Who the token belongs to, the city's names, deadlines, base maps, plans, communities and grids", schema: ConsoleConfig } },
    handler: async (_input, req, _reply, { cityIndex, console: options }) => {
      const index = cityIndex();
      const { city } = index;
      return {
        city: { name: city.name, district: { id: city.district.id, name: city.district.name } },
        departments: Object.fromEntries([...city.departments.values()].map((d) => [d.id, d.name])),
        categories: Object.fromEntries([...city.categories.values()].map((c) => [c.id, c.name])),
        sla: city.sla.grades,
        map: consoleBasemap(options, index),
        principal: principalView(req.principal!, index),
        localUnits: [...city.communities, ...city.grids].map((u) => ({ id: u.id, name: u.name, level: u.level, subcenter: u.subcenter, community: u.community ?? null })),
        responsePlans: Object.fromEntries([...city.responsePlans.values()].map((p) => [p.category, { lead: p.lead, grades: p.grades, checklist: p.checklist }])),
        governance: city.sla.governance,
      };
    },
  }),
  route({
    method: 'GET',
    url: '/api/console/device-health',
    operationId: 'getDeviceHealth',
    summary: 'Device health at a glance, for the wall view',
    description: 'Counts by status and kind over the devices the token sees, and the offline ones (at most 200, the most recently seen first).',
    tag: 'console',
    access: 'wall',
    responses: { 200: { description: 'Device health', schema: DeviceHealth } },
    handler: async (_input, req, _reply, { cityIndex, state, clock }) => {
      const unit = unitOf(req);
      const index = cityIndex();
      const devices = (await state.devices.list()).filter((d) => unitSeesDevice(unit, index, d.location));
      return deviceHealth(devices, clock.now());
    },
  }),
];
