import { describe, expect, it } from 'vitest';
import type { MultiPolygon, Polygon } from 'geojson';
import { GeoIndex } from './geo-index.js';

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
});
