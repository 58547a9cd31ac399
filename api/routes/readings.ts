import { z } from 'zod';
import { placeRule, withOverride } from '../../core/zone-selector.js';
import type { CityIndex } from '../../core/city-index.js';
import { swError } from '../../core/errors.js';
import type { ReadingSeries, ThresholdView } from '../../core/reading-charts.js';
import type { Resolution, RollupPoint } from '../../core/ports.js';
import { readSeries } from '../../core/retention/series-read.js';
import { MetricName, QueryTime, type Location } from '../../core/schemas.js';
import { DeviceReadings } from '../../core/api-schemas.js';
import type { StateStore } from '../../core/ports.js';
import { IdParams, type ApiPrincipal } from '../context.js';
import { unitSeesDevice } from '../device-access.js';
import { route, type Route } from '../route-table.js';

/** Window when the query gives no `from`: the last day. */
export const DEFAULT_READINGS_WINDOW_MS = 24 * 3_600_000;
/** Most readings one request returns. */
export const MAX_READINGS = 20_000;

const ReadingsQuery = z
  .strictObject({
    metric: MetricName.optional(),
    from: QueryTime.optional(),
    to: QueryTime.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_READINGS).default(5_000),
    /** Default: the finest resolution that still holds `from` (core/retention/series-read.ts). */
    resolution: z.enum(['raw', '5m', '1h']).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { path: ['from'], message: 'must be before "to"' });

/**
 * A device's readings, one series per metric, for charts, with the threshold rules that apply
 * where the device is (the per-zone override in force there). The admin reads every device; a unit
 * reads the devices its tickets come from: those inside its jurisdiction, inside the
 * jurisdictions it supervises, or, for the district center, outside every jurisdiction. Any
 * other device is 404, as a ticket the unit does not hold.
 */
export const readingRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/devices/:id/readings',
    operationId: 'getDeviceReadings',
    summary: "A device's readings for charts, with the thresholds that apply where it is",
    description:
      'One series per metric; `from`/`to` in epoch ms or RFC 3339, the last day by default. A period older than the raw retention comes from the roll-ups (`resolution` 5m or 1h: each point a step\'s mean, with its `extremes`); `resolution` forces one. A unit reads the devices inside its jurisdiction or those it supervises; a department the devices whose alerts are on a ticket it leads or co-handles.',
    tag: 'devices',
    access: 'units',
    departments: true,
    params: IdParams,
    query: ReadingsQuery,
    responses: { 200: { description: 'Series and thresholds', schema: DeviceReadings } },
    errors: ['SW_ERR_NOT_FOUND'],
    handler: async ({ params: { id }, query: q }, req, _reply, { state, series, cityIndex, clock, retention }) => {
      const device = await state.devices.get(id);
      const allowed = req.principal?.role === 'department' ? await departmentReads(state, req.principal.department, id) : mayRead(req.principal, cityIndex(), device?.location ?? null);
      if (!device || !allowed) throw swError('SW_ERR_NOT_FOUND', `device ${id}`);
      const now = clock.now();
      const to = q.to ?? now;
      const from = q.from ?? to - DEFAULT_READINGS_WINDOW_MS;
      // Old periods come from the roll-ups: each point is then a step's mean, with its extremes.
      const answer = await readSeries(series, retention, { deviceId: id, from, to, limit: q.limit, ...(q.metric === undefined ? {} : { metric: q.metric }) }, now, q.resolution);
      return {
        deviceId: id,
        location: device.location,
        from,
        to,
        resolution: answer.resolution,
        truncated: answer.truncated,
        series: bySeries(answer.points, answer.resolution),
        thresholds: thresholdsAt(cityIndex(), device.location, q.metric),
      };
    },
  }),
];

/** Whether the caller may read a device at this place: the admin, or a unit whose jurisdiction (or supervised one) holds it. */
export function mayRead(principal: ApiPrincipal | null, city: CityIndex, location: Location | null): boolean {
  if (!principal) return false;
  if (principal.role === 'admin') return unitSeesDevice(undefined, city, location);
  return principal.role === 'unit' && unitSeesDevice(principal.unitId, city, location);
}

/** Most of a department's tickets looked through for a device (the newest). */
const DEPARTMENT_TICKETS_SCANNED = 500;

/**
 * Whether a department reads a device: one of the tickets it leads or co-handles (not after a
 * release) carries an alert from it. A water-affairs department summoned to a flood reads the
 * water-level gauge that raised it, and nothing else of the city's sensors.
 */
async function departmentReads(state: StateStore, department: string, deviceId: string): Promise<boolean> {
  const tickets = await state.tickets.list({ department, limit: DEPARTMENT_TICKETS_SCANNED });
  return tickets.some((t) => t.alerts.some((a) => a.deviceId === deviceId));
}

/** Placed the way the detectors place them (core/zone-selector.ts), so the lines match the alerts. */
function thresholdsAt(city: CityIndex, location: Location | null, metric: string | undefined): ThresholdView[] {
  const zones = city.place(location).zoneIds.flatMap((id) => city.zoneById.get(id) ?? []);
  const out: ThresholdView[] = [];
  for (const rule of city.city.rules) {
    if (rule.kind !== 'threshold' || (metric !== undefined && rule.metric !== metric)) continue;
    const placed = placeRule(zones, rule);
    if (!placed) continue;
    const r = withOverride(rule, placed.override);
    out.push({
      ruleId: r.id,
      name: r.name ?? null,
      metric: r.metric,
      above: r.above ?? null,
      below: r.below ?? null,
      clearBelow: r.clearBelow ?? r.above ?? null,
      clearAbove: r.clearAbove ?? r.below ?? null,
      zoneId: placed.zone?.id ?? null,
    });
  }
  return out;
}

function bySeries(points: readonly RollupPoint[], resolution: Resolution): ReadingSeries[] {
  const out = new Map<string, ReadingSeries>();
  for (const p of points) {
    let s = out.get(p.metric);
    if (!s) out.set(p.metric, (s = { metric: p.metric, unit: p.unit ?? null, points: [], ...(resolution === 'raw' ? {} : { extremes: [] }) }));
    if (resolution === 'raw') {
      s.points.push([p.start, p.last]);
    } else {
      s.points.push([p.start, p.sum / p.count]);
      s.extremes!.push([p.start, p.min, p.max]);
    }
  }
  return [...out.values()];
}
