import { describe, expect, it } from 'vitest';
import { loadCity } from '../city.js';
import { CityIndex } from '../city-index.js';
import { DEFAULT_CITY_DIR } from '../config.js';
import { routeLocation } from './routing.js';

const index = new CityIndex(loadCity(DEFAULT_CITY_DIR));

describe('routing', () => {
  it('sends a location to the sub-center whose jurisdiction contains it', () => {
    expect(routeLocation(index, { lon: 113.325, lat: 23.145 })).toEqual({ subcenterId: 'linhe', fallback: false });
    expect(routeLocation(index, { lon: 113.39, lat: 23.15 })).toEqual({ subcenterId: 'chebei', fallback: false });
  });

  it('breaks a tie on a shared border by the lower id', () => {
    // 113.335 is the border between tianhe-south (west) and shipai (east).
    expect(routeLocation(index, { lon: 113.335, lat: 23.13 })).toEqual({ subcenterId: 'shipai', fallback: false });
  });

  it('falls back to the district center, flagged, outside every jurisdiction or without a location', () => {
    expect(routeLocation(index, { lon: 113.5, lat: 23.13 })).toEqual({ subcenterId: 'tianhe-district', fallback: true });
    expect(routeLocation(index, undefined)).toEqual({ subcenterId: 'tianhe-district', fallback: true });
  });
});
