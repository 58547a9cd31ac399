import { useState } from 'preact/hooks';
import type { Ticket } from '../../../core/schemas.js';
import { formatTime } from '../format.js';
import { decidesExtension, holderTools, pendingExtension, pendingReturn, rulesOnReturn, type Standing } from '../governance.js';
import { useNow } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorMessage } from './error-message.js';

/** `<input type="datetime-local">` value of an instant, in the browser's zone, to the minute. */
export function localInput(at: number): string {
  const d = new Date(at - new Date(at).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/**
 * Returns (退单) and deadline extensions (延期) on a ticket: the holder's side returns it or asks
 * for more time; the district rules on a waiting return, the parent decides a waiting request;
 * the history of both; and where a reported ticket's confirmation by its reporter stands.
 */
export function TicketGovernance({ ticket, stand, onChanged }: { ticket: Ticket; stand: Standing; onChanged: (t: Ticket) => void }) {
  const i18n = useI18n();
  const { t, term } = i18n;
  const session = useSession();
  const now = useNow(30_000);
  const districtId = session.config.city.district.id;
  const tools = holderTools(ticket, stand, districtId, now);
  const [open, setOpen] = useState<'return' | 'extension' | undefined>();
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState(() => localInput(ticket.resolveBy + 12 * 3_600_000));
  const [ruling, setRuling] = useState<'reassigned' | 'sent_back'>('sent_back');
  const [target, setTarget] = useState('');
  const [department, setDepartment] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');

  const waitingReturn = pendingReturn(ticket);
  const waitingExt = pendingExtension(ticket);
  const returns = ticket.returns ?? [];
  const extensions = ticket.extensions ?? [];
  const reported = ticket.origin === 'report';
  const rules = rulesOnReturn(ticket, session.principal, districtId);
  const decides = decidesExtension(ticket, session.principal);
  if (!tools.returnIt && !tools.extend && !waitingReturn && !waitingExt && returns.length === 0 && extensions.length === 0 && !reported) return null;

  const act = async (what: () => Promise<Ticket>, said: string): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      onChanged(await what());
      setOpen(undefined);
      setReason('');
      setNote('');
      setDone(said);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  // Several tickets may show this section on one page (the decisions pages): ids per ticket.
  const p = `gov-${ticket.id}`;
  const units = [...session.subcenters.features.map((f) => f.properties.id), ...session.config.localUnits.map((u) => u.id), districtId];

  return (
    <section class="card ticket-governance" aria-labelledby={`${p}-gov-h`}>
      <h2 id={`${p}-gov-h`}>{t('govTitle')}</h2>

      {reported && (
        <p class="reporter-confirmation">
          {ticket.closure?.by === 'reporter'
            ? t('confirmedByReporter')
            : ticket.closure?.by === 'district'
              ? t('confirmedByDistrict')
              : ticket.status === 'resolved'
                ? ticket.confirmationTimedOut?.resolvedAt === ticket.resolvedAt
                  ? t('awaitingDistrict')
                  : t('awaitingReporter')
                : t('reporterConfirms')}
        </p>
      )}

      {waitingReturn && (
        <div class="waiting">
          <p>
            <strong>{t('returnWaiting')}</strong> {t('returnBy', { who: partyName(waitingReturn.party, term, session.subcenterName), at: formatTime(waitingReturn.at, i18n.lang) })}
          </p>
          <p class="note">{waitingReturn.reason}</p>
          {rules && (
            <form
              class="ruling-form"
              onSubmit={(e) => {
                e.preventDefault();
                if (!note.trim()) return;
                const body = ruling === 'sent_back' ? { decision: ruling, note: note.trim() } : { decision: ruling, note: note.trim(), ...(target ? { subcenter: target } : {}), ...(department ? { department } : {}) };
                void act(() => session.client.ruleOnReturn(ticket.id, body), t(ruling === 'sent_back' ? 'rulingSentBack' : 'rulingReassigned'));
              }}
            >
              <fieldset>
                <legend>{t('rulingTitle')}</legend>
                <label class="radio">
                  <input type="radio" name={`${p}-ruling`} value="sent_back" checked={ruling === 'sent_back'} onChange={() => setRuling('sent_back')} /> {t('rulingSendBack', { unit: session.subcenterName(waitingReturn.subcenterId) })}
                </label>
                <label class="radio">
                  <input type="radio" name={`${p}-ruling`} value="reassigned" checked={ruling === 'reassigned'} onChange={() => setRuling('reassigned')} /> {t('rulingReassign')}
                </label>
              </fieldset>
              {ruling === 'reassigned' && (
                <>
                  <div class="field">
                    <label for={`${p}-ruling-unit`}>{t('actionTarget')}</label>
                    <select id={`${p}-ruling-unit`} value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
                      <option value="">{t('rulingKeepUnit', { unit: session.subcenterName(waitingReturn.subcenterId) })}</option>
                      {units.map((u) => (
                        <option key={u} value={u}>
                          {session.subcenterName(u)}
                        </option>
                      ))}
                    </select>
                  </div>
                  <div class="field">
                    <label for={`${p}-ruling-dept`}>{t('actionDepartment')}</label>
                    <select id={`${p}-ruling-dept`} value={department} onChange={(e) => setDepartment(e.currentTarget.value)}>
                      <option value="">{t('rulingKeepDepartment', { department: term('department', waitingReturn.department) })}</option>
                      {Object.keys(session.config.departments).map((d) => (
                        <option key={d} value={d}>
                          {term('department', d)}
                        </option>
                      ))}
                    </select>
                  </div>
                </>
              )}
              <div class="field">
                <label for={`${p}-ruling-note`}>{t('rulingNote')}</label>
                <textarea id={`${p}-ruling-note`} rows={2} maxLength={500} required value={note} onInput={(e) => setNote(e.currentTarget.value)} />
              </div>
              <button type="submit" class="primary" disabled={busy || !note.trim()}>
                {t('rulingSubmit')}
              </button>
            </form>
          )}
        </div>
      )}

      {waitingExt && (
        <div class="waiting">
          <p>
            <strong>{t('extensionWaiting')}</strong> {t('extensionAsked', { to: formatTime(waitingExt.to, i18n.lang), approver: waitingExt.approver === 'admin' ? t('roleAdmin') : session.subcenterName(waitingExt.approver) })}
          </p>
          <p class="note">{waitingExt.reason}</p>
          {decides && (
            <form
              class="decision-form"
              onSubmit={(e) => {
                e.preventDefault();
              }}
            >
              <div class="field">
                <label for={`${p}-ext-note`}>{t('extensionNote')}</label>
                <textarea id={`${p}-ext-note`} rows={2} maxLength={500} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
              </div>
              <div class="dialog-buttons">
                <button type="button" class="primary" disabled={busy} onClick={() => void act(() => session.client.decideExtension(ticket.id, { approved: true, ...(note.trim() ? { note: note.trim() } : {}) }), t('extensionApproved'))}>
                  {t('extensionApprove')}
                </button>
                <button type="button" disabled={busy} onClick={() => void act(() => session.client.decideExtension(ticket.id, { approved: false, ...(note.trim() ? { note: note.trim() } : {}) }), t('extensionRefused'))}>
                  {t('extensionRefuse')}
                </button>
              </div>
            </form>
          )}
        </div>
      )}

      {(tools.returnIt || tools.extend) && !open && (
        <div class="action-buttons">
          {tools.returnIt && (
            <button type="button" onClick={() => setOpen('return')}>
              {t('returnOpen')}
            </button>
          )}
          {tools.extend && (
            <button type="button" onClick={() => setOpen('extension')}>
              {t('extensionOpen')}
            </button>
          )}
        </div>
      )}
      {open === 'return' && (
        <form
          class="return-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (!reason.trim()) return;
            void act(() => session.client.returnTicket(ticket.id, reason.trim()), t('returnDone'));
          }}
        >
          <h3>{t('returnTitle')}</h3>
          <p class="hint">{t('returnHint', { n: session.config.governance.returns.maxPerTicket })}</p>
          <div class="field">
            <label for={`${p}-return-reason`}>{t('returnReason')}</label>
            <textarea id={`${p}-return-reason`} rows={3} maxLength={500} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </div>
          <div class="dialog-buttons">
            <button type="submit" class="primary" disabled={busy || !reason.trim()}>
              {t('returnSubmit')}
            </button>
            <button type="button" onClick={() => setOpen(undefined)}>
              {t('actionCancel')}
            </button>
          </div>
        </form>
      )}
      {open === 'extension' && (
        <form
          class="extension-form"
          onSubmit={(e) => {
            e.preventDefault();
            const to = new Date(until).getTime();
            if (!reason.trim() || !Number.isFinite(to)) return;
            void act(() => session.client.requestExtension(ticket.id, to, reason.trim()), t('extensionDone'));
          }}
        >
          <h3>{t('extensionTitle')}</h3>
          <p class="hint">{t('extensionHint', { now: formatTime(ticket.resolveBy, i18n.lang) })}</p>
          <div class="field">
            <label for={`${p}-extension-until`}>{t('extensionUntil')}</label>
            <input id={`${p}-extension-until`} type="datetime-local" required value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for={`${p}-extension-reason`}>{t('extensionReason')}</label>
            <textarea id={`${p}-extension-reason`} rows={3} maxLength={500} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </div>
          <div class="dialog-buttons">
            <button type="submit" class="primary" disabled={busy || !reason.trim()}>
              {t('extensionSubmit')}
            </button>
            <button type="button" onClick={() => setOpen(undefined)}>
              {t('actionCancel')}
            </button>
          </div>
        </form>
      )}

      {(returns.length > 0 || extensions.length > 0) && (
        <>
          <h3 id={`${p}-gov-history-h`}>{t('govHistory')}</h3>
          <ul class="gov-history" aria-labelledby={`${p}-gov-history-h`}>
            {returns.map((r, i) => (
              <li key={`r${i}`}>
                {t('historyReturn', { who: partyName(r.party, term, session.subcenterName), at: formatTime(r.at, i18n.lang) })}: {r.reason}
                {r.ruling && (
                  <span class="muted">
                    {' '}
                    → {r.ruling.decision === 'sent_back' ? t('rulingSentBack') : t('historyReassignedTo', { unit: session.subcenterName(r.ruling.subcenterId), department: term('department', r.ruling.department) })}: {r.ruling.note}
                  </span>
                )}
              </li>
            ))}
            {extensions.map((e, i) => (
              <li key={`e${i}`}>
                {t('historyExtension', { to: formatTime(e.to, i18n.lang), at: formatTime(e.at, i18n.lang) })}: {e.reason}
                {e.decision && <span class="muted"> → {e.decision.approved ? t('extensionApprovedTo', { to: formatTime(e.decision.resolveBy ?? e.to, i18n.lang) }) : e.decision.by === 'system' ? t('extensionLapsed') : t('extensionRefused')}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
      {error !== undefined && <ErrorMessage error={error} />}
      <p class="action-result" role="status">
        {done}
      </p>
    </section>
  );
}

/** `unit:<id>` or `department:<id>` in words. */
export function partyName(party: string, term: (kind: string, id: string) => string, unitName: (id: string) => string): string {
  const [kind, id = ''] = party.split(':');
  return kind === 'department' ? term('department', id) : kind === 'unit' ? unitName(id) : party;
}
