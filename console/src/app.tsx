import type { JSX } from 'preact';
import { useContext, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { activeAlarms } from './alarms.js';
import { ApiClient, ApiError } from './api.js';
import { AlarmBanner, AlarmControls, AlarmSoundContext } from './components/alarm-banner.js';
import { AlarmSound } from './alarm-signals.js';
import { TicketFeed } from './feed.js';
import { parseHash, useFeed, useNow, useRoute, type Route } from './hooks.js';
import { I18nContext, makeI18n, savedLang, saveLang, useI18n, type Lang, type MessageKey } from './i18n.js';
import type { LiveState } from './live.js';
import { DevicesPage } from './pages/devices.js';
import { Inbox } from './pages/inbox.js';
import { ConfirmPage } from './pages/confirm.js';
import { ExtensionsPage, ReturnsPage } from './pages/decisions.js';
import { JointPage } from './pages/joint.js';
import { KpiPage } from './pages/kpis.js';
import { ReportPage } from './pages/report.js';
import { Login } from './pages/login.js';
import { MapPage } from './pages/map.js';
import { TicketPage } from './pages/ticket.js';
import { TokensPage } from './pages/tokens.js';
import { WallPage } from './pages/wall.js';
import { SessionContext, storedDisplayToken, storedToken, storeDisplayToken, storeToken, useSession, type Session } from './session.js';
import { isOverdue } from './tickets.js';

/** The city configuration's names for the domain words, for the Chinese interface. */
function cityTerms(session: Session): Map<string, string> {
  const { departments, categories } = session.config;
  return new Map([...Object.entries(departments).map(([id, name]) => [`department.${id}`, name] as const), ...Object.entries(categories).map(([id, name]) => [`category.${id}`, name] as const)]);
}

/** How long a new-ticket notice stays on screen. */
const NOTICE_MS = 10_000;

/** The token the wall view opens with: a display token from its address (kept for restarts), or the one kept before. */
function wallToken(): string | null {
  const route = parseHash(location.hash);
  if (route.segments[0] !== 'wall') return null;
  const fromLink = route.query.get('display');
  if (fromLink) {
    storeDisplayToken(fromLink);
    // Off the address bar and the history: the token stays in this browser's storage only.
    history.replaceState(null, '', `${location.pathname}${location.search}#/wall`);
  }
  return fromLink ?? storedDisplayToken();
}

export function App() {
  const [lang, setLang] = useState<Lang>(savedLang);
  const sound = useMemo(() => new AlarmSound(), []);
  const route = useRoute();
  const [display, setDisplay] = useState(wallToken);
  const [session, setSession] = useState<Session>();
  const i18n = useMemo(() => makeI18n(lang, session && cityTerms(session)), [lang, session]);
  const [restoring, setRestoring] = useState(() => storedToken() !== null);
  const [loginError, setLoginError] = useState<unknown>();
  const current = useRef<Session>();
  current.current = session;

  // Before paint, so the page never shows one language under the other's lang attribute.
  useLayoutEffect(() => saveLang(lang), [lang]);

  const signOut = (error?: unknown): void => {
    current.current?.feed.stop();
    storeToken(null);
    setSession(undefined);
    setLoginError(error);
  };

  /** `restored`: the token comes from this tab's storage, which is not written again (it may have been cleared meanwhile). */
  const signIn = async (token: string, restored = false): Promise<void> => {
    // A token refused later (revoked, rotated) ends the session with the reason on the login form.
    const expire = (): void => signOut(new ApiError(401, 'SW_ERR_UNAUTHORIZED', 'token refused'));
    const client = new ApiClient(token, expire);
    const [config, subcenters, zones] = await Promise.all([client.config(), client.subcenters(), client.zones()]);
    if (config.principal.role === 'display') {
      // A wall screen's token signs in to nothing but the wall.
      storeDisplayToken(token);
      setDisplay(token);
      location.hash = '#/wall';
      return;
    }
    const names = new Map(subcenters.features.map((f) => [f.properties.id, f.properties.name]));
    names.set(config.city.district.id, config.city.district.name);
    for (const u of config.localUnits) names.set(u.id, u.name);
    const zoneNames = new Map(zones.features.map((f) => [f.properties.id, f.properties.name]));
    const unitId = config.principal.role === 'unit' ? config.principal.unitId : undefined;
    const department = config.principal.role === 'department' ? config.principal.department : undefined;
    // A department reads no supervision-order list: it sees its orders on its tickets.
    const feed = new TicketFeed(client, expire, { unitId, supervision: department === undefined });
    feed.start();
    if (!restored) storeToken(token);
    setLoginError(undefined);
    setSession({
      client,
      config,
      principal: config.principal,
      isAdmin: config.principal.role === 'admin',
      unitId,
      department,
      subcenters,
      zones,
      feed,
      subcenterName: (id) => names.get(id) ?? id,
      zoneName: (id) => (id === null ? '' : (zoneNames.get(id) ?? id)),
      signOut: () => signOut(),
    });
  };

  useEffect(() => {
    const token = storedToken();
    // A wall opened with a display token needs no operator's session.
    if (!token || display) {
      setRestoring(false);
      return;
    }
    signIn(token, true)
      .catch((err: unknown) => signOut(err))
      .finally(() => setRestoring(false));
  }, []);

  // The reporter's confirmation link needs no account: its token is in the link.
  if (route.segments[0] === 'confirm' && route.segments[1] && route.segments[2]) {
    return (
      <I18nContext.Provider value={i18n}>
        <ConfirmPage reportId={route.segments[1]} token={route.segments[2]} lang={lang} setLang={setLang} />
      </I18nContext.Provider>
    );
  }

  const onWall = route.segments[0] === 'wall';
  const wallWith = onWall ? (display ?? session?.client.token) : undefined;
  if (wallWith) {
    return (
      <I18nContext.Provider value={i18n}>
        <AlarmSoundContext.Provider value={sound}>
          <WallPage
            key={wallWith}
            token={wallWith}
            lang={lang}
            setLang={setLang}
            onRefused={() => {
              if (wallWith === display) {
                storeDisplayToken(null);
                setDisplay(null);
              } else signOut(new ApiError(401, 'SW_ERR_UNAUTHORIZED', 'token refused'));
            }}
          />
        </AlarmSoundContext.Provider>
      </I18nContext.Provider>
    );
  }

  return (
    <I18nContext.Provider value={i18n}>
      <AlarmSoundContext.Provider value={sound}>
      <SessionContext.Provider value={session ?? null}>
        <SkipLink />
        <TopBar lang={lang} setLang={setLang} />
        {session ? (
          <Shell />
        ) : restoring ? (
          <main id="main" class="login">
            <p>{i18n.t('loading')}</p>
          </main>
        ) : (
          <Login onLogin={signIn} error={loginError} {...(onWall ? { hint: i18n.t('wallNoToken') } : {})} />
        )}
      </SessionContext.Provider>
      </AlarmSoundContext.Provider>
    </I18nContext.Provider>
  );
}

/** The first stop for keyboard users; with hash routing it must not change the hash. */
function SkipLink() {
  const { t } = useI18n();
  return (
    <a
      class="skip-link"
      href="#main"
      onClick={(e) => {
        e.preventDefault();
        document.getElementById('main')?.focus();
      }}
    >
      {t('skipToMain')}
    </a>
  );
}

function TopBar({ lang, setLang }: { lang: Lang; setLang: (l: Lang) => void }) {
  const { t, term } = useI18n();
  const i18nTerm = (department: string): string => term('department', department);
  const session = useContext(SessionContext);
  return (
    <header class="topbar">
      <div class="brand">
        <span class="brand-name">StreetWatch</span>
        <span class="brand-city">{session ? session.config.city.name : t('appName')}</span>
      </div>
      <div class="topbar-tools">
        {session && (
          <>
            <span class="who">{session.unitId !== undefined ? session.subcenterName(session.unitId) : session.department !== undefined ? i18nTerm(session.department) : t('roleAdmin')}</span>
            <LiveIndicator />
            <AlarmControls />
          </>
        )}
        <button type="button" class="on-dark" lang={lang === 'en' ? 'zh-CN' : 'en'} aria-label={t('switchLanguageLabel')} onClick={() => setLang(lang === 'en' ? 'zh-CN' : 'en')}>
          {t('switchLanguage')}
        </button>
        {session && (
          <button type="button" class="on-dark" onClick={() => session.signOut()}>
            {t('logout')}
          </button>
        )}
      </div>
    </header>
  );
}

const LIVE_LABEL: Record<LiveState, MessageKey> = { connecting: 'liveConnecting', stream: 'liveStream', polling: 'livePolling', offline: 'liveOffline' };

function LiveIndicator() {
  const { t } = useI18n();
  const feed = useFeed(useSession().feed);
  return (
    <span class={`live live-${feed.state}`} role="status">
      <span class="dot" aria-hidden="true" />
      {t(LIVE_LABEL[feed.state])}
    </span>
  );
}

/** A page of the signed-in console: its route segment, its navigation entry (if any), and what it shows. */
interface ShellPage {
  id: string;
  label?: MessageKey;
  badge?: number;
  /** Absent: a link only (the wall view has its own screen). */
  render?: () => JSX.Element;
}

/**
 * The pages, in navigation order; the first is the default. A new page (co-handling, returns,
 * extensions, people's reports) is one entry here.
 */
function shellPages(session: Session, route: Route, openCount: number, summoned: number): ShellPage[] {
  const unit = session.principal.role === 'unit' ? session.principal : undefined;
  const isDistrict = unit?.unitId === session.config.city.district.id;
  return [
    { id: 'inbox', label: 'navInbox', badge: openCount, render: () => <Inbox /> },
    { id: 'tickets', render: () => (route.segments[1] ? <TicketPage key={route.segments[1]} id={route.segments[1]} /> : <Inbox />) },
    // Joint handling: a department's summonses (waiting check-ins counted), the others' overview.
    { id: 'joint', label: 'navJoint', ...(session.department !== undefined ? { badge: summoned } : {}), render: () => <JointPage /> },
    // The district rules on returns; every center decides the requests for more time addressed to it.
    ...(session.isAdmin || isDistrict ? [{ id: 'returns', label: 'navReturns' as const, render: () => <ReturnsPage /> }] : []),
    ...(session.isAdmin || unit ? [{ id: 'extensions', label: 'navExtensions' as const, render: () => <ExtensionsPage /> }] : []),
    // A grid worker's (any unit's) report, on a phone.
    ...(unit || session.isAdmin ? [{ id: 'report', label: 'navReport' as const, render: () => <ReportPage /> }] : []),
    { id: 'map', label: 'navMap', render: () => <MapPage focusTicket={route.query.get('ticket')} /> },
    { id: 'kpis', label: 'navKpis', render: () => <KpiPage /> },
    // Devices and tokens are the administrator's: a unit token is refused there.
    ...(session.isAdmin
      ? [
          { id: 'devices', label: 'navDevices' as const, render: () => <DevicesPage /> },
          { id: 'tokens', label: 'navTokens' as const, render: () => <TokensPage /> },
        ]
      : []),
    { id: 'wall', label: 'navWall' },
  ];
}

function Shell() {
  const { t } = useI18n();
  const session = useSession();
  const feed = useFeed(session.feed);
  const route = useRoute();
  const now = useNow(5_000);
  const page = route.segments[0] ?? 'inbox';
  const open = feed.list().filter((tk) => tk.status !== 'closed');
  const overdue = open.filter((tk) => isOverdue(tk, now)).length;

  useEffect(() => {
    document.title = `${overdue ? `(${overdue}) ` : ''}StreetWatch · ${session.config.city.name}`;
  }, [overdue, session.config.city.name]);

  const summoned = session.department === undefined ? 0 : open.filter((tk) => tk.coHandlers?.some((c) => c.department === session.department && c.status === 'summoned')).length;
  const pages = shellPages(session, route, open.length, summoned);
  const shown = pages.find((p) => p.id === page && p.render) ?? pages[0]!;
  // A ticket's page belongs to the inbox in the navigation.
  const active = page === 'tickets' ? 'inbox' : shown.id;

  return (
    <>
      <nav class="mainnav" aria-label={t('mainNav')}>
        <ul>
          {pages
            .filter((p) => p.label)
            .map((n) => (
              <li key={n.id}>
                <a href={`#/${n.id}`} aria-current={active === n.id ? 'page' : undefined}>
                  {t(n.label!)}
                  {n.badge !== undefined && <span class="nav-badge">{n.badge}</span>}
                </a>
              </li>
            ))}
        </ul>
      </nav>
      <Alarms />
      <main id="main" tabIndex={-1}>
        {shown.render!()}
      </main>
      <Notices />
    </>
  );
}

/** The alarms of the tickets and supervision orders this token holds, above every page. */
function Alarms() {
  const session = useSession();
  const feed = useFeed(session.feed);
  const alarms = activeAlarms(feed.list(), feed.orders(), { unitId: session.unitId, supervision: true });
  return (
    <AlarmBanner
      alarms={alarms}
      onAckOrder={async (id) => {
        session.feed.upsertOrder(await session.client.ackSupervision(id), true);
      }}
    />
  );
}

/** New tickets announced on every page: visibly for a while, and to screen readers. */
function Notices() {
  const { t } = useI18n();
  const feed = useFeed(useSession().feed);
  const [shown, setShown] = useState<{ id: string; title: string; seq: number }[]>([]);
  const [spoken, setSpoken] = useState('');
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  const news = feed.news;

  useEffect(() => () => timers.current.forEach(clearTimeout), []);
  useEffect(() => {
    if (!news) return;
    setSpoken(t(news.kind === 'new' ? 'newTicket' : 'ticketUpdated', { title: news.ticket.title }));
    if (news.kind !== 'new') return;
    setShown((s) => [...s.filter((n) => n.id !== news.ticket.id), { id: news.ticket.id, title: news.ticket.title, seq: news.seq }].slice(-3));
    const timer = setTimeout(() => {
      timers.current.delete(timer);
      setShown((s) => s.filter((n) => n.seq !== news.seq));
    }, NOTICE_MS);
    timers.current.add(timer);
  }, [news?.seq]);

  return (
    <>
      <div class="visually-hidden" aria-live="polite">
        {spoken}
      </div>
      {shown.length > 0 && (
        <ul class="notices">
          {shown.map((n) => (
            <li key={n.seq}>
              <a href={`#/tickets/${encodeURIComponent(n.id)}`}>{t('newTicket', { title: n.title })}</a>
              <button type="button" class="notice-close" aria-label={t('dismiss')} onClick={() => setShown((s) => s.filter((x) => x.seq !== n.seq))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
