import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { ErrorMessage } from '../components/error-message.js';
import { useI18n } from '../i18n.js';

/** Sign-in with a bearer token; the server says whose it is. */
export function Login({ onLogin, error: initialError, hint }: { onLogin: (token: string) => Promise<void>; error?: unknown; hint?: string }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(initialError);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!token.trim()) {
      setError(new ApiError(401, 'SW_ERR_UNAUTHORIZED', t('fieldRequired')));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await onLogin(token.trim());
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const unauthorized = error instanceof ApiError && error.code === 'SW_ERR_UNAUTHORIZED';
  return (
    <main id="main" class="login">
      <form onSubmit={submit} class="card login-card" aria-labelledby="login-title">
        <h1 id="login-title">{t('loginTitle')}</h1>
        {hint && <p class="login-note">{hint}</p>}
        <div class="field">
          <label for="token">{t('loginToken')}</label>
          <input
            id="token"
            ref={input}
            type="password"
            autocomplete="off"
            spellcheck={false}
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            aria-describedby="token-hint"
            aria-invalid={unauthorized}
          />
          <p id="token-hint" class="hint">
            {t('loginHint')}
          </p>
        </div>
        {unauthorized ? (
          <p class="error-message" role="alert">
            {t('loginInvalid')}
          </p>
        ) : (
          error !== undefined && <ErrorMessage error={error} />
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('loginChecking') : t('loginSubmit')}
        </button>
      </form>
    </main>
  );
}
