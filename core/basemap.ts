/**
 * The console's base map: the tile services a city draws its map on (city.yaml `basemap`), or
 * none, and then the console draws the city's GeoJSON alone, offline. Each choice of base map
 * is a stack of tile layers (Tianditu's image layer with its annotation layer on top, say) in
 * one coordinate system: tiles of a GCJ-02 service (most commercial Chinese maps) are offset
 * from WGS-84, so the console shifts what it draws onto them; the stored data stays WGS-84.
 *
 * Every layer is resolved here into one URL template with `{z}`, `{x}`, `{y}` (and `{s}` for
 * subdomains), so the console and the content security policy need to know nothing of WMTS.
 */
import { z } from 'zod';

/** The coordinate systems of tile services: WGS-84 (OpenStreetMap, Tianditu's CGCS2000, close enough at city scale) or GCJ-02. */
export const TILE_CRS = ['wgs84', 'gcj02'] as const;
export type TileCrs = (typeof TILE_CRS)[number];

/** Zoom levels of Web Mercator tile pyramids. */
const Zoom = z.number().int().min(0).max(22);
/** The zoom range when the city gives none: a city's streets at 18, a whole district at 10. */
export const DEFAULT_MIN_ZOOM = 3;
export const DEFAULT_MAX_ZOOM = 18;
/** Most subdomains a layer spreads its requests over (Tianditu uses t0–t7). */
const MAX_SUBDOMAINS = 16;

const Subdomain = z.string().regex(/^[A-Za-z0-9-]{1,32}$/, 'must be letters, digits or "-"');
/** `["0", "1"]`, or a string of one-character subdomains as Leaflet takes it (`"01234567"`). */
const Subdomains = z.union([z.array(Subdomain).min(1).max(MAX_SUBDOMAINS), z.string().regex(/^[A-Za-z0-9]{1,16}$/).transform((s) => [...s])]);

/** The placeholders an XYZ template may use; WMTS adds its own (resolved away below). */
const XYZ_PLACEHOLDERS = ['{z}', '{x}', '{y}'];
const WMTS_REST_PLACEHOLDERS = ['{TileMatrix}', '{TileRow}', '{TileCol}'];

/** An http(s) URL once its placeholders are filled in. */
function isHttpTemplate(url: string): boolean {
  try {
    const u = new URL(url.replace(/\{s\}/g, 'a').replace(/\{[A-Za-z]+\}/g, '0'));
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

const TemplateUrl = z.string().max(2048).refine(isHttpTemplate, 'must be an http(s) URL (placeholders such as {z} allowed)');

const LayerCommon = {
  subdomains: Subdomains.optional(),
  attribution: z.string().max(512).optional(),
  opacity: z.number().min(0).max(1).default(1),
  minZoom: Zoom.optional(),
  maxZoom: Zoom.optional(),
};

/** An XYZ ("slippy map") layer: `https://t{s}.example/{z}/{x}/{y}.png`. */
const XyzLayer = z.strictObject({
  type: z.literal('xyz'),
  url: TemplateUrl.refine((u) => XYZ_PLACEHOLDERS.every((p) => u.includes(p)), 'an XYZ template needs {z}, {x} and {y}'),
  ...LayerCommon,
});

/**
 * An OGC WMTS layer on a Web Mercator tile matrix set (GoogleMapsCompatible, Tianditu's `w`),
 * whose matrices are named by zoom level (optionally with a prefix such as `EPSG:3857:`).
 * Either the RESTful template (`{TileMatrix}`, `{TileRow}`, `{TileCol}`) or the KVP endpoint,
 * to which the GetTile parameters are added (OGC 07-057r7, section 7.2.2.1).
 */
const WmtsLayer = z.strictObject({
  type: z.literal('wmts'),
  url: TemplateUrl,
  layer: z.string().min(1).max(128),
  style: z.string().min(1).max(128).default('default'),
  tileMatrixSet: z.string().min(1).max(128),
  format: z.string().min(1).max(64).default('image/png'),
  tileMatrixPrefix: z.string().max(64).default(''),
  ...LayerCommon,
});

export const TileLayerConfig = z.discriminatedUnion('type', [XyzLayer, WmtsLayer]);
export type TileLayerConfig = z.infer<typeof TileLayerConfig>;

/** One base map the operator can choose: its layers, bottom first, in one coordinate system. */
const BaseConfig = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must match ^[a-z][a-z0-9_-]{0,31}$'),
  name: z.string().min(1).max(64),
  crs: z.enum(TILE_CRS).default('wgs84'),
  layers: z.array(TileLayerConfig).min(1).max(4),
});

/** city.yaml `basemap`. */
export const BasemapConfig = z
  .strictObject({
    /** The choices, the first shown by default. */
    bases: z
      .array(BaseConfig)
      .min(1)
      .max(8)
      .refine((bs) => new Set(bs.map((b) => b.id)).size === bs.length, 'base map ids must be unique'),
    minZoom: Zoom.default(DEFAULT_MIN_ZOOM),
    maxZoom: Zoom.default(DEFAULT_MAX_ZOOM),
  })
  .refine((b) => b.minZoom <= b.maxZoom, { path: ['minZoom'], message: 'must not be above maxZoom' });
export type BasemapConfig = z.infer<typeof BasemapConfig>;

/** A layer as the console draws it: a Leaflet URL template and its options. */
export const ResolvedTileLayer = z.object({
  /** `{z}`, `{x}`, `{y}` and, when `subdomains` is set, `{s}`. */
  url: z.string(),
  subdomains: z.array(z.string()),
  attribution: z.string().nullable(),
  opacity: z.number(),
  minZoom: z.number().int(),
  maxZoom: z.number().int(),
});
export type ResolvedTileLayer = z.infer<typeof ResolvedTileLayer>;

export const ResolvedBase = z.object({ id: z.string(), name: z.string(), crs: z.enum(TILE_CRS), layers: z.array(ResolvedTileLayer) });
export type ResolvedBase = z.infer<typeof ResolvedBase>;

/** What `GET /api/console/config` sends as `map`. */
export const ResolvedBasemap = z.object({ bases: z.array(ResolvedBase), minZoom: z.number().int(), maxZoom: z.number().int() });
export type ResolvedBasemap = z.infer<typeof ResolvedBasemap>;

/** A layer's URL template with only XYZ placeholders. */
export function layerTemplate(layer: TileLayerConfig): string {
  if (layer.type === 'xyz') return layer.url;
  const matrix = `${layer.tileMatrixPrefix}{z}`;
  if (WMTS_REST_PLACEHOLDERS.some((p) => layer.url.includes(p))) {
    return layer.url
      .replaceAll('{TileMatrix}', matrix)
      .replaceAll('{TileRow}', '{y}')
      .replaceAll('{TileCol}', '{x}')
      .replaceAll('{Style}', encodeURIComponent(layer.style))
      .replaceAll('{TileMatrixSet}', encodeURIComponent(layer.tileMatrixSet))
      .replaceAll('{Layer}', encodeURIComponent(layer.layer));
  }
  const params = [
    ['SERVICE', 'WMTS'],
    ['REQUEST', 'GetTile'],
    ['VERSION', '1.0.0'],
    ['LAYER', layer.layer],
    ['STYLE', layer.style],
    ['TILEMATRIXSET', layer.tileMatrixSet],
    ['FORMAT', layer.format],
  ]
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
    .join('&');
  const sep = layer.url.includes('?') ? (/[?&]$/.test(layer.url) ? '' : '&') : '?';
  // The matrix prefix is encoded; the placeholders stay literal for Leaflet to fill in.
  return `${layer.url}${sep}${params}&TILEMATRIX=${encodeURIComponent(layer.tileMatrixPrefix)}{z}&TILEROW={y}&TILECOL={x}`;
}

export function resolveBasemap(config: BasemapConfig): ResolvedBasemap {
  return {
    minZoom: config.minZoom,
    maxZoom: config.maxZoom,
    bases: config.bases.map((b) => ({
      id: b.id,
      name: b.name,
      crs: b.crs,
      layers: b.layers.map((l) => ({
        url: layerTemplate(l),
        subdomains: l.subdomains ?? (l.url.includes('{s}') ? ['a', 'b', 'c'] : []),
        attribution: l.attribution ?? null,
        opacity: l.opacity,
        minZoom: Math.max(config.minZoom, l.minZoom ?? config.minZoom),
        maxZoom: Math.min(config.maxZoom, l.maxZoom ?? config.maxZoom),
      })),
    })),
  };
}

/**
 * `STREETWATCH_MAP_TILES` (and `STREETWATCH_MAP_ATTRIBUTION`): one XYZ layer in WGS-84, for a
 * deployment that points the console at its own tile mirror without editing the city.
 */
export function basemapFromTemplate(url: string, attribution: string | undefined): BasemapConfig {
  return BasemapConfig.parse({ bases: [{ id: 'tiles', name: 'Map', layers: [{ type: 'xyz', url, ...(attribution ? { attribution } : {}) }] }] });
}

/** Every origin the tiles come from, subdomains expanded: what the console's CSP allows for images. */
export function tileOrigins(map: ResolvedBasemap | null): string[] {
  if (!map) return [];
  const origins = new Set<string>();
  for (const layer of map.bases.flatMap((b) => b.layers)) {
    for (const s of layer.subdomains.length > 0 ? layer.subdomains : ['']) {
      origins.add(new URL(layer.url.replaceAll('{s}', s).replace(/\{[A-Za-z]+\}/g, '0')).origin);
    }
  }
  return [...origins].sort();
}
