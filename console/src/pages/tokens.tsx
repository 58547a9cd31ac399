import { useEffect, useState } from 'preact/hooks';
import type { TokenKind, UnitToken } from '../api.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { ErrorMessage } from '../components/error-message.js';
import { formatTime } from '../format.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { PageHeading } from './page.js';

/** The wall view's address with a display token: the token travels in the fragment, never to a server log. */
export function wallLink(token: string): string {
  return `${location.origin}${location.pathname}#/wall?display=${encodeURIComponent(token)}`;
}

/** The admin issues per-unit and display tokens (shown once) and revokes them. */
export function TokensPage() {
  const i18n = useI18n();
  const { t, term } = i18n;
  const { client, subcenters, config, subcenterName } = useSession();
  // Sub-centers, their communities and grids, and the district center.
  const units = [...subcenters.features.map((f) => f.properties.id), ...config.localUnits.map((u) => u.id), config.city.district.id];
  const departments = Object.keys(config.departments);
  const [department, setDepartment] = useState(departments[0] ?? '');
  const [tokens, setTokens] = useState<UnitToken[]>();
  const [error, setError] = useState<unknown>();
  const [unit, setUnit] = useState(units[0] ?? '');
  const [label, setLabel] = useState('');
  const [kind, setKind] = useState<TokenKind>('unit');
  const [busy, setBusy] = useState(false);
  const [issued, setIssued] = useState<{ unit: string; token: string; kind: TokenKind }>();
  const [copied, setCopied] = useState(false);
  const [revoking, setRevoking] = useState<UnitToken>();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    client.tokens().then(setTokens, setError);
  }, [client, attempt]);
  const reload = (): void => setAttempt((n) => n + 1);

  const issue = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setIssued(undefined);
    setCopied(false);
    try {
      const res = await client.issueToken(kind === 'department' ? department : unit, kind, label.trim() || undefined);
      setIssued({ unit: res.unit, token: res.token, kind: res.kind });
      setLabel('');
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageHeading title={t('tokensTitle')} />
      <p class="muted">{t('tokensIntro')}</p>
      <section class="card" aria-labelledby="issue-h">
        <h2 id="issue-h">{t('tokenIssueTitle')}</h2>
        <form class="provision-form" onSubmit={issue}>
          {(kind === 'unit' || kind === 'display') && (
            <div class="field">
              <label for="t-unit">{t('tokenUnit')}</label>
              <select id="t-unit" value={unit} onChange={(e) => setUnit(e.currentTarget.value)}>
                {units.map((id) => (
                  <option key={id} value={id}>
                    {subcenterName(id)}
                  </option>
                ))}
              </select>
            </div>
          )}
          {kind === 'department' && (
            <div class="field">
              <label for="t-department">{t('tokenDepartment')}</label>
              <select id="t-department" value={department} onChange={(e) => setDepartment(e.currentTarget.value)}>
                {departments.map((id) => (
                  <option key={id} value={id}>
                    {term('department', id)}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div class="field">
            <label for="t-kind">{t('tokenKind')}</label>
            <select id="t-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as TokenKind)} aria-describedby="t-kind-hint">
              <option value="unit">{t('tokenKindUnit')}</option>
              <option value="display">{t('tokenKindDisplay')}</option>
              <option value="department">{t('tokenKindDepartment')}</option>
              <option value="reporter">{t('tokenKindReporter')}</option>
            </select>
            <p id="t-kind-hint" class="hint">
              {kind === 'display' ? t('tokenKindDisplayHint') : kind === 'department' ? t('tokenKindDepartmentHint') : kind === 'reporter' ? t('tokenKindReporterHint') : t('tokenKindUnitHint')}
            </p>
          </div>
          <div class="field">
            <label for="t-label">{kind === 'reporter' ? t('tokenReporterLabel') : t('tokenLabel')}</label>
            <input id="t-label" maxLength={128} value={label} required={kind === 'reporter'} onInput={(e) => setLabel(e.currentTarget.value)} />
          </div>
          <div class="field field-submit">
            <button type="submit" class="primary" disabled={busy}>
              {t('tokenIssue')}
            </button>
          </div>
        </form>
        {error !== undefined && <ErrorMessage error={error} onRetry={reload} />}
        {issued && (
          <div class="secret-once" role="alert">
            <h3>{t('tokenIssued', { unit: issued.kind === 'department' ? term('department', issued.unit) : issued.kind === 'reporter' ? label || issued.unit : subcenterName(issued.unit) })}</h3>
            <p>
              <strong>{t('tokenOnce')}</strong>
            </p>
            <p>
              <code class="secret" data-testid="unit-token" data-unit={issued.unit} data-kind={issued.kind}>
                {issued.token}
              </code>
            </p>
            {issued.kind === 'display' && (
              <p>
                {t('tokenWallLink')}{' '}
                <a class="secret" href={wallLink(issued.token)} target="_blank" rel="noreferrer" data-testid="wall-link">
                  {wallLink(issued.token)}
                </a>
              </p>
            )}
            <div class="dialog-buttons">
              <button type="button" onClick={() => void navigator.clipboard?.writeText(issued.token).then(() => setCopied(true))}>
                {copied ? t('provisionCopied') : t('tokenCopy')}
              </button>
              <button type="button" onClick={() => setIssued(undefined)}>
                {t('provisionDismiss')}
              </button>
            </div>
          </div>
        )}
      </section>

      <section class="card" aria-labelledby="list-h">
        <h2 id="list-h">{t('tokenList')}</h2>
        {!tokens ? (
          <p>{t('loading')}</p>
        ) : tokens.length === 0 ? (
          <p class="muted">{t('tokenNone')}</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('tokenLabel')}</th>
                  <th scope="col">{t('tokenUnit')}</th>
                  <th scope="col">{t('tokenKind')}</th>
                  <th scope="col">{t('tokenCreated')}</th>
                  <th scope="col">{t('tokenState')}</th>
                  <th scope="col">
                    <span class="visually-hidden">{t('tokenRevoke')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((tk) => (
                  <tr key={tk.id}>
                    <th scope="row">{tk.label}</th>
                    <td>{tk.kind === 'department' ? term('department', tk.unit) : subcenterName(tk.unit)}</td>
                    <td>{tk.kind === 'display' ? t('tokenKindDisplay') : tk.kind === 'department' ? t('tokenKindDepartment') : tk.kind === 'reporter' ? t('tokenKindReporter') : t('tokenKindUnit')}</td>
                    <td>{formatTime(tk.createdAt, i18n.lang)}</td>
                    <td>{tk.revokedAt === null ? t('tokenActive') : `${t('tokenRevoked')} · ${formatTime(tk.revokedAt, i18n.lang)}`}</td>
                    <td>
                      {tk.revokedAt === null && (
                        <button type="button" aria-label={t('tokenRevokeLabel', { label: tk.label })} onClick={() => setRevoking(tk)}>
                          {t('tokenRevoke')}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {revoking && (
        <ConfirmDialog
          title={t('tokenRevoke')}
          message={t('tokenRevokeConfirm', { label: revoking.label, unit: subcenterName(revoking.unit) })}
          confirmLabel={t('tokenRevoke')}
          onConfirm={async () => {
            await client.revokeToken(revoking.id);
            reload();
          }}
          onClose={() => setRevoking(undefined)}
        />
      )}
    </>
  );
}
