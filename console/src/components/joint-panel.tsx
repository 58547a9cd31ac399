import { useState } from 'preact/hooks';
import type { CoHandler, Ticket } from '../../../core/schemas.js';
import { formatTime } from '../format.js';
import { checkInState, coHandlerMoves, holderSide, holderTools, type Standing } from '../governance.js';
import { useNow } from '../hooks.js';
import { useI18n, type MessageKey } from '../i18n.js';
import { useSession } from '../session.js';
import { Deadline } from './deadline.js';
import { ErrorMessage } from './error-message.js';

const STATUS_LABEL: Record<CoHandler['status'], MessageKey> = {
  summoned: 'coSummoned',
  checked_in: 'coCheckedIn',
  finished: 'coFinished',
  released: 'coReleased',
};

const MOVE_LABEL: Record<'check-in' | 'feedback' | 'finish' | 'release', MessageKey> = {
  'check-in': 'coCheckIn',
  feedback: 'coFeedback',
  finish: 'coFinish',
  release: 'coRelease',
};

/** How long a department summoned by hand has to check in: the choices offered. */
const CHECK_IN_CHOICES = ['15m', '30m', '1h', '2h'];

/**
 * Joint handling on a ticket (吹哨报到): the plan in force, each co-handling department with its
 * check-in deadline and where it stands, the moves the signed-in token may make (a department
 * its own check-in, feedback and finish; the holder's side a summons or a release), and the
 * plan's checklist. Large targets, one column on a phone: a co-handler acts from the scene.
 */
export function JointPanel({ ticket, stand, onChanged }: { ticket: Ticket; stand: Standing; onChanged: (t: Ticket) => void }) {
  const i18n = useI18n();
  const { t, term } = i18n;
  const session = useSession();
  const now = useNow(5_000);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [writing, setWriting] = useState<{ department: string; move: 'feedback' | 'release' } | undefined>();
  const [text, setText] = useState('');
  const [summoning, setSummoning] = useState(false);
  const [summonDept, setSummonDept] = useState('');
  const [summonWithin, setSummonWithin] = useState('30m');
  const [summonReason, setSummonReason] = useState('');
  const [done, setDone] = useState('');

  const coHandlers = ticket.coHandlers ?? [];
  const checklist = ticket.checklist ?? [];
  const tools = holderTools(ticket, stand, session.config.city.district.id, now);
  const myDept = session.principal.role === 'department' ? session.principal.department : undefined;
  if (coHandlers.length === 0 && checklist.length === 0 && !tools.summon) return null;

  const act = async (what: () => Promise<Ticket>, said: string): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      onChanged(await what());
      setWriting(undefined);
      setText('');
      setDone(said);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const mayMove = (c: CoHandler): boolean => stand === 'admin' || (stand === 'co-handler' && c.department === myDept);
  const lead = ticket.department;
  const taken = new Set([lead, ...coHandlers.filter((c) => c.status !== 'released').map((c) => c.department)]);
  const summonable = Object.keys(session.config.departments).filter((d) => !taken.has(d));

  return (
    <section class="card joint-panel" aria-labelledby="joint-h">
      <h2 id="joint-h">{t('jointTitle')}</h2>
      <p>
        {ticket.plan ? t('jointPlan', { category: term('category', ticket.plan.category), grade: ticket.plan.grade }) : t('jointNoPlan')} ·{' '}
        {t('jointLead', { department: term('department', lead) })}
      </p>
      {coHandlers.length > 0 && (
        <ul class="co-handlers">
          {coHandlers.map((c) => {
            const moves = mayMove(c) ? coHandlerMoves(c) : [];
            const releasable = tools.release && (c.status === 'summoned' || c.status === 'checked_in');
            return (
              <li key={c.department} class={`co-handler co-${c.status}`} data-department={c.department}>
                <div class="co-head">
                  <strong>{term('department', c.department)}</strong>
                  <span class={`co-status co-status-${c.status}`}>{t(STATUS_LABEL[c.status])}</span>
                  {c.source === 'whistle' && <span class="muted">{t('coByWhistle')}</span>}
                </div>
                <div class="co-times">
                  {c.status === 'summoned' ? (
                    <span>
                      {t('coCheckInBy')} <Deadline state={checkInState(c, now)} remindBefore={0} metLabel={t('coCheckedIn')} /> <span class="muted">({formatTime(c.checkInBy, i18n.lang)})</span>
                    </span>
                  ) : (
                    c.checkedInAt !== null && (
                      <span>
                        {t('coCheckedInAt', { at: formatTime(c.checkedInAt, i18n.lang) })}
                        {c.checkedInAt > c.checkInBy && <span class="overdue-badge">{t('coLate')}</span>}
                      </span>
                    )
                  )}
                  {c.missedAt !== null && c.status === 'summoned' && <span class="overdue-badge">{t('coMissed')}</span>}
                  {c.finishedAt !== null && <span>{t('coFinishedAt', { at: formatTime(c.finishedAt, i18n.lang) })}</span>}
                </div>
                {(moves.length > 0 || releasable) && (
                  <div class="co-actions">
                    {moves.map((m) =>
                      m === 'feedback' ? (
                        <button key={m} type="button" disabled={busy} onClick={() => setWriting({ department: c.department, move: 'feedback' })}>
                          {t(MOVE_LABEL[m])}
                        </button>
                      ) : (
                        <button key={m} type="button" class="primary big" disabled={busy} onClick={() => void act(() => session.client.coHandler(ticket.id, c.department, m), t('coDone', { move: t(MOVE_LABEL[m]) }))}>
                          {t(MOVE_LABEL[m])}
                        </button>
                      ),
                    )}
                    {releasable && (
                      <button type="button" disabled={busy} onClick={() => setWriting({ department: c.department, move: 'release' })}>
                        {t('coRelease')}
                      </button>
                    )}
                  </div>
                )}
                {writing?.department === c.department && (
                  <form
                    class="co-write"
                    onSubmit={(e) => {
                      e.preventDefault();
                      if (!text.trim()) return;
                      void act(() => session.client.coHandler(ticket.id, c.department, writing.move, text.trim()), t('coDone', { move: t(MOVE_LABEL[writing.move]) }));
                    }}
                  >
                    <label for={`co-text-${c.department}`}>{writing.move === 'feedback' ? t('coFeedbackNote') : t('coReleaseReason')}</label>
                    <textarea id={`co-text-${c.department}`} rows={2} maxLength={2000} value={text} required onInput={(e) => setText(e.currentTarget.value)} />
                    <div class="dialog-buttons">
                      <button type="submit" class="primary" disabled={busy || !text.trim()}>
                        {t('actionConfirm')}
                      </button>
                      <button type="button" onClick={() => setWriting(undefined)}>
                        {t('actionCancel')}
                      </button>
                    </div>
                  </form>
                )}
              </li>
            );
          })}
        </ul>
      )}

      {checklist.length > 0 && (
        <>
          <h3 id="checklist-h">{t('checklistTitle')}</h3>
          <ul class="checklist" aria-labelledby="checklist-h">
            {checklist.map((s) => (
              <li key={s.id} class={s.doneAt === null ? '' : 'done'}>
                <span aria-hidden="true">{s.doneAt === null ? '☐' : '☑'}</span> {s.text}
                {s.doneAt !== null ? (
                  <span class="muted"> · {t('checklistDone', { at: formatTime(s.doneAt, i18n.lang) })}</span>
                ) : (
                  (holderSide(stand) || stand === 'co-handler') &&
                  ticket.status !== 'closed' && (
                    <button type="button" class="link-button" disabled={busy} onClick={() => void act(() => session.client.tickStep(ticket.id, s.id), t('checklistTicked', { step: s.text }))}>
                      {t('checklistTick')}
                      <span class="visually-hidden">: {s.text}</span>
                    </button>
                  )
                )}
              </li>
            ))}
          </ul>
        </>
      )}

      {tools.summon && summonable.length > 0 && (
        <>
          {!summoning ? (
            <button type="button" onClick={() => setSummoning(true)}>
              {t('summonOpen')}
            </button>
          ) : (
            <form
              class="summon-form"
              onSubmit={(e) => {
                e.preventDefault();
                if (!summonDept || !summonReason.trim()) return;
                void act(() => session.client.summon(ticket.id, summonDept, summonReason.trim(), summonWithin), t('summonDone', { department: term('department', summonDept) })).then(() => setSummoning(false));
              }}
            >
              <h3>{t('summonTitle')}</h3>
              <div class="field">
                <label for="summon-dept">{t('summonDepartment')}</label>
                <select id="summon-dept" value={summonDept} required onChange={(e) => setSummonDept(e.currentTarget.value)}>
                  <option value="">{t('summonChoose')}</option>
                  {summonable.map((d) => (
                    <option key={d} value={d}>
                      {term('department', d)}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="summon-within">{t('summonWithin')}</label>
                <select id="summon-within" value={summonWithin} onChange={(e) => setSummonWithin(e.currentTarget.value)}>
                  {CHECK_IN_CHOICES.map((d) => (
                    <option key={d} value={d}>
                      {d}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="summon-reason">{t('summonReason')}</label>
                <textarea id="summon-reason" rows={2} maxLength={500} required value={summonReason} onInput={(e) => setSummonReason(e.currentTarget.value)} />
              </div>
              <div class="dialog-buttons">
                <button type="submit" class="primary" disabled={busy || !summonDept || !summonReason.trim()}>
                  {t('summonSubmit')}
                </button>
                <button type="button" onClick={() => setSummoning(false)}>
                  {t('actionCancel')}
                </button>
              </div>
            </form>
          )}
        </>
      )}
      {error !== undefined && <ErrorMessage error={error} />}
      <p class="action-result" role="status">
        {done}
      </p>
    </section>
  );
}
