import { useEffect, useState } from 'preact/hooks';
import type { StorageView } from '../../../core/api-schemas.js';
import { formatTime } from '../format.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorMessage } from './error-message.js';

const DAY = 86_400_000;
const mib = (n: number): string => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

/**
 * What the stores hold, for the administrator (GET /api/storage, docs/OPERATIONS.md): each
 * database's size, the readings per resolution since when, the last prune and free disk space.
 */
export function StoragePanel() {
  const i18n = useI18n();
  const { t } = i18n;
  const { client } = useSession();
  const [view, setView] = useState<StorageView>();
  const [failure, setFailure] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    setFailure(undefined);
    client.storage(abort.signal).then(setView, (err: unknown) => {
      if ((err as Error).name !== 'AbortError') setFailure(err);
    });
    return () => abort.abort();
  }, [client, attempt]);

  if (failure !== undefined) return <ErrorMessage error={failure} onRetry={() => setAttempt((n) => n + 1)} />;
  if (!view) return null;
  const prune = view.tasks.find((r) => r.task === 'prune-raw');
  const tiers = [
    ['raw', t('storageRaw', { days: Math.round(view.retention.rawMs / DAY) })],
    ['5m', t('storage5m', { days: Math.round(view.retention.fiveMinuteMs / DAY) })],
    ['1h', t('storage1h', { days: Math.round(view.retention.hourMs / DAY) })],
  ] as const;
  return (
    <section class="storage" aria-label={t('storageTitle')}>
      <h2>{t('storageTitle')}</h2>
      {view.disk && (
        <p class={view.disk.low ? 'storage-disk-low' : 'muted'} role={view.disk.low ? 'alert' : undefined}>
          {t('storageDisk', { free: mib(view.disk.freeBytes), total: mib(view.disk.totalBytes) })}
          {view.disk.low && ` ${t('storageDiskLow', { warn: mib(view.disk.warnBelowBytes) })}`}
        </p>
      )}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('storageDatabase')}</th>
              <th scope="col">{t('storageSize')}</th>
            </tr>
          </thead>
          <tbody>
            {view.databases.map((d) => (
              <tr key={d.name}>
                <th scope="row">{d.name}</th>
                <td>{mib(d.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {view.series && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('storageReadings')}</th>
                <th scope="col">{t('storageRows')}</th>
                <th scope="col">{t('storageOldest')}</th>
              </tr>
            </thead>
            <tbody>
              {tiers.map(([res, label]) => (
                <tr key={res}>
                  <th scope="row">{label}</th>
                  <td>{view.series!.rows[res] ?? '—'}</td>
                  <td>{view.series!.oldest[res] === null ? '—' : formatTime(view.series!.oldest[res]!, i18n.lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="muted">{prune ? t('storageLastPrune', { at: formatTime(prune.at, i18n.lang), n: prune.handled }) : t('storageNeverPruned')}</p>
    </section>
  );
}
