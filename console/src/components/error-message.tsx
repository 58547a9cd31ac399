import { ApiError, NETWORK_ERROR } from '../api.js';
import { useI18n, type MessageKey } from '../i18n.js';

const FRIENDLY: Record<string, MessageKey> = {
  SW_ERR_TICKET_TRANSITION: 'errorTransition',
  SW_ERR_TICKET_CONFLICT: 'errorConflict',
  SW_ERR_FORBIDDEN: 'errorForbidden',
  SW_ERR_NOT_FOUND: 'errorNotFound',
  SW_ERR_BODY_INVALID: 'errorInvalid',
  SW_ERR_DEVICE_EXISTS: 'errorExists',
  SW_ERR_JOINT_PENDING: 'errorJointPending',
  SW_ERR_RETURN_REFUSED: 'errorReturn',
  SW_ERR_RETURN_LIMIT: 'errorReturn',
  SW_ERR_EXTENSION_REFUSED: 'errorExtension',
  SW_ERR_RATE_LIMITED: 'errorRateLimited',
  SW_ERR_PHOTO_INVALID: 'errorPhoto',
  SW_ERR_CONFIRMATION_REFUSED: 'errorConfirmation',
  [NETWORK_ERROR]: 'errorNetwork',
};

/** What went wrong in words, with the server's code and message verbatim for support. */
export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  const e = error instanceof ApiError ? error : new ApiError(0, 'ERROR', String(error));
  const friendly = e.routeMissing ? 'errorUnavailable' : (FRIENDLY[e.code] ?? 'errorTitle');
  return (
    <div class="error-message" role="alert">
      <p class="error-summary">{t(friendly)}</p>
      <p class="error-detail">
        <code>{e.code}</code> {e.message}
      </p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t('retry')}
        </button>
      )}
    </div>
  );
}
