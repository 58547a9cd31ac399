import { describe, expect, it } from 'vitest';
import { BasemapConfig, basemapFromTemplate, layerTemplate, resolveBasemap, tileOrigins } from './basemap.js';

/** Tianditu's Web Mercator image and annotation layers, as a city would write them. */
const TIANDITU = {
  bases: [
    {
      id: 'image',
      name: '影像',
      layers: [
        { type: 'wmts', url: 'https://t{s}.tianditu.gov.cn/img_w/wmts?tk=KEY', layer: 'img', tileMatrixSet: 'w', format: 'tiles', subdomains: '01234567', attribution: '天地图' },
        { type: 'wmts', url: 'https://t{s}.tianditu.gov.cn/cia_w/wmts?tk=KEY', layer: 'cia', tileMatrixSet: 'w', format: 'tiles', subdomains: '01234567' },
      ],
    },
    { id: 'amap', name: '高德', crs: 'gcj02', layers: [{ type: 'xyz', url: 'https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}', subdomains: ['1', '2', '3', '4'], maxZoom: 18 }] },
  ],
  minZoom: 5,
  maxZoom: 17,
};

describe('base map configuration', () => {
  it('resolves WMTS KVP layers into XYZ templates with the GetTile parameters (OGC 07-057r7 7.2.2.1)', () => {
    const map = resolveBasemap(BasemapConfig.parse(TIANDITU));
    const [image, amap] = map.bases;
    expect(image!.crs).toBe('wgs84');
    expect(image!.layers[0]).toEqual({
      url: 'https://t{s}.tianditu.gov.cn/img_w/wmts?tk=KEY&SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=img&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}',
      subdomains: ['0', '1', '2', '3', '4', '5', '6', '7'],
      attribution: '天地图',
      opacity: 1,
      minZoom: 5,
      maxZoom: 17,
    });
    expect(image!.layers[1]!.url).toContain('LAYER=cia&');
    expect(amap).toMatchObject({ crs: 'gcj02', layers: [{ subdomains: ['1', '2', '3', '4'], maxZoom: 17 }] });
    expect(tileOrigins(map)).toEqual([
      ...['0', '1', '2', '3', '4', '5', '6', '7'].map((s) => `https://t${s}.tianditu.gov.cn`),
      ...['1', '2', '3', '4'].map((s) => `https://webrd0${s}.is.autonavi.com`),
    ].sort());
  });

  it('fills a RESTful WMTS template, with a tile matrix prefix', () => {
    const url = layerTemplate(
      BasemapConfig.parse({
        bases: [{ id: 'gs', name: 'GeoServer', layers: [{ type: 'wmts', url: 'http://127.0.0.1:8600/gwc/rest/wmts/{Layer}/{Style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}?format=image/png', layer: 'city:base', tileMatrixSet: 'EPSG:900913', tileMatrixPrefix: 'EPSG:900913:' }] }],
      }).bases[0]!.layers[0]!,
    );
    expect(url).toBe('http://127.0.0.1:8600/gwc/rest/wmts/city%3Abase/default/EPSG%3A900913/EPSG:900913:{z}/{y}/{x}?format=image/png');
  });

  it('refuses what cannot be drawn, naming the field', () => {
    const issue = (input: unknown) => {
      const r = BasemapConfig.safeParse(input);
      return r.success ? 'valid' : `${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`;
    };
    expect(issue({ bases: [{ id: 'a', name: 'A', layers: [{ type: 'xyz', url: 'https://tiles.example/{z}/{x}.png' }] }] })).toBe('bases.0.layers.0.url: an XYZ template needs {z}, {x} and {y}');
    expect(issue({ bases: [{ id: 'a', name: 'A', layers: [{ type: 'xyz', url: 'file:///etc/{z}/{x}/{y}' }] }] })).toMatch(/^bases\.0\.layers\.0\.url: must be an http\(s\) URL/);
    expect(issue({ bases: [{ id: 'a', name: 'A', crs: 'bd09', layers: [{ type: 'xyz', url: 'https://t/{z}/{x}/{y}' }] }] })).toMatch(/^bases\.0\.crs/);
    expect(issue({ bases: [{ id: 'a', name: 'A', layers: [{ type: 'wmts', url: 'https://t/wmts' }] }] })).toMatch(/^bases\.0\.layers\.0\.layer/);
    expect(issue({ bases: [], minZoom: 3 })).toMatch(/^bases/);
    expect(issue({ ...TIANDITU, minZoom: 18, maxZoom: 10 })).toBe('minZoom: must not be above maxZoom');
    expect(issue({ bases: [TIANDITU.bases[0], TIANDITU.bases[0]] })).toBe('bases: base map ids must be unique');
    expect(issue({ bases: [{ id: 'a', name: 'A', layers: [{ type: 'xyz', url: 'https://t{s}/{z}/{x}/{y}', subdomains: ['a/b'] }] }] })).toMatch(/subdomains/);
  });

  it('takes STREETWATCH_MAP_TILES as one XYZ layer in WGS-84', () => {
    const map = resolveBasemap(basemapFromTemplate('https://{s}.tile.example.org/{z}/{x}/{y}.png', '© contributors'));
    expect(map.bases).toEqual([
      { id: 'tiles', name: 'Map', crs: 'wgs84', layers: [{ url: 'https://{s}.tile.example.org/{z}/{x}/{y}.png', subdomains: ['a', 'b', 'c'], attribution: '© contributors', opacity: 1, minZoom: 3, maxZoom: 18 }] },
    ]);
    expect(tileOrigins(map)).toEqual(['https://a.tile.example.org', 'https://b.tile.example.org', 'https://c.tile.example.org']);
    expect(tileOrigins(null)).toEqual([]);
  });
});
