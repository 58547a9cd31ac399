import { useEffect, useRef, useState } from 'preact/hooks';
import type { Ticket } from '../../../core/schemas.js';
import { ApiError, type ActionBody, type TicketAction } from '../api.js';
import { useI18n, type MessageKey } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorMessage } from './error-message.js';

/** Refusals that mean the page shows an outdated ticket. */
const STALE = new Set(['SW_ERR_TICKET_TRANSITION', 'SW_ERR_TICKET_CONFLICT']);

export const ACTION_LABEL: Record<TicketAction, MessageKey> = {
  ack: 'actionAck',
  start: 'actionStart',
  feedback: 'actionFeedback',
  resolve: 'actionResolve',
  close: 'actionClose',
  reassign: 'actionReassign',
};

const ACTION_PROMPT: Record<TicketAction, MessageKey> = {
  ack: 'confirmAck',
  start: 'confirmStart',
  feedback: 'confirmFeedback',
  resolve: 'confirmResolve',
  close: 'confirmClose',
  reassign: 'confirmReassign',
};

/**
 * Confirms one move on a ticket in a modal dialog (native <dialog>: focus moves into it, Escape
 * cancels, focus returns to the button that opened it). A refusal stays in the dialog with the
 * server's code and message, so the operator can read it and decide.
 */
export function ActionDialog({
  ticket,
  action,
  onDone,
  onClose,
  onStale,
}: {
  ticket: Ticket;
  action: TicketAction;
  onDone: (t: Ticket) => void;
  onClose: () => void;
  /** The server says the ticket changed under us: the page should fetch it again. */
  onStale: () => void;
}) {
  const { t } = useI18n();
  const { client, subcenters, subcenterName, config } = useSession();
  const { term } = useI18n();
  const dialog = useRef<HTMLDialogElement>(null);
  const [note, setNote] = useState('');
  const [target, setTarget] = useState('');
  const [department, setDepartment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [missing, setMissing] = useState(false);
  const noteRequired = action === 'feedback' || action === 'reassign';

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if ((noteRequired && !note.trim()) || (action === 'reassign' && !target && !department)) {
      setMissing(true);
      return;
    }
    setBusy(true);
    setError(undefined);
    const body: ActionBody = {};
    if (action === 'reassign') {
      if (target) body.subcenter = target;
      if (department) body.department = department;
      body.reason = note.trim();
    } else if (note.trim()) {
      body.note = note.trim();
    }
    try {
      onDone(await client.act(ticket.id, action, body));
      dialog.current?.close();
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && STALE.has(err.code)) onStale();
    } finally {
      setBusy(false);
    }
  };

  const titleId = `action-title-${action}`;
  // Any unit but the holder: the sub-centers, and the district center.
  const others = [...subcenters.features.map((f) => f.properties.id), config.city.district.id].filter((id) => id !== ticket.subcenterId);
  const departments = Object.keys(config.departments).filter((id) => id !== ticket.department);
  return (
    <dialog ref={dialog} class="action-dialog" aria-labelledby={titleId} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <h2 id={titleId}>{t(ACTION_LABEL[action])}</h2>
        <p>{t(ACTION_PROMPT[action], { title: ticket.title })}</p>
        {action === 'reassign' && (
          <div class="field">
            <label for="action-target">{t('actionTarget')}</label>
            <select id="action-target" value={target} onChange={(e) => setTarget(e.currentTarget.value)} aria-invalid={missing && !target && !department} aria-describedby="action-target-hint">
              <option value="">{t('actionKeep')}</option>
              {others.map((id) => (
                <option key={id} value={id}>
                  {subcenterName(id)}
                </option>
              ))}
            </select>
          </div>
        )}
        {action === 'reassign' && (
          <div class="field">
            <label for="action-department">{t('actionDepartment')}</label>
            <select id="action-department" value={department} onChange={(e) => setDepartment(e.currentTarget.value)} aria-describedby="action-target-hint">
              <option value="">{t('actionKeep')}</option>
              {departments.map((id) => (
                <option key={id} value={id}>
                  {term('department', id)}
                </option>
              ))}
            </select>
            <p id="action-target-hint" class="hint">
              {t('actionReassignHint')}
            </p>
          </div>
        )}
        <div class="field">
          <label for="action-note">{action === 'reassign' ? t('actionReason') : noteRequired ? t('actionNoteRequired') : t('actionNote')}</label>
          <textarea
            id="action-note"
            rows={3}
            maxLength={2000}
            value={note}
            onInput={(e) => setNote(e.currentTarget.value)}
            required={noteRequired}
            aria-invalid={missing && noteRequired && !note.trim()}
            aria-describedby={missing ? 'action-missing' : undefined}
          />
        </div>
        {missing && (
          <p id="action-missing" class="field-error" role="alert">
            {t('fieldRequired')}
          </p>
        )}
        {error !== undefined && <ErrorMessage error={error} />}
        <div class="dialog-buttons">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? t('actionWorking') : t('actionConfirm')}
          </button>
          <button type="button" onClick={() => dialog.current?.close()} disabled={busy}>
            {t('actionCancel')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
