import { useEffect, useState } from 'preact/hooks';
import type { WhistleCount } from '../../../core/tickets/kpis.js';
import type { Grade } from '../../../core/schemas.js';
import type { KpiReport } from '../api.js';
import { RateBars } from '../components/charts.js';
import { ErrorMessage } from '../components/error-message.js';
import { GovernanceKpiSection } from '../components/governance-kpis.js';
import { formatPercent } from '../format.js';
import { useFeed } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { GRADES } from '../tickets.js';
import { PageHeading } from './page.js';

const DAY = 86_400_000;
const PERIODS = [7, 30, 90] as const;

interface RateRow {
  key: string;
  label: string;
  tickets: number;
  response: KpiReport['response'];
  handling: KpiReport['handling'];
}

/**
 * Response- and handling-timeliness (呼应及时率, 处置及时率) per sub-center and grade, and whistle
 * counts, from `/api/kpis` (definitions in docs/TICKETS.md). A unit's token gets its own figures.
 */
export function KpiPage() {
  const i18n = useI18n();
  const { t, term } = i18n;
  const session = useSession();
  const feed = useFeed(session.feed);
  const [days, setDays] = useState<(typeof PERIODS)[number]>(30);
  const [report, setReport] = useState<{ all: KpiReport; byGrade: [Grade, KpiReport][] }>();
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);

  // Reloaded when a ticket changes: the rates move with every response and closing.
  const changes = feed.news?.seq ?? 0;
  useEffect(() => {
    let stale = false;
    const to = Date.now();
    const from = to - days * DAY;
    Promise.all([session.client.kpis({ from, to }), Promise.all(GRADES.map(async (g) => [g, await session.client.kpis({ from, to, grade: g })] as [Grade, KpiReport]))]).then(
      ([all, byGrade]) => {
        if (stale) return;
        setReport({ all, byGrade });
        setError(undefined);
      },
      (err: unknown) => !stale && setError(err),
    );
    return () => {
      stale = true;
    };
  }, [session.client, days, changes, attempt]);

  const subcenterRows: RateRow[] = (report?.all.bySubcenter ?? []).map((s) => ({ key: s.key, label: session.subcenterName(s.key), tickets: s.tickets, response: s.response, handling: s.handling }));
  const gradeRows: RateRow[] = (report?.byGrade ?? []).filter(([, k]) => k.tickets > 0).map(([g, k]) => ({ key: g, label: t('gradeLabel', { g }), tickets: k.tickets, response: k.response, handling: k.handling }));

  return (
    <>
      <PageHeading title={t('kpiTitle')}>
        <div class="field inline-field">
          <label for="kpi-period">{t('kpiPeriod')}</label>
          <select id="kpi-period" value={days} onChange={(e) => setDays(Number(e.currentTarget.value) as (typeof PERIODS)[number])}>
            {PERIODS.map((d) => (
              <option key={d} value={d}>
                {t('kpiLastDays', { n: d })}
              </option>
            ))}
          </select>
        </div>
      </PageHeading>
      {error !== undefined && <ErrorMessage error={error} onRetry={() => setAttempt((n) => n + 1)} />}
      {!report ? (
        error === undefined && <p>{t('loading')}</p>
      ) : (
        <>
          <dl class="kpi-summary">
            <div>
              <dt>{t('kpiResponseRate')}</dt>
              <dd>{formatPercent(report.all.response.rate)}</dd>
              <dd class="muted">{t('kpiResponseCounts', { onTime: report.all.response.onTime, due: report.all.response.due })}</dd>
            </div>
            <div>
              <dt>{t('kpiHandlingRate')}</dt>
              <dd>{formatPercent(report.all.handling.rate)}</dd>
              <dd class="muted">{t('kpiHandlingCounts', { onTime: report.all.handling.closedOnTime, due: report.all.handling.closed + report.all.handling.openOverdue })}</dd>
            </div>
            <div>
              <dt>{t('kpiTickets')}</dt>
              <dd>{report.all.tickets}</dd>
            </div>
            <div>
              <dt>{t('kpiRed')}</dt>
              <dd class={report.all.red > 0 ? 'kpi-red' : ''}>{report.all.red}</dd>
            </div>
          </dl>
          <div class="kpi-grid">
            <RateSection id="by-subcenter" title={t('kpiBySubcenter')} rows={subcenterRows} />
            <RateSection id="by-grade" title={t('kpiByGrade')} rows={gradeRows} />
          </div>
          <section class="card" aria-labelledby="whistles-h">
            <h2 id="whistles-h">{t('kpiWhistles')}</h2>
            <div class="kpi-grid">
              <CountTable caption={t('kpiByCategory')} counts={report.all.byCategory} label={(k) => term('category', k ?? '')} />
              <CountTable caption={t('kpiByZone')} counts={report.all.byZone} label={(k) => (k === null ? t('kpiOutsideZones') : session.zoneName(k))} />
              <CountTable caption={t('kpiByDepartment')} counts={report.all.byDepartment} label={(k) => term('department', k ?? '')} />
            </div>
          </section>
          {report.all.governance && <GovernanceKpiSection kpis={report.all.governance} />}
        </>
      )}
    </>
  );
}

function RateSection({ id, title, rows }: { id: string; title: string; rows: RateRow[] }) {
  const { t } = useI18n();
  return (
    <section class="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{title}</h2>
      {rows.length === 0 ? (
        <p class="muted">{t('kpiNoData')}</p>
      ) : (
        <>
          <RateBars title={title} labels={rows.map((r) => r.label)} response={rows.map((r) => r.response.rate)} handling={rows.map((r) => r.handling.rate)} />
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
              {rows.map((r) => (
                <tr key={r.key}>
                  <th scope="row">{r.label}</th>
                  <td>{r.tickets}</td>
                  <td>
                    {formatPercent(r.response.rate)} <span class="muted">({r.response.onTime}/{r.response.due})</span>
                  </td>
                  <td>
                    {formatPercent(r.handling.rate)} <span class="muted">({r.handling.closedOnTime}/{r.handling.closed + r.handling.openOverdue})</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function CountTable({ caption, counts, label }: { caption: string; counts: WhistleCount[]; label: (key: string | null) => string }) {
  const { t } = useI18n();
  return (
    <table class="kpi-table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{caption}</th>
          <th scope="col">{t('kpiTickets')}</th>
          <th scope="col">{t('kpiAlerts')}</th>
        </tr>
      </thead>
      <tbody>
        {counts.length === 0 ? (
          <tr>
            <td colSpan={3} class="muted">
              {t('kpiNoData')}
            </td>
          </tr>
        ) : (
          counts.map((c) => (
            <tr key={c.key ?? ''}>
              <th scope="row">{label(c.key)}</th>
              <td>{c.tickets}</td>
              <td>{c.alerts}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
