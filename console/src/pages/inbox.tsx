import { useState } from 'preact/hooks';
import { GradeBadge, StatusBadge } from '../components/badges.js';
import { Deadline } from '../components/deadline.js';
import { ErrorMessage } from '../components/error-message.js';
import { formatTime } from '../format.js';
import { useFeed, useNow } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { DEFAULT_FILTER, GRADES, inboxOrder, isOverdue, matches, resolutionState, responseState, STATUSES, type InboxFilter } from '../tickets.js';
import { PageHeading } from './page.js';

/** The tickets this token sees, live: overdue first, then by grade, countdowns ticking. */
export function Inbox() {
  const i18n = useI18n();
  const { t, term } = i18n;
  const session = useSession();
  const feed = useFeed(session.feed);
  const now = useNow();
  const [filter, setFilter] = useState<InboxFilter>(DEFAULT_FILTER);
  const set = <K extends keyof InboxFilter>(key: K, value: InboxFilter[K]): void => setFilter((f) => ({ ...f, [key]: value }));

  const shown = feed.list().filter((tk) => matches(tk, filter, now)).sort(inboxOrder(now));
  const subcenterIds = session.subcenters.features.map((f) => f.properties.id);

  return (
    <>
      <PageHeading title={t('inboxTitle')} />
      <form class="filters" role="search" aria-label={t('filters')} onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="f-status">{t('filterStatus')}</label>
          <select id="f-status" value={filter.status} onChange={(e) => set('status', e.currentTarget.value as InboxFilter['status'])}>
            <option value="open">{t('filterOpen')}</option>
            <option value="all">{t('filterAll')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {term('status', s)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-grade">{t('filterGrade')}</label>
          <select id="f-grade" value={filter.grade} onChange={(e) => set('grade', e.currentTarget.value as InboxFilter['grade'])}>
            <option value="">{t('filterAll')}</option>
            {GRADES.map((g) => (
              <option key={g} value={g}>
                {t('gradeLabel', { g })}
              </option>
            ))}
          </select>
        </div>
        {session.isAdmin && (
          <div class="field">
            <label for="f-subcenter">{t('filterSubcenter')}</label>
            <select id="f-subcenter" value={filter.subcenterId} onChange={(e) => set('subcenterId', e.currentTarget.value)}>
              <option value="">{t('filterAll')}</option>
              {subcenterIds.map((id) => (
                <option key={id} value={id}>
                  {session.subcenterName(id)}
                </option>
              ))}
            </select>
          </div>
        )}
        <div class="field">
          <label for="f-text">{t('filterSearch')}</label>
          <input id="f-text" type="search" value={filter.text} placeholder={t('filterSearchPlaceholder')} onInput={(e) => set('text', e.currentTarget.value)} />
        </div>
        <div class="field checkbox">
          <input id="f-overdue" type="checkbox" checked={filter.overdueOnly} onChange={(e) => set('overdueOnly', e.currentTarget.checked)} />
          <label for="f-overdue">{t('filterOverdue')}</label>
        </div>
      </form>

      {feed.error && <ErrorMessage error={feed.error} onRetry={() => void feed.reload()} />}
      <p class="result-count" aria-live="polite">
        {feed.loaded ? t('resultCount', { n: shown.length }) : t('loading')}
      </p>
      {feed.loaded && shown.length === 0 ? (
        <p class="empty">{t('noTickets')}</p>
      ) : (
        <div class="table-wrap">
          <table class="tickets">
            <caption class="visually-hidden">{t('inboxTitle')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('colGrade')}</th>
                <th scope="col">{t('colTicket')}</th>
                <th scope="col">{t('colStatus')}</th>
                {session.isAdmin && <th scope="col">{t('colSubcenter')}</th>}
                <th scope="col">{t('colDepartment')}</th>
                <th scope="col">{t('colRespondBy')}</th>
                <th scope="col">{t('colResolveBy')}</th>
                <th scope="col">{t('colCreated')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((tk) => {
                const overdue = isOverdue(tk, now);
                const remind = session.config.sla[tk.grade]?.remindBefore ?? 0;
                return (
                  <tr key={tk.id} class={`${overdue ? 'overdue' : ''} ${feed.fresh.has(tk.id) ? 'fresh' : ''} ${tk.status === 'closed' ? 'closed' : ''}`} data-ticket-id={tk.id}>
                    <td>
                      <GradeBadge grade={tk.grade} />
                    </td>
                    <td class="ticket-title">
                      <a href={`#/tickets/${encodeURIComponent(tk.id)}`}>{tk.title}</a>
                      <span class="ticket-id">{tk.id}</span>
                      {overdue && <span class="overdue-badge">{t('overdue')}</span>}
                    </td>
                    <td>
                      <StatusBadge status={tk.status} />
                    </td>
                    {session.isAdmin && <td>{session.subcenterName(tk.subcenterId)}</td>}
                    <td>
                      {term('department', tk.department)}
                      <span class="muted"> · {term('category', tk.category)}</span>
                    </td>
                    <td>
                      <Deadline state={responseState(tk, now)} remindBefore={remind} metLabel={t('responded')} />
                    </td>
                    <td>
                      <Deadline state={resolutionState(tk, now)} remindBefore={remind} metLabel={t('resolvedDone')} />
                    </td>
                    <td>
                      <time dateTime={new Date(tk.createdAt).toISOString()}>{formatTime(tk.createdAt, i18n.lang)}</time>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
