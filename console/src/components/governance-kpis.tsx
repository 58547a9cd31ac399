import type { GovernanceKpis } from '../../../core/tickets/governance-kpis.js';
import { formatPercent } from '../format.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { partyName } from './ticket-governance.js';

/**
 * The KPIs of the governance loop a district audits (docs/TICKETS.md, section 4): check-in
 * timeliness per department, returns per unit or department, extensions, recurrence, and the
 * reporters' satisfaction.
 */
export function GovernanceKpiSection({ kpis }: { kpis: GovernanceKpis }) {
  const i18n = useI18n();
  const { t, term } = i18n;
  const session = useSession();
  const [all, ...departments] = kpis.checkIns;
  const { extensions: ext, recurrence: rec, satisfaction: sat } = kpis;
  return (
    <section class="card" aria-labelledby="gov-kpis-h">
      <h2 id="gov-kpis-h">{t('govKpis')}</h2>
      <dl class="kpi-summary">
        <div>
          <dt>{t('kpiCheckInRate')}</dt>
          <dd>{formatPercent(all?.rate ?? null)}</dd>
          <dd class="muted">{t('kpiCheckInCounts', { onTime: all?.onTime ?? 0, due: (all?.onTime ?? 0) + (all?.late ?? 0) + (all?.missed ?? 0) })}</dd>
        </div>
        <div>
          <dt>{t('kpiExtensionRate')}</dt>
          <dd>{formatPercent(ext.rate)}</dd>
          <dd class="muted">{t('kpiExtensionCounts', { approved: ext.approved, requests: ext.requests, byExtension: ext.onTimeByExtension })}</dd>
        </div>
        <div>
          <dt>{t('kpiRecurrenceRate')}</dt>
          <dd>{formatPercent(rec.rate)}</dd>
          <dd class="muted">{t('kpiRecurrenceCounts', { recurring: rec.recurring, tickets: rec.tickets, days: rec.withinDays })}</dd>
        </div>
        <div>
          <dt>{t('kpiSatisfaction')}</dt>
          <dd>{formatPercent(sat.rate)}</dd>
          <dd class="muted">{t('kpiSatisfactionCounts', { rated: sat.rated, notFixed: sat.notFixed })}</dd>
        </div>
      </dl>
      <div class="kpi-grid">
        <table class="kpi-table">
          <caption>{t('kpiCheckInByDepartment')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('kpiDepartment')}</th>
              <th scope="col">{t('kpiSummoned')}</th>
              <th scope="col">{t('kpiOnTime')}</th>
              <th scope="col">{t('kpiLateMissed')}</th>
              <th scope="col">{t('kpiCheckInRate')}</th>
            </tr>
          </thead>
          <tbody>
            {departments.length === 0 ? (
              <tr>
                <td colSpan={5} class="muted">
                  {t('kpiNoData')}
                </td>
              </tr>
            ) : (
              departments.map((r) => (
                <tr key={r.key ?? ''} data-department={r.key ?? ''}>
                  <th scope="row">{term('department', r.key ?? '')}</th>
                  <td>{r.summoned}</td>
                  <td>{r.onTime}</td>
                  <td>
                    {r.late} / {r.missed}
                  </td>
                  <td>{formatPercent(r.rate)}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
        <table class="kpi-table">
          <caption>{t('kpiReturns')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('kpiParty')}</th>
              <th scope="col">{t('kpiHandled')}</th>
              <th scope="col">{t('kpiReturned')}</th>
              <th scope="col">{t('kpiUpheldRejected')}</th>
              <th scope="col">{t('kpiReturnRate')}</th>
            </tr>
          </thead>
          <tbody>
            {kpis.returns.filter((r) => r.returns > 0).length === 0 ? (
              <tr>
                <td colSpan={5} class="muted">
                  {t('kpiNoReturns')}
                </td>
              </tr>
            ) : (
              kpis.returns
                .filter((r) => r.returns > 0)
                .map((r) => (
                  <tr key={r.key}>
                    <th scope="row">{partyName(r.key, term, session.subcenterName)}</th>
                    <td>{r.handled}</td>
                    <td>{r.returned}</td>
                    <td>
                      {r.upheld} / {r.rejected}
                    </td>
                    <td>{formatPercent(r.rate)}</td>
                  </tr>
                ))
            )}
          </tbody>
        </table>
        <table class="kpi-table">
          <caption>{t('kpiRecurrenceByPlace')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('kpiPlace')}</th>
              <th scope="col">{t('kpiTickets')}</th>
              <th scope="col">{t('kpiRecurring')}</th>
            </tr>
          </thead>
          <tbody>
            {rec.byPlace.filter((p) => p.recurring > 0).length === 0 ? (
              <tr>
                <td colSpan={3} class="muted">
                  {t('kpiNoRecurrence')}
                </td>
              </tr>
            ) : (
              rec.byPlace
                .filter((p) => p.recurring > 0)
                .map((p) => (
                  <tr key={`${p.zoneId}|${p.category}`}>
                    <th scope="row">
                      {p.zoneId === null ? t('kpiOutsideZones') : session.zoneName(p.zoneId)} · {term('category', p.category)}
                    </th>
                    <td>{p.tickets}</td>
                    <td>{p.recurring}</td>
                  </tr>
                ))
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
