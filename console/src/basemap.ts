/**
 * Base maps on Leaflet: the tile layers of each base map the city configures, already resolved
 * to XYZ templates by the server (core/basemap.ts). Where points go on them: projection.ts.
 */
import L from 'leaflet';
import type { ResolvedBase } from '../../core/basemap.js';

/** One base map as a Leaflet layer: its tile layers stacked, bottom first. */
export function baseLayer(base: ResolvedBase): L.LayerGroup {
  return L.layerGroup(
    base.layers.map((l) =>
      L.tileLayer(l.url, {
        // Leaflet's own default when the template has no {s}: never used then.
        subdomains: l.subdomains.length > 0 ? l.subdomains : 'abc',
        attribution: l.attribution ?? '',
        opacity: l.opacity,
        minZoom: l.minZoom,
        maxZoom: l.maxZoom,
        // No referrer to the tile service, like every other request of the console (CSP and headers).
        referrerPolicy: 'no-referrer',
        className: `sw-tiles sw-tiles-${base.id}`,
      }),
    ),
  );
}
