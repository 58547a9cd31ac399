import { useEffect, useRef, useState } from 'preact/hooks';
import { useI18n } from '../i18n.js';
import { ErrorMessage } from './error-message.js';

/** A yes-or-no question in a modal dialog; a refusal from the server stays in it, coded. */
export function ConfirmDialog({ title, message, confirmLabel, onConfirm, onClose }: { title: string; message: string; confirmLabel: string; onConfirm: () => Promise<void>; onClose: () => void }) {
  const { t } = useI18n();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const confirm = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      dialog.current?.close();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} class="action-dialog" aria-labelledby="confirm-title" onClose={onClose}>
      <h2 id="confirm-title">{title}</h2>
      <p>{message}</p>
      {error !== undefined && <ErrorMessage error={error} />}
      <div class="dialog-buttons">
        <button type="button" class="primary danger" disabled={busy} onClick={() => void confirm()}>
          {busy ? t('actionWorking') : confirmLabel}
        </button>
        <button type="button" disabled={busy} onClick={() => dialog.current?.close()}>
          {t('actionCancel')}
        </button>
      </div>
    </dialog>
  );
}
