/**
 * The city on a Leaflet map: jurisdictions, risk zones, devices, open tickets and (on a ticket's
 * page) the alerts merged into one ticket, drawn from the server's GeoJSON as vectors, so the
 * map works with no internet. When the city configures base maps (core/basemap.ts) the operator
 * picks one of them or the schematic; on a GCJ-02 base everything is shifted onto its grid
 * (projection.ts).
 *
 * Every label is built with textContent: names come from configuration and devices, and
 * Leaflet would otherwise insert tooltip strings as HTML.
 */
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ResolvedBasemap, TileCrs } from '../../../core/basemap.js';
import type { DeviceView, Grade, Location, Ticket } from '../../../core/schemas.js';
import type { Area, SubcenterProps, ZoneProps } from '../api.js';
import { baseLayer } from '../basemap.js';
import { useI18n, type I18n } from '../i18n.js';
import { projector, type Projector } from '../projection.js';
import { isOverdue } from '../tickets.js';

export const GRADE_COLORS: Record<Grade, string> = { A: '#b71c1c', B: '#c84500', C: '#f9a825', D: '#1565c0' };
const RISK_COLORS = { high: '#d32f2f', medium: '#f57c00', low: '#fbc02d' } as const;
const DEVICE_COLORS = { online: '#2e7d32', offline: '#616161', unknown: '#9e9e9e' } as const;
const OVERDUE_RING = '#d50000';
const ALERT_COLORS = { firing: '#c62828', resolved: '#2e7d32' } as const;

/** A device on the map: what the device list and the wall's health summary both give. */
export type MapDevice = Pick<DeviceView, 'id' | 'kind' | 'status' | 'location'>;

/** One alert of a ticket, at its device. */
export interface AlertPoint {
  key: string;
  label: string;
  firing: boolean;
  location: Location;
}

export interface CityMapProps {
  subcenters: Area<SubcenterProps>;
  zones: Area<ZoneProps>;
  devices: MapDevice[];
  tickets: Ticket[];
  now: number;
  /** The operator's own jurisdiction, outlined and framed; the whole city otherwise. */
  ownSubcenter?: string | undefined;
  /** A ticket to center on and open. */
  focusTicket?: string | null;
  basemap: ResolvedBasemap | null;
  label: string;
  /** `wall`: large marks for a screen read from across the room; `inset`: a small map inside a page. */
  variant?: 'page' | 'wall' | 'inset';
  /** A ticket's alerts at their devices; the map frames them instead of the jurisdiction. */
  alerts?: AlertPoint[];
}

function text(tag: string, content: string, className?: string): HTMLElement {
  const el = document.createElement(tag);
  el.textContent = content;
  if (className) el.className = className;
  return el;
}

function ticketPopup(t: Ticket, i18n: I18n, now: number): HTMLElement {
  const box = document.createElement('div');
  box.className = 'map-popup';
  box.append(text('strong', t.title), text('div', `${i18n.t('gradeLabel', { g: t.grade })} · ${i18n.term('status', t.status)}${isOverdue(t, now) ? ` · ${i18n.t('overdue')}` : ''}`));
  const link = text('a', i18n.t('mapOpenTicket')) as HTMLAnchorElement;
  link.href = `#/tickets/${encodeURIComponent(t.id)}`;
  box.append(link);
  return box;
}

interface Layers {
  jurisdictions: L.LayerGroup;
  zones: L.LayerGroup;
  devices: L.LayerGroup;
  tickets: L.LayerGroup;
  alerts: L.LayerGroup;
}

export function CityMap(p: CityMapProps) {
  const i18n = useI18n();
  const { t } = i18n;
  const variant = p.variant ?? 'page';
  const scale = variant === 'wall' ? 1.6 : 1;
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map>();
  const layers = useRef<Layers>();
  const ticketMarkers = useRef(new Map<string, L.CircleMarker>());
  const framed = useRef(false);
  const alertsFramed = useRef(false);
  /** What the map frames: the own jurisdiction, or the whole city. */
  const home = useRef<L.LatLngBounds>();
  /** The coordinate system of the base map on screen; null for the schematic. */
  const [crs, setCrs] = useState<TileCrs | null>(p.basemap?.bases[0]?.crs ?? null);
  const project: Projector = projector(crs);
  const toLatLng = (loc: Location): L.LatLngExpression => project(loc.lat, loc.lon);

  // The map, its base maps and its legend: once per language (labels and legend are words).
  useEffect(() => {
    const m = L.map(el.current!, {
      zoomSnap: 0.25,
      attributionControl: Boolean(p.basemap),
      ...(p.basemap ? { minZoom: p.basemap.minZoom, maxZoom: p.basemap.maxZoom } : {}),
      // A wall is watched, not handled: no zoom buttons to read as clutter from across the room.
      zoomControl: variant !== 'wall',
    });
    map.current = m;
    framed.current = false;
    alertsFramed.current = false;

    // Tickets above areas, alerts and devices above tickets (a device dot shows inside its ticket's circle).
    m.createPane('sw-tickets').style.zIndex = '450';
    m.createPane('sw-alerts').style.zIndex = '455';
    m.createPane('sw-devices').style.zIndex = '460';
    const groups: Layers = { jurisdictions: L.layerGroup(), zones: L.layerGroup(), devices: L.layerGroup(), tickets: L.layerGroup(), alerts: L.layerGroup() };
    for (const g of Object.values(groups)) g.addTo(m);
    layers.current = groups;

    const bases: Record<string, L.Layer> = {};
    const crsOf = new Map<L.Layer, TileCrs | null>();
    for (const b of p.basemap?.bases ?? []) {
      const layer = baseLayer(b);
      bases[b.name] = layer;
      crsOf.set(layer, b.crs);
    }
    const schematic = L.layerGroup();
    crsOf.set(schematic, null);
    if (p.basemap) bases[t('mapSchematic')] = schematic;
    const first = Object.values(bases)[0];
    if (first) first.addTo(m);
    setCrs(first ? (crsOf.get(first) ?? null) : null);
    m.on('baselayerchange', (e: L.LayersControlEvent) => setCrs(crsOf.get(e.layer) ?? null));

    const overlays = { [t('mapJurisdictions')]: groups.jurisdictions, [t('mapZones')]: groups.zones, [t('mapDevices')]: groups.devices, [t('mapTickets')]: groups.tickets };
    if (variant !== 'wall') L.control.layers(p.basemap ? bases : undefined, overlays, { collapsed: variant === 'inset' }).addTo(m);

    if (variant !== 'inset') {
      const legend = new L.Control({ position: 'bottomright' });
      legend.onAdd = () => {
        const box = document.createElement('div');
        box.className = 'map-legend';
        box.append(text('strong', t('mapLegend')));
        const row = (swatch: string, label: string, shape: 'dot' | 'box' | 'ring'): void => {
          const line = document.createElement('div');
          const mark = document.createElement('span');
          mark.className = `legend-${shape}`;
          mark.style.setProperty('--swatch', swatch);
          line.append(mark, text('span', label));
          box.append(line);
        };
        for (const g of ['A', 'B', 'C', 'D'] as const) row(GRADE_COLORS[g], t('gradeLabel', { g }), 'dot');
        row(OVERDUE_RING, t('overdue'), 'ring');
        row(DEVICE_COLORS.online, `${t('mapDevices')} · ${t('statusOnline')}`, 'dot');
        row(DEVICE_COLORS.offline, `${t('mapDevices')} · ${t('statusOffline')}`, 'dot');
        if (variant !== 'wall') row(DEVICE_COLORS.unknown, `${t('mapDevices')} · ${t('statusUnknown')}`, 'dot');
        row(RISK_COLORS.high, t('riskHigh'), 'box');
        row(RISK_COLORS.medium, t('riskMedium'), 'box');
        row(RISK_COLORS.low, t('riskLow'), 'box');
        if (!p.basemap) box.append(text('p', t('mapNoTiles'), 'muted'));
        return box;
      };
      legend.addTo(m);
    }
    m.getContainer().setAttribute('aria-label', p.label);
    m.setView([0, 0], 2);
    // The page around the map changes (a banner comes and goes): Leaflet must know its new size,
    // and a wall keeps the whole district in view.
    const resize = new ResizeObserver(() => {
      m.invalidateSize();
      if (variant === 'wall' && home.current?.isValid()) m.fitBounds(home.current, { padding: [16, 16] });
    });
    resize.observe(el.current!);

    return () => {
      resize.disconnect();
      m.remove();
      map.current = undefined;
      layers.current = undefined;
      ticketMarkers.current.clear();
    };
  }, [i18n.lang, p.basemap, p.ownSubcenter, variant]);

  // Jurisdictions and risk zones, on the grid of the base map in view.
  useEffect(() => {
    const g = layers.current;
    const m = map.current;
    if (!g || !m) return;
    g.jurisdictions.clearLayers();
    g.zones.clearLayers();
    const own = p.ownSubcenter;
    let ownLayer: L.Polygon | undefined;
    const coordsToLatLng = (c: number[]): L.LatLng => L.latLng(project(c[1]!, c[0]!));
    const jurisdictionLayer = L.geoJSON(p.subcenters, {
      coordsToLatLng,
      style: (f) => ({
        color: '#0d3b66',
        weight: f?.properties.id === own ? 4 : 1.5 * scale,
        fillColor: f?.properties.id === own ? '#cfe3f7' : '#e8eef5',
        // Over a base map, let the streets show through.
        fillOpacity: crs === null && !p.basemap ? 0.55 : 0.15,
      }),
      onEachFeature: (f: GeoJSON.Feature<GeoJSON.Geometry, SubcenterProps>, layer) => {
        if (f.properties.id === own) ownLayer = layer as L.Polygon;
        layer.bindTooltip(text('span', f.properties.name), { permanent: true, direction: 'center', className: 'jurisdiction-label' });
      },
    }).addTo(g.jurisdictions);

    L.geoJSON(p.zones, {
      coordsToLatLng,
      style: (f) => {
        const color = RISK_COLORS[(f?.properties as ZoneProps | undefined)?.risk ?? 'low'];
        return { color, weight: 1.5 * scale, dashArray: '4 3', fillColor: color, fillOpacity: 0.3 };
      },
      onEachFeature: (f: GeoJSON.Feature<GeoJSON.Geometry, ZoneProps>, layer) => {
        const risk = f.properties.risk === 'high' ? t('riskHigh') : f.properties.risk === 'medium' ? t('riskMedium') : t('riskLow');
        layer.bindTooltip(text('span', `${f.properties.name} · ${i18n.term('zoneKind', f.properties.kind)} · ${risk}`));
      },
    }).addTo(g.zones);

    const bounds = ownLayer ? ownLayer.getBounds() : jurisdictionLayer.getBounds();
    home.current = bounds;
    if (framed.current) return;
    framed.current = true;
    if (bounds.isValid()) m.fitBounds(bounds, { padding: [16, 16] });
  }, [p.subcenters, p.zones, crs, i18n.lang, p.basemap, p.ownSubcenter, variant]);

  // Devices: redrawn as their status changes.
  useEffect(() => {
    const group = layers.current?.devices;
    if (!group) return;
    group.clearLayers();
    for (const d of p.devices) {
      if (!d.location) continue;
      const status = d.status === 'online' ? t('statusOnline') : d.status === 'offline' ? t('statusOffline') : t('statusUnknown');
      L.circleMarker(toLatLng(d.location), { pane: 'sw-devices', radius: 5 * scale, color: '#ffffff', weight: 1, fillColor: DEVICE_COLORS[d.status], fillOpacity: 1 })
        .bindTooltip(text('span', `${d.id} · ${d.kind} · ${status}`))
        .addTo(group);
    }
  }, [p.devices, i18n.lang, crs, variant, p.basemap, p.ownSubcenter]);

  // Open tickets: on top of everything, in their grade's colour, ringed red when overdue.
  useEffect(() => {
    const group = layers.current?.tickets;
    if (!group) return;
    group.clearLayers();
    ticketMarkers.current.clear();
    for (const tk of p.tickets) {
      if (!tk.location || tk.status === 'closed') continue;
      const overdue = isOverdue(tk, p.now);
      const marker = L.circleMarker(toLatLng(tk.location), {
        pane: 'sw-tickets',
        radius: 11 * scale,
        color: overdue ? OVERDUE_RING : '#ffffff',
        weight: (overdue ? 4 : 2) * scale,
        fillColor: GRADE_COLORS[tk.grade],
        fillOpacity: 0.95,
        className: `sw-ticket sw-ticket-${tk.grade}${overdue ? ' sw-ticket-overdue' : ''}`,
      })
        .bindTooltip(text('span', `${tk.grade} · ${tk.title}`), variant === 'wall' ? { permanent: tk.grade === 'A' || overdue, className: 'wall-ticket-label' } : {})
        .bindPopup(() => ticketPopup(tk, i18n, p.now))
        .addTo(group);
      ticketMarkers.current.set(tk.id, marker);
    }
    // Minute resolution is enough for the red ring; avoids redrawing every second.
  }, [p.tickets.map((tk) => `${tk.id}:${tk.version}`).join('|'), Math.floor(p.now / 60_000), i18n.lang, crs, variant, p.basemap, p.ownSubcenter]);

  // A ticket's alerts, each at its device: red while firing, green once back to normal.
  useEffect(() => {
    const group = layers.current?.alerts;
    if (!group) return;
    group.clearLayers();
    for (const a of p.alerts ?? []) {
      L.circleMarker(toLatLng(a.location), {
        pane: 'sw-alerts',
        radius: 7,
        color: '#ffffff',
        weight: 2,
        fillColor: a.firing ? ALERT_COLORS.firing : ALERT_COLORS.resolved,
        fillOpacity: 1,
        className: `sw-alert ${a.firing ? 'sw-alert-firing' : 'sw-alert-resolved'}`,
      })
        .bindTooltip(text('span', a.label), { permanent: true, direction: 'right', className: 'alert-label' })
        .addTo(group);
    }
    // A ticket's page frames its alerts, once they are known.
    const m = map.current;
    if (m && p.alerts?.length && !alertsFramed.current) {
      alertsFramed.current = true;
      const bounds = L.latLngBounds(p.alerts.map((a) => toLatLng(a.location)));
      m.setView(bounds.getCenter(), Math.min(16, p.basemap?.maxZoom ?? 16));
      if (p.alerts.length > 1) m.fitBounds(bounds, { padding: [40, 40], maxZoom: 16 });
    }
  }, [p.alerts?.map((a) => `${a.key}:${a.firing}:${a.location.lat},${a.location.lon}`).join('|'), crs, i18n.lang, variant, p.basemap, p.ownSubcenter]);

  useEffect(() => {
    if (!p.focusTicket || !map.current) return;
    const marker = ticketMarkers.current.get(p.focusTicket);
    if (!marker) return;
    map.current.setView(marker.getLatLng(), Math.max(map.current.getZoom(), 15));
    marker.openPopup();
  }, [p.focusTicket, p.tickets.length > 0]);

  return <div class={`city-map city-map-${variant}`} ref={el} role="region" aria-label={p.label} data-crs={crs ?? 'schematic'} />;
}
