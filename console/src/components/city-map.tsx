/**
 * The city on a Leaflet map: jurisdictions, risk zones, devices and open tickets, drawn from the
 * server's GeoJSON as vectors, so the map works with no internet. A tile layer is added only
 * when the deployment configures a tile server.
 *
 * Every label is built with textContent: names come from configuration and devices, and
 * Leaflet would otherwise insert tooltip strings as HTML.
 */
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { useEffect, useRef } from 'preact/hooks';
import type { DeviceView, Grade, Ticket } from '../../../core/schemas.js';
import type { Area, SubcenterProps, ZoneProps } from '../api.js';
import { useI18n, type I18n } from '../i18n.js';
import { isOverdue } from '../tickets.js';

export const GRADE_COLORS: Record<Grade, string> = { A: '#b71c1c', B: '#e65100', C: '#f9a825', D: '#1565c0' };
const RISK_COLORS = { high: '#d32f2f', medium: '#f57c00', low: '#fbc02d' } as const;
const DEVICE_COLORS = { online: '#2e7d32', offline: '#616161', unknown: '#9e9e9e' } as const;
const OVERDUE_RING = '#d50000';

export interface CityMapProps {
  subcenters: Area<SubcenterProps>;
  zones: Area<ZoneProps>;
  devices: DeviceView[];
  tickets: Ticket[];
  now: number;
  /** The operator's own jurisdiction, outlined and framed; the whole city otherwise. */
  ownSubcenter?: string | undefined;
  /** A ticket to center on and open. */
  focusTicket?: string | null;
  tileUrl: string | null;
  attribution: string | null;
  label: string;
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

export function CityMap(p: CityMapProps) {
  const i18n = useI18n();
  const { t } = i18n;
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map>();
  const layers = useRef<{ jurisdictions: L.LayerGroup; zones: L.LayerGroup; devices: L.LayerGroup; tickets: L.LayerGroup; control: L.Control.Layers; legend: L.Control }>();
  const ticketMarkers = useRef(new Map<string, L.CircleMarker>());

  // The map and its static layers: once per language (labels and legend are words).
  useEffect(() => {
    const m = L.map(el.current!, { zoomSnap: 0.25, attributionControl: Boolean(p.tileUrl) });
    map.current = m;
    if (p.tileUrl) L.tileLayer(p.tileUrl, { maxZoom: 19, attribution: p.attribution ?? '' }).addTo(m);

    // Tickets above areas, devices above tickets (a device dot shows inside its ticket's circle).
    m.createPane('sw-tickets').style.zIndex = '450';
    m.createPane('sw-devices').style.zIndex = '460';
    const jurisdictions = L.layerGroup().addTo(m);
    const zones = L.layerGroup().addTo(m);
    const devices = L.layerGroup().addTo(m);
    const tickets = L.layerGroup().addTo(m);

    const own = p.ownSubcenter;
    let ownLayer: L.Polygon | undefined;
    const jurisdictionLayer = L.geoJSON(p.subcenters, {
      style: (f) => ({
        color: '#0d3b66',
        weight: f?.properties.id === own ? 4 : 1.5,
        fillColor: f?.properties.id === own ? '#cfe3f7' : '#e8eef5',
        fillOpacity: 0.55,
      }),
      onEachFeature: (f: GeoJSON.Feature<GeoJSON.Geometry, SubcenterProps>, layer) => {
        if (f.properties.id === own) ownLayer = layer as L.Polygon;
        layer.bindTooltip(text('span', f.properties.name), { permanent: true, direction: 'center', className: 'jurisdiction-label' });
      },
    }).addTo(jurisdictions);

    L.geoJSON(p.zones, {
      style: (f) => {
        const color = RISK_COLORS[(f?.properties as ZoneProps | undefined)?.risk ?? 'low'];
        return { color, weight: 1.5, dashArray: '4 3', fillColor: color, fillOpacity: 0.3 };
      },
      onEachFeature: (f: GeoJSON.Feature<GeoJSON.Geometry, ZoneProps>, layer) => {
        const risk = f.properties.risk === 'high' ? t('riskHigh') : f.properties.risk === 'medium' ? t('riskMedium') : t('riskLow');
        layer.bindTooltip(text('span', `${f.properties.name} · ${i18n.term('zoneKind', f.properties.kind)} · ${risk}`));
      },
    }).addTo(zones);

    const control = L.control.layers(undefined, { [t('mapJurisdictions')]: jurisdictions, [t('mapZones')]: zones, [t('mapDevices')]: devices, [t('mapTickets')]: tickets }, { collapsed: false }).addTo(m);

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
      row(DEVICE_COLORS.unknown, `${t('mapDevices')} · ${t('statusUnknown')}`, 'dot');
      row(RISK_COLORS.high, t('riskHigh'), 'box');
      row(RISK_COLORS.medium, t('riskMedium'), 'box');
      row(RISK_COLORS.low, t('riskLow'), 'box');
      if (!p.tileUrl) box.append(text('p', t('mapNoTiles'), 'muted'));
      return box;
    };
    legend.addTo(m);
    layers.current = { jurisdictions, zones, devices, tickets, control, legend };

    const bounds = ownLayer ? ownLayer.getBounds() : jurisdictionLayer.getBounds();
    if (bounds.isValid()) m.fitBounds(bounds, { padding: [16, 16] });
    else m.setView([0, 0], 2);
    m.getContainer().setAttribute('aria-label', p.label);

    return () => {
      m.remove();
      map.current = undefined;
      layers.current = undefined;
      ticketMarkers.current.clear();
    };
  }, [i18n.lang, p.subcenters, p.zones, p.tileUrl, p.ownSubcenter]);

  // Devices: redrawn as their status changes.
  useEffect(() => {
    const group = layers.current?.devices;
    if (!group) return;
    group.clearLayers();
    for (const d of p.devices) {
      if (!d.location) continue;
      const status = d.status === 'online' ? t('statusOnline') : d.status === 'offline' ? t('statusOffline') : t('statusUnknown');
      L.circleMarker([d.location.lat, d.location.lon], { pane: 'sw-devices', radius: 5, color: '#ffffff', weight: 1, fillColor: DEVICE_COLORS[d.status], fillOpacity: 1 })
        .bindTooltip(text('span', `${d.id} · ${d.kind} · ${status}`))
        .addTo(group);
    }
  }, [p.devices, i18n.lang]);

  // Open tickets: on top of everything, in their grade's colour, ringed red when overdue.
  useEffect(() => {
    const group = layers.current?.tickets;
    if (!group) return;
    group.clearLayers();
    ticketMarkers.current.clear();
    for (const tk of p.tickets) {
      if (!tk.location || tk.status === 'closed') continue;
      const overdue = isOverdue(tk, p.now);
      const marker = L.circleMarker([tk.location.lat, tk.location.lon], {
        pane: 'sw-tickets',
        radius: 11,
        color: overdue ? OVERDUE_RING : '#ffffff',
        weight: overdue ? 4 : 2,
        fillColor: GRADE_COLORS[tk.grade],
        fillOpacity: 0.95,
      })
        .bindTooltip(text('span', `${tk.grade} · ${tk.title}`))
        .bindPopup(() => ticketPopup(tk, i18n, p.now))
        .addTo(group);
      ticketMarkers.current.set(tk.id, marker);
    }
    // Minute resolution is enough for the red ring; avoids redrawing every second.
  }, [p.tickets, Math.floor(p.now / 60_000), i18n.lang]);

  useEffect(() => {
    if (!p.focusTicket || !map.current) return;
    const marker = ticketMarkers.current.get(p.focusTicket);
    if (!marker) return;
    map.current.setView(marker.getLatLng(), Math.max(map.current.getZoom(), 15));
    marker.openPopup();
  }, [p.focusTicket, p.tickets.length > 0]);

  return <div class="city-map" ref={el} role="region" aria-label={p.label} />;
}
