import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MultiPolygon, Polygon } from 'geojson';
import { syntheticZones } from '../bench/geofence.js';
import { GeoIndex, type GeoArea } from './geo-index.js';

const square = (x0: number, y0: number, x1: number, y1: number): number[][] => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
  [x0, y0],
];

describe('GeoIndex', () => {
  const donut: Polygon = { type: 'Polygon', coordinates: [square(0, 0, 10, 10), square(4, 4, 6, 6)] };
  const islands: MultiPolygon = { type: 'MultiPolygon', coordinates: [[square(20, 0, 22, 2)], [square(30, 0, 32, 2)]] };
  const west: Polygon = { type: 'Polygon', coordinates: [square(40, 0, 45, 5)] };
  const east: Polygon = { type: 'Polygon', coordinates: [square(45, 0, 50, 5)] };
  const index = new GeoIndex([
    { id: 'donut', geometry: donut },
    { id: 'islands', geometry: islands },
    { id: 'west', geometry: west },
    { id: 'east', geometry: east },
  ]);
  const ids = (lon: number, lat: number): string[] => index.containing(lon, lat).map((a) => a.id);

  it('respects holes', () => {
    expect(ids(1, 1)).toEqual(['donut']);
    expect(ids(5, 5)).toEqual([]);
  });

  it('finds each part of a MultiPolygon but not the gap between', () => {
    expect(ids(21, 1)).toEqual(['islands']);
    expect(ids(31, 1)).toEqual(['islands']);
    expect(ids(26, 1)).toEqual([]);
  });

  it('puts a point on a shared border in both areas, and gives it to the lower id', () => {
    expect(ids(45, 2)).toEqual(['east', 'west']);
    expect(index.owner(45, 2)?.id).toBe('east');
    expect(index.owner(44, 2)?.id).toBe('west');
  });

  it('counts a point on an outer edge or vertex as inside', () => {
    expect(ids(0, 5)).toEqual(['donut']);
    expect(ids(10, 10)).toEqual(['donut']);
  });

  it('answers nothing for an empty index', () => {
    expect(new GeoIndex([]).containing(1, 1)).toEqual([]);
  });

  const linear = (areas: readonly GeoArea[], lon: number, lat: number): string[] =>
    areas.filter((a) => booleanPointInPolygon([lon, lat], a.geometry)).map((a) => a.id).sort();

  it('finds exactly what a linear turf scan finds, on a city of overlapping zones', () => {
    const zones = syntheticZones(500, 7);
    const city = new GeoIndex(zones);
    fc.assert(
      fc.property(fc.double({ min: 113.29, max: 113.43, noNaN: true }), fc.double({ min: 23.09, max: 23.21, noNaN: true }), (lon, lat) => {
        expect(city.containing(lon, lat).map((z) => z.id)).toEqual(linear(zones, lon, lat));
        expect(city.owner(lon, lat)?.id).toBe(linear(zones, lon, lat)[0]);
      }),
      { numRuns: 3000 },
    );
  });

  it('answers from the tree where zones pile up, and on cell edges', () => {
    // 60 nested squares around one spot overflow any grid cell there; a lattice of unit squares
    // puts shared borders (and probe points) on cell edges.
    const piled = Array.from({ length: 60 }, (_, i) => ({ id: `p${String(i).padStart(2, '0')}`, geometry: { type: 'Polygon' as const, coordinates: [square(50 - i / 10, 50 - i / 10, 50 + i / 10 + 0.1, 50 + i / 10 + 0.1)] } }));
    const lattice = Array.from({ length: 100 }, (_, i) => ({ id: `l${String(i).padStart(3, '0')}`, geometry: { type: 'Polygon' as const, coordinates: [square(i % 10, Math.floor(i / 10), (i % 10) + 1, Math.floor(i / 10) + 1)] } }));
    const areas = [...piled, ...lattice];
    const both = new GeoIndex(areas);
    for (let x = 0; x <= 60; x += 0.25) {
      for (const y of [0, 0.5, 1, 3, 49.95, 50, 50.05, 51]) {
        expect(both.containing(x, y).map((a) => a.id)).toEqual(linear(areas, x, y));
      }
    }
  });
});

