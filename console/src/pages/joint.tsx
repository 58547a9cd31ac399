import { useState } from 'preact/hooks';
import type { Ticket } from '../../../core/schemas.js';
import { GradeBadge, StatusBadge } from '../components/badges.js';
import { Deadline } from '../components/deadline.js';
import { ErrorMessage } from '../components/error-message.js';
import { formatTime } from '../format.js';
import { checkInState, coHandlerMoves, inJointHandling, myJointTickets } from '../governance.js';
import { useFeed, useNow } from '../hooks.js';
import { useI18n, type MessageKey } from '../i18n.js';
import { useSession } from '../session.js';
import { PageHeading } from './page.js';

const MOVE_LABEL: Record<'check-in' | 'finish', MessageKey> = { 'check-in': 'coCheckIn', finish: 'coFinish' };

/**
 * Joint handling (联动). A department sees the tickets it is summoned to, the ones waiting for
 * its check-in first, and checks in or finishes with one tap (a phone at the scene); feedback and
 * the rest are on the ticket's page. The admin and the units see every ticket in joint handling
 * they hold or supervise, with each department's standing.
 */
export function JointPage() {
  const i18n = useI18n();
  const { t, term } = i18n;
  const session = useSession();
  const feed = useFeed(session.feed);
  const now = useNow(5_000);
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const department = session.principal.role === 'department' ? session.principal.department : undefined;

  const move = async (ticket: Ticket, dept: string, m: 'check-in' | 'finish'): Promise<void> => {
    setBusy(`${ticket.id}/${m}`);
    setError(undefined);
    try {
      session.feed.upsert(await session.client.coHandler(ticket.id, dept, m));
      setDone(t('coDone', { move: t(MOVE_LABEL[m]) }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(undefined);
    }
  };

  if (department !== undefined) {
    const mine = myJointTickets(
      feed.list().filter((tk) => tk.status !== 'closed'),
      department,
    );
    return (
      <>
        <PageHeading title={t('jointPageTitle')} />
        <p class="muted">{t('jointPageDepartment', { department: term('department', department) })}</p>
        {error !== undefined && <ErrorMessage error={error} />}
        <p class="action-result" role="status">
          {done}
        </p>
        {mine.length === 0 ? (
          <p class="muted">{t('jointNone')}</p>
        ) : (
          <ul class="joint-cards">
            {mine.map(({ ticket, mine: c }) => (
              <li key={ticket.id} class={`card joint-card co-${c.status}`} data-ticket-id={ticket.id}>
                <h2>
                  <a href={`#/tickets/${encodeURIComponent(ticket.id)}`}>{ticket.title}</a>
                </h2>
                <p>
                  <GradeBadge grade={ticket.grade} /> <StatusBadge status={ticket.status} /> <span class="muted">{session.subcenterName(ticket.subcenterId)}</span>
                </p>
                <p>
                  {c.status === 'summoned' ? (
                    <>
                      {t('coCheckInBy')} <Deadline state={checkInState(c, now)} remindBefore={0} metLabel={t('coCheckedIn')} />
                    </>
                  ) : c.status === 'checked_in' ? (
                    t('coCheckedInAt', { at: formatTime(c.checkedInAt!, i18n.lang) })
                  ) : (
                    t('coFinishedAt', { at: formatTime(c.finishedAt!, i18n.lang) })
                  )}
                </p>
                <div class="co-actions">
                  {coHandlerMoves(c)
                    .filter((m): m is 'check-in' | 'finish' => m !== 'feedback')
                    .map((m) => (
                      <button key={m} type="button" class="primary big" disabled={busy !== undefined} onClick={() => void move(ticket, department, m)}>
                        {t(MOVE_LABEL[m])}
                        <span class="visually-hidden">: {ticket.title}</span>
                      </button>
                    ))}
                  <a class="button-link" href={`#/tickets/${encodeURIComponent(ticket.id)}`}>
                    {t('jointOpenTicket')}
                    <span class="visually-hidden">: {ticket.title}</span>
                  </a>
                </div>
              </li>
            ))}
          </ul>
        )}
      </>
    );
  }

  const joint = feed.list().filter(inJointHandling);
  return (
    <>
      <PageHeading title={t('jointPageTitle')} />
      {joint.length === 0 ? (
        <p class="muted">{t('jointNoneOverview')}</p>
      ) : (
        <div class="table-wrap">
          <table class="joint-table">
            <caption class="visually-hidden">{t('jointPageTitle')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('colTicket')}</th>
                <th scope="col">{t('colSubcenter')}</th>
                <th scope="col">{t('jointLeadCol')}</th>
                <th scope="col">{t('jointCoHandlers')}</th>
              </tr>
            </thead>
            <tbody>
              {joint.map((tk) => (
                <tr key={tk.id} data-ticket-id={tk.id}>
                  <td>
                    <GradeBadge grade={tk.grade} /> <a href={`#/tickets/${encodeURIComponent(tk.id)}`}>{tk.title}</a>
                  </td>
                  <td>{session.subcenterName(tk.subcenterId)}</td>
                  <td>{term('department', tk.department)}</td>
                  <td>
                    <ul class="co-chips">
                      {(tk.coHandlers ?? []).map((c) => {
                        const late = c.status === 'summoned' && checkInState(c, now).kind === 'missed';
                        return (
                          <li key={c.department} class={`co-status co-status-${c.status} ${late ? 'late' : ''}`}>
                            {term('department', c.department)}: {t(c.status === 'summoned' ? (late ? 'coMissed' : 'coSummoned') : c.status === 'checked_in' ? 'coCheckedIn' : c.status === 'finished' ? 'coFinished' : 'coReleased')}
                          </li>
                        );
                      })}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
