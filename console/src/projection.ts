/**
 * Where to draw a WGS-84 point on a base map's tiles. Sensors and the city's GeoJSON are WGS-84;
 * tiles from a GCJ-02 service (most commercial Chinese maps) are offset from it (hundreds of
 * metres in Guangzhou), so on those every point is shifted the same way before it is drawn, with
 * gcoord. Nothing shifted is ever sent back: stored data stays WGS-84.
 */
import gcoordImport from 'gcoord';
import type { TileCrs } from '../../core/basemap.js';

/** What the console uses of gcoord. */
interface Gcoord {
  transform(position: [number, number], from: 'WGS84' | 'GCJ02', to: 'WGS84' | 'GCJ02'): [number, number];
}
/**
 * gcoord's types declare an ES default export, which is what the bundle gets; under Node (the
 * unit tests) its CommonJS build is that object itself.
 */
const gcoordLib = gcoordImport as unknown as Gcoord & { default?: Gcoord };
const gcoord: Gcoord = gcoordLib.default ?? gcoordLib;

/** Where a WGS-84 point is drawn on tiles of the given coordinate system: `[lat, lon]`. */
export type Projector = (lat: number, lon: number) => [number, number];

const identity: Projector = (lat, lon) => [lat, lon];

/** gcoord's GCJ-02 formula is defined inside China only; outside it the point stays as it is, as on the services' own maps. */
const toGcj02: Projector = (lat, lon) => {
  const [x, y] = gcoord.transform([lon, lat], 'WGS84', 'GCJ02');
  return [y, x];
};

export function projector(crs: TileCrs | null): Projector {
  return crs === 'gcj02' ? toGcj02 : identity;
}

/** The inverse, for reading a position off the map (a click): GCJ-02 back to WGS-84. */
export function unproject(crs: TileCrs | null, lat: number, lon: number): [number, number] {
  if (crs !== 'gcj02') return [lat, lon];
  const [x, y] = gcoord.transform([lon, lat], 'GCJ02', 'WGS84');
  return [y, x];
}
