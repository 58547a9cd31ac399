/**
 * The wall view (指挥大屏, `/#/wall`): the district map with the open tickets by grade and
 * overdue state, the day's counts and timeliness rates, device health and the latest alerts,
 * and the alarms, on a screen read from across the room. Opened with a display token it needs no
 * sign-in and can do nothing but read. It never gives up: while the platform restarts or the
 * network is away it keeps the last figures on screen, says since when, and catches up when the
 * connection is back (live.ts reconnects the stream, the polls retry).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Kpis } from '../../../core/tickets/kpis.js';
import { activeAlarms } from '../alarms.js';
import { ApiClient, ApiError, type Area, type ConsoleConfig, type DeviceHealth, type SubcenterProps, type ZoneProps } from '../api.js';
import { AlarmBanner } from '../components/alarm-banner.js';
import { CityMap } from '../components/city-map.js';
import { metricLabel } from '../components/device-readings.js';
import { TicketFeed } from '../feed.js';
import { formatPercent } from '../format.js';
import { useFeed, useNow } from '../hooks.js';
import { useI18n, type Lang, type MessageKey } from '../i18n.js';
import type { LiveState } from '../live.js';
import { GRADES } from '../tickets.js';
import { dayCounts, latestAlerts, startOfDay } from '../wall-data.js';

/** How often the wall asks again for what the event stream does not carry. */
export const WALL_POLL_MS = 15_000;
/** Retry interval while the platform cannot be reached at start. */
const WALL_RETRY_MS = 3_000;
/** Alerts listed on the wall. */
const WALL_ALERTS = 8;
/** Alarms listed in the wall's banner, side by side; the rest are counted. */
const WALL_ALARMS = 4;

interface WallCity {
  client: ApiClient;
  config: ConsoleConfig;
  subcenters: Area<SubcenterProps>;
  zones: Area<ZoneProps>;
  feed: TicketFeed;
}

export interface WallProps {
  token: string;
  lang: Lang;
  setLang: (l: Lang) => void;
  /** The server refused the token (revoked): the page says so instead of retrying forever. */
  onRefused: () => void;
}

export function WallPage({ token, lang, setLang, onRefused }: WallProps) {
  const { t } = useI18n();
  const [city, setCity] = useState<WallCity>();
  const [refused, setRefused] = useState(false);

  // Loads the city, again and again until the platform answers.
  useEffect(() => {
    let stopped = false;
    let feed: TicketFeed | undefined;
    const refuse = (): void => {
      stopped = true;
      feed?.stop();
      setRefused(true);
      onRefused();
    };
    const client = new ApiClient(token, refuse);
    const load = async (): Promise<void> => {
      while (!stopped) {
        try {
          const [config, subcenters, zones] = await Promise.all([client.config(), client.subcenters(), client.zones()]);
          if (stopped) return;
          const p = config.principal;
          const unitId = p.role === 'unit' ? p.unitId : p.role === 'display' ? (p.scope ?? undefined) : undefined;
          feed = new TicketFeed(client, refuse, { unitId, supervision: p.role !== 'display' });
          feed.start();
          setCity({ client, config, subcenters, zones, feed });
          return;
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) return;
          await new Promise((r) => setTimeout(r, WALL_RETRY_MS));
        }
      }
    };
    void load();
    return () => {
      stopped = true;
      feed?.stop();
    };
  }, [token]);

  if (refused) {
    return (
      <main id="main" class="wall wall-message">
        <p role="alert">{t('wallTokenRefused')}</p>
      </main>
    );
  }
  if (!city) {
    return (
      <main id="main" class="wall wall-message">
        <p role="status">{t('wallConnecting')}</p>
      </main>
    );
  }
  return <Wall city={city} lang={lang} setLang={setLang} />;
}

/** The last good answer of a poll, and whether the latest attempt failed. */
function usePoll<T>(fetch: () => Promise<T>, ms: number, deps: unknown[]): { value: T | undefined; at: number | undefined; failing: boolean } {
  const [state, setState] = useState<{ value: T | undefined; at: number | undefined; failing: boolean }>({ value: undefined, at: undefined, failing: false });
  useEffect(() => {
    let stopped = false;
    const run = (): void => {
      fetch().then(
        (value) => !stopped && setState({ value, at: Date.now(), failing: false }),
        () => !stopped && setState((s) => ({ ...s, failing: true })),
      );
    };
    run();
    const timer = setInterval(run, ms);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, deps);
  return state;
}

const LIVE_LABEL: Record<LiveState, MessageKey> = { connecting: 'liveConnecting', stream: 'liveStream', polling: 'livePolling', offline: 'liveOffline' };

function Wall({ city, lang, setLang }: { city: WallCity; lang: Lang; setLang: (l: Lang) => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const feed = useFeed(city.feed);
  const now = useNow(1_000);
  const day = startOfDay(now);
  const tickets = feed.list();
  const counts = dayCounts(tickets, now);
  const p = city.config.principal;
  const scope = p.role === 'unit' ? p.unitId : p.role === 'display' ? (p.scope ?? undefined) : undefined;
  // Rates and device health are not on the stream: polled, and asked again when the stream reconnects.
  const kpis = usePoll<Kpis>(() => city.client.kpis({ from: day }), WALL_POLL_MS, [city.client, day, feed.state === 'stream']);
  // A new ticket often means a device changed too: ask again then.
  const health = usePoll<DeviceHealth>(() => city.client.deviceHealth(), WALL_POLL_MS, [city.client, feed.state === 'stream', tickets.length]);
  const alarms = activeAlarms(tickets, feed.orders(), { unitId: scope, supervision: p.role !== 'display' });
  const alerts = latestAlerts(tickets, WALL_ALERTS);
  const lastGood = useRef(now);
  const live = feed.state === 'stream' || feed.state === 'polling';
  if (live && !feed.error) lastGood.current = now;
  const stale = !live || feed.error !== undefined || kpis.failing || health.failing;
  const subcenterNames = useMemo(() => {
    const names = new Map(city.subcenters.features.map((f) => [f.properties.id, f.properties.name]));
    names.set(city.config.city.district.id, city.config.city.district.name);
    return names;
  }, [city]);
  const offline = (health.value?.offline ?? []).map((d) => ({ ...d, status: 'offline' as const }));
  const devices = health.value?.byStatus;

  useEffect(() => {
    document.title = `${t('wallTitle')} · ${city.config.city.name}`;
  }, [lang, city]);

  return (
    <div class={`wall ${stale ? 'wall-stale' : ''}`}>
      <header class="wall-header">
        <h1>
          <span class="wall-city">{scope ? (subcenterNames.get(scope) ?? scope) : city.config.city.name}</span>
          <span class="wall-name">{t('wallTitle')}</span>
        </h1>
        <div class="wall-status">
          <span class={`live live-${feed.state}`} role="status" data-live={feed.state}>
            <span class="dot" aria-hidden="true" />
            {stale ? t('wallStale', { time: new Date(lastGood.current).toLocaleTimeString(lang, { hour12: false }) }) : t(LIVE_LABEL[feed.state])}
          </span>
          <time class="wall-clock" dateTime={new Date(now).toISOString()} aria-label={t('wallClock')}>
            {new Date(now).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })}
          </time>
          <button type="button" class="on-dark" onClick={() => void document.documentElement.requestFullscreen?.().catch(() => undefined)}>
            {t('wallFullscreen')}
          </button>
          <button type="button" class="on-dark" lang={lang === 'en' ? 'zh-CN' : 'en'} aria-label={t('switchLanguageLabel')} onClick={() => setLang(lang === 'en' ? 'zh-CN' : 'en')}>
            {t('switchLanguage')}
          </button>
        </div>
      </header>
      <AlarmBanner alarms={alarms} links={false} max={WALL_ALARMS} />
      <main id="main" class="wall-body" tabIndex={-1}>
        <section class="wall-map" aria-label={t('wallMap')}>
          <CityMap
            subcenters={city.subcenters}
            zones={city.zones}
            devices={offline}
            tickets={tickets}
            now={now}
            ownSubcenter={scope}
            basemap={city.config.map}
            label={`${t('wallMap')}: ${city.config.city.name}`}
            variant="wall"
          />
        </section>
        <div class="wall-side">
          <section class="wall-panel" aria-labelledby="wall-today-h">
            <h2 id="wall-today-h">{t('wallToday')}</h2>
            <dl class="wall-tiles">
              <Tile label={t('wallOpen')} value={counts.open} id="open" />
              <Tile label={t('wallOverdue')} value={counts.overdue} id="overdue" alert={counts.overdue > 0} />
              <Tile label={t('wallNewToday')} value={counts.newToday} id="new-today" />
              <Tile label={t('wallClosedToday')} value={counts.closedToday} id="closed-today" />
              <Tile label={t('wallResponseRate')} value={formatPercent(kpis.value?.response.rate ?? null)} id="response-rate" />
              <Tile label={t('wallHandlingRate')} value={formatPercent(kpis.value?.handling.rate ?? null)} id="handling-rate" />
            </dl>
          </section>
          <section class="wall-panel" aria-labelledby="wall-grade-h">
            <h2 id="wall-grade-h">{t('wallByGrade')}</h2>
            <dl class="wall-grades">
              {GRADES.map((g) => (
                <div key={g} class={`wall-grade grade-${g}`} data-grade={g}>
                  <dt>{t('gradeLabel', { g })}</dt>
                  <dd>{counts.byGrade[g]}</dd>
                </div>
              ))}
            </dl>
          </section>
          <section class="wall-panel" aria-labelledby="wall-devices-h">
            <h2 id="wall-devices-h">{t('wallDevices')}</h2>
            <dl class="wall-devices">
              <div class="device-online" data-status="online">
                <dt>{t('wallDevicesOnline')}</dt>
                <dd>{devices?.online ?? '—'}</dd>
              </div>
              <div class={`device-offline ${devices && devices.offline > 0 ? 'wall-alert' : ''}`} data-status="offline">
                <dt>{t('wallDevicesOffline')}</dt>
                <dd>{devices?.offline ?? '—'}</dd>
              </div>
              <div class="device-unknown" data-status="unknown">
                <dt>{t('wallDevicesUnknown')}</dt>
                <dd>{devices?.unknown ?? '—'}</dd>
              </div>
            </dl>
            {health.value && health.value.total > 0 && (
              <div class="wall-health-bar" aria-hidden="true">
                <span class="bar-online" style={{ flexGrow: health.value.byStatus.online }} />
                <span class="bar-offline" style={{ flexGrow: health.value.byStatus.offline }} />
                <span class="bar-unknown" style={{ flexGrow: health.value.byStatus.unknown }} />
              </div>
            )}
          </section>
          <section class="wall-panel wall-alerts" aria-labelledby="wall-alerts-h">
            <h2 id="wall-alerts-h">{t('wallLatestAlerts')}</h2>
            {alerts.length === 0 ? (
              <p class="wall-empty">{t('wallNoAlerts')}</p>
            ) : (
              <ol>
                {alerts.map((l) => (
                  <li key={`${l.ticketId}/${l.alert.fingerprint}`} class={l.alert.status === 'firing' ? 'firing' : 'cleared'} data-ticket-id={l.ticketId}>
                    <span class={`grade grade-${l.grade}`}>{l.grade}</span>
                    <time dateTime={new Date(l.alert.lastSeen).toISOString()}>{new Date(l.alert.lastSeen).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', hour12: false })}</time>
                    <span class="wall-alert-text">{t('wallAlertLine', { device: l.alert.deviceId, metric: metricLabel(l.alert.metric, i18n), value: l.alert.value })}</span>
                    <span class="wall-alert-unit">{subcenterNames.get(l.subcenterId) ?? l.subcenterId}</span>
                  </li>
                ))}
              </ol>
            )}
          </section>
        </div>
      </main>
    </div>
  );
}

function Tile({ label, value, id, alert }: { label: string; value: number | string; id: string; alert?: boolean }) {
  return (
    <div class={`wall-tile ${alert ? 'wall-alert' : ''}`} data-tile={id}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}
