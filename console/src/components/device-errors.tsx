import { useEffect, useState } from 'preact/hooks';
import type { DeviceErrorEntry } from '../api.js';
import { formatTime } from '../format.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorMessage } from './error-message.js';

/** Refusals the device panel shows: the newest few; the API keeps more (GET /api/devices/{id}/errors). */
export const DEVICE_ERRORS_SHOWN = 10;

/** A device's recent refusals, as its errors topic carried them, newest first. */
export function DeviceErrors({ deviceId }: { deviceId: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { client } = useSession();
  const [errors, setErrors] = useState<DeviceErrorEntry[]>();
  const [failure, setFailure] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    setFailure(undefined);
    client.deviceErrors(deviceId, DEVICE_ERRORS_SHOWN, abort.signal).then(setErrors, (err: unknown) => {
      if ((err as Error).name !== 'AbortError') setFailure(err);
    });
    return () => abort.abort();
  }, [client, deviceId, attempt]);

  if (failure !== undefined) return <ErrorMessage error={failure} onRetry={() => setAttempt((n) => n + 1)} />;
  if (!errors) return null;
  return (
    <section class="device-errors" aria-label={t('deviceErrorsTitle')}>
      <h3>{t('deviceErrorsTitle')}</h3>
      {errors.length === 0 ? (
        <p class="muted">{t('deviceErrorsNone')}</p>
      ) : (
        <table>
          <tbody>
            {errors.map((e) => (
              <tr key={`${e.at}-${e.ref}-${e.code}-${e.message}`}>
                <td>
                  <time dateTime={new Date(e.at).toISOString()}>{formatTime(e.at, i18n.lang)}</time>
                </td>
                <td>
                  <code>{e.code}</code>
                </td>
                <td>{e.message}</td>
                <td>
                  <code>{e.topic}</code>
                </td>
                <td>
                  <code>{e.ref}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
