import { useEffect, useMemo, useState } from 'preact/hooks';
import { ReporterLink, type ReportStatus, type Satisfaction } from '../api.js';
import { ErrorMessage } from '../components/error-message.js';
import { formatTime } from '../format.js';
import { useI18n, type Lang, type MessageKey } from '../i18n.js';

const SATISFACTION: readonly { id: Satisfaction; label: MessageKey }[] = [
  { id: 'satisfied', label: 'satisfied' },
  { id: 'basically_satisfied', label: 'basicallySatisfied' },
  { id: 'dissatisfied', label: 'dissatisfied' },
];

/**
 * The reporter's page (上报人确认结案), opened from the confirmation link with no account: where
 * the report stands, what the handlers last said, and, once it is resolved, whether it is fixed
 * and how satisfied the reporter is. Fixed closes the ticket; not fixed sends it back to work.
 * A reporter whose report joined a ticket reported first (by a sensor or another person) rates
 * each resolution too; the one who reported first confirms the closing.
 */
export function ConfirmPage({ reportId, token, lang, setLang }: { reportId: string; token: string; lang: Lang; setLang: (l: Lang) => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const link = useMemo(() => new ReporterLink(reportId, token), [reportId, token]);
  const [status, setStatus] = useState<ReportStatus>();
  const [error, setError] = useState<unknown>();
  const [fixed, setFixed] = useState<boolean>();
  const [satisfaction, setSatisfaction] = useState<Satisfaction>();
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [answered, setAnswered] = useState(false);

  const load = (): void => {
    link.status().then(
      (s) => {
        setStatus(s);
        setError(undefined);
      },
      setError,
    );
  };
  useEffect(load, [link]);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (fixed === undefined || !satisfaction) return;
    setBusy(true);
    setError(undefined);
    try {
      await link.confirm({ fixed, satisfaction, ...(note.trim() ? { note: note.trim() } : {}) });
      setAnswered(true);
      load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const awaiting = status?.ticket?.awaitingAnswer === true;
  const joined = status?.ticket?.confirms === false;
  return (
    <>
      <header class="topbar">
        <div class="brand">
          <span class="brand-name">StreetWatch</span>
          <span class="brand-city">{t('confirmTitle')}</span>
        </div>
        <button type="button" class="on-dark" lang={lang === 'en' ? 'zh-CN' : 'en'} aria-label={t('switchLanguageLabel')} onClick={() => setLang(lang === 'en' ? 'zh-CN' : 'en')}>
          {t('switchLanguage')}
        </button>
      </header>
      <main id="main" class="confirm-page" tabIndex={-1}>
        <h1>{t('confirmTitle')}</h1>
        {error !== undefined && <ErrorMessage error={error} onRetry={load} />}
        {!status ? (
          error === undefined && <p>{t('loading')}</p>
        ) : (
          <>
            <section class="card" aria-labelledby="confirm-report-h">
              <h2 id="confirm-report-h">{t('confirmYourReport', { category: status.categoryName })}</h2>
              <p class="note">{status.note}</p>
              <dl class="details">
                <dt>{t('confirmReportId')}</dt>
                <dd>{status.id}</dd>
                <dt>{t('confirmReported')}</dt>
                <dd>{formatTime(status.createdAt, i18n.lang)}</dd>
                <dt>{t('confirmStatus')}</dt>
                <dd>{status.status === 'received' ? t('reportReceived') : i18n.term('status', status.status)}</dd>
                {status.statusNote && (
                  <>
                    <dt>{t('confirmLatest')}</dt>
                    <dd>{status.statusNote}</dd>
                  </>
                )}
              </dl>
            </section>
            {answered && (
              <p class="report-filed" role="status">
                {t('confirmThanks')}
              </p>
            )}
            {awaiting && !answered ? (
              <form class="card confirm-form" onSubmit={(e) => void submit(e)}>
                <h2>{t('confirmQuestion')}</h2>
                {joined && <p class="muted">{t('confirmJoined')}</p>}
                <fieldset>
                  <legend>{t('confirmFixed')}</legend>
                  <label class="radio big">
                    <input type="radio" name="fixed" checked={fixed === true} onChange={() => setFixed(true)} /> {t('confirmFixedYes')}
                  </label>
                  <label class="radio big">
                    <input type="radio" name="fixed" checked={fixed === false} onChange={() => setFixed(false)} /> {t('confirmFixedNo')}
                  </label>
                </fieldset>
                <fieldset>
                  <legend>{t('confirmSatisfaction')}</legend>
                  {SATISFACTION.map((s) => (
                    <label key={s.id} class="radio big">
                      <input type="radio" name="satisfaction" checked={satisfaction === s.id} onChange={() => setSatisfaction(s.id)} /> {t(s.label)}
                    </label>
                  ))}
                </fieldset>
                <div class="field">
                  <label for="confirm-note">{t('confirmNote')}</label>
                  <textarea id="confirm-note" rows={3} maxLength={500} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
                </div>
                <button type="submit" class="primary big" disabled={busy || fixed === undefined || !satisfaction}>
                  {t('confirmSubmit')}
                </button>
              </form>
            ) : (
              !answered && <p class="muted">{status.ticket?.closedAt ? t('confirmClosed') : joined ? t('confirmNotOpener') : t('confirmNotYet')}</p>
            )}
          </>
        )}
      </main>
    </>
  );
}
