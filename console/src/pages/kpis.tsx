import { useEffect, useState } from 'preact/hooks';
import { ApiError, type KpiRow } from '../api.js';
import { RateBars } from '../components/charts.js';
import { ErrorMessage } from '../components/error-message.js';
import { formatPercent } from '../format.js';
import { useFeed, useNow } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { groupRates, kpiRows, whistleCounts, type RateGroup } from '../kpis.js';
import { useSession } from '../session.js';
import { PageHeading } from './page.js';

/** Response- and handling-timeliness per sub-center and grade, and whistle counts. */
export function KpiPage() {
  const i18n = useI18n();
  const { t, term } = i18n;
  const session = useSession();
  const feed = useFeed(session.feed);
  const now = useNow(60_000);
  const [server, setServer] = useState<KpiRow[] | null>();
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    session.client.kpis().then(
      (k) => setServer(k.rows),
      (err: unknown) => (err instanceof ApiError && err.routeMissing ? setServer(null) : setError(err)),
    );
  }, [session.client, feed.list().length]);

  const tickets = feed.list();
  const rows = server ?? (server === null ? kpiRows(tickets, now) : undefined);
  const whistles = whistleCounts(tickets);

  return (
    <>
      <PageHeading title={t('kpiTitle')} />
      {error !== undefined && <ErrorMessage error={error} />}
      {!rows ? (
        <p>{t('loading')}</p>
      ) : (
        <>
          <p class="muted">{server ? t('kpiSourceServer') : t('kpiSourceLocal', { n: tickets.length })}</p>
          <div class="kpi-grid">
            <RateSection id="by-subcenter" title={t('kpiBySubcenter')} groups={groupRates(rows, 'subcenterId')} label={(k) => session.subcenterName(k)} />
            <RateSection id="by-grade" title={t('kpiByGrade')} groups={groupRates(rows, 'grade')} label={(k) => t('gradeLabel', { g: k })} />
          </div>
        </>
      )}
      <section class="card" aria-labelledby="whistles-h">
        <h2 id="whistles-h">{t('kpiWhistles')}</h2>
        <div class="kpi-grid">
          <CountTable caption={t('kpiByCategory')} counts={whistles.byCategory} label={(k) => term('category', k)} />
          <CountTable caption={t('kpiByZone')} counts={whistles.byZone} label={(k) => (k ? session.zoneName(k) : t('kpiOutsideZones'))} />
        </div>
      </section>
    </>
  );
}

function RateSection({ id, title, groups, label }: { id: string; title: string; groups: RateGroup[]; label: (key: string) => string }) {
  const { t } = useI18n();
  return (
    <section class="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{title}</h2>
      {groups.length === 0 ? (
        <p class="muted">{t('kpiNoData')}</p>
      ) : (
        <>
          <RateBars title={title} labels={groups.map((g) => label(g.key))} response={groups.map((g) => g.responseRate)} handling={groups.map((g) => g.handlingRate)} />
          <table class="kpi-table">
            <caption class="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">{title}</th>
                <th scope="col">{t('kpiTickets')}</th>
                <th scope="col">{t('kpiResponseRate')}</th>
                <th scope="col">{t('kpiHandlingRate')}</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.key}>
                  <th scope="row">{label(g.key)}</th>
                  <td>{g.tickets}</td>
                  <td>{formatPercent(g.responseRate)}</td>
                  <td>{formatPercent(g.handlingRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function CountTable({ caption, counts, label }: { caption: string; counts: Map<string, number>; label: (key: string) => string }) {
  const { t } = useI18n();
  const rows = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  return (
    <table class="kpi-table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{caption}</th>
          <th scope="col">{t('kpiCount')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={2} class="muted">
              {t('kpiNoData')}
            </td>
          </tr>
        ) : (
          rows.map(([k, n]) => (
            <tr key={k}>
              <th scope="row">{label(k)}</th>
              <td>{n}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
