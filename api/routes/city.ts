import { FeatureCollection } from '../../core/api-schemas.js';
import { route, type Route } from '../route-table.js';

function featureCollection(features: { geometry: unknown; properties: unknown }[]): unknown {
  return { type: 'FeatureCollection', features: features.map((f) => ({ type: 'Feature', ...f })) };
}

/** The city as GeoJSON; webhook URLs and secrets never leave the server. */
export const cityRoutes: readonly Route[] = [
  route({
    method: 'GET',
    url: '/api/subcenters',
    operationId: 'listSubcenters',
    summary: "The street sub-centers' jurisdictions (GeoJSON)",
    tag: 'city',
    access: 'wall',
    departments: true,
    responses: { 200: { description: 'One Feature per sub-center', schema: FeatureCollection } },
    handler: async (_input, _req, _reply, { cityIndex }) =>
      featureCollection(cityIndex().city.subcenters.map(({ geometry, webhook: _w, secret: _s, ...properties }) => ({ geometry, properties }))),
  }),
  route({
    method: 'GET',
    url: '/api/zones',
    operationId: 'listZones',
    summary: 'The risk zones (GeoJSON)',
    tag: 'city',
    access: 'wall',
    departments: true,
    responses: { 200: { description: 'One Feature per zone', schema: FeatureCollection } },
    handler: async (_input, _req, _reply, { cityIndex }) => featureCollection(cityIndex().city.zones.map(({ geometry, ...properties }) => ({ geometry, properties }))),
  }),
];
