import { UNITS_ALLOWED, type RouteModule } from '../context.js';

function featureCollection(features: { geometry: unknown; properties: unknown }[]): unknown {
  return { type: 'FeatureCollection', features: features.map((f) => ({ type: 'Feature', ...f })) };
}

/** The city as GeoJSON; webhook URLs and secrets never leave the server. */
export const cityRoutes: RouteModule = (api, { cityIndex }) => {
  api.get('/api/subcenters', UNITS_ALLOWED, async () =>
    featureCollection(cityIndex().city.subcenters.map(({ geometry, webhook: _w, secret: _s, ...properties }) => ({ geometry, properties }))),
  );

  api.get('/api/zones', UNITS_ALLOWED, async () => featureCollection(cityIndex().city.zones.map(({ geometry, ...properties }) => ({ geometry, properties }))));
};
