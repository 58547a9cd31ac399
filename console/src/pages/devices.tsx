import { useState } from 'preact/hooks';
import { METRICS } from '../../../core/metric-catalog.js';
import type { DeviceView } from '../../../core/schemas.js';
import { DeviceStatus } from '../components/badges.js';
import { DeviceErrors } from '../components/device-errors.js';
import { DeviceReadings, metricLabel } from '../components/device-readings.js';
import { ErrorMessage } from '../components/error-message.js';
import { StoragePanel } from '../components/storage-panel.js';
import { formatAgo, formatTime } from '../format.js';
import { useDevices, useNow } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { PageHeading } from './page.js';

/** Readings window on the devices page. */
const DEVICE_READINGS_MS = 6 * 3_600_000;

export function DevicesPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const session = useSession();
  const now = useNow(5_000);
  const { devices, error, reload } = useDevices(session.client);
  const [open, setOpen] = useState<string>();

  return (
    <>
      <PageHeading title={t('devicesTitle')} />
      {session.isAdmin ? <ProvisionForm onProvisioned={reload} /> : <p class="muted">{t('adminOnly')}</p>}
      {session.isAdmin && <StoragePanel />}
      {error !== undefined && <ErrorMessage error={error} onRetry={reload} />}
      {!devices ? (
        <p>{t('loading')}</p>
      ) : devices.length === 0 ? (
        <p class="empty">{t('deviceNone')}</p>
      ) : (
        <div class="table-wrap">
          <table class="devices">
            <caption class="visually-hidden">{t('devicesTitle')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('deviceId')}</th>
                <th scope="col">{t('deviceKind')}</th>
                <th scope="col">{t('deviceStatus')}</th>
                <th scope="col">{t('deviceLastSeen')}</th>
                <th scope="col">{t('deviceLocation')}</th>
                <th scope="col">{t('deviceReadings')}</th>
              </tr>
            </thead>
            <tbody>
              {[...devices].sort((a, b) => a.id.localeCompare(b.id)).map((d) => (
                <DeviceRow key={d.id} device={d} now={now} open={open === d.id} onToggle={() => setOpen(open === d.id ? undefined : d.id)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function DeviceRow({ device: d, now, open, onToggle }: { device: DeviceView; now: number; open: boolean; onToggle: () => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const panel = `readings-${d.id}`;
  return (
    <>
      <tr data-device-id={d.id}>
        <th scope="row">{d.id}</th>
        <td>{METRICS.has(d.kind) ? metricLabel(d.kind, i18n) : d.kind}</td>
        <td>
          <DeviceStatus status={d.status} />
        </td>
        <td>{d.lastSeen === null ? t('deviceNever') : <time dateTime={new Date(d.lastSeen).toISOString()} title={formatTime(d.lastSeen, i18n.lang)}>{formatAgo(d.lastSeen, now, i18n)}</time>}</td>
        <td>{d.location ? `${d.location.lat.toFixed(5)}, ${d.location.lon.toFixed(5)}` : t('notApplicable')}</td>
        <td>
          <button type="button" class="link-button" aria-expanded={open} aria-controls={panel} onClick={onToggle}>
            {open ? t('deviceHideReadings') : t('deviceShowReadings', { id: d.id })}
          </button>
        </td>
      </tr>
      {open && (
        <tr id={panel} class="readings-row">
          <td colSpan={6}>
            <DeviceReadings deviceId={d.id} from={Math.floor(now / 60_000) * 60_000 - DEVICE_READINGS_MS} to={Math.floor(now / 60_000 + 1) * 60_000} />
            <DeviceErrors deviceId={d.id} />
          </td>
        </tr>
      )}
    </>
  );
}

/** Provisioning (admin): the secret comes back once and is shown once, with how to use it. */
function ProvisionForm({ onProvisioned }: { onProvisioned: () => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { client, subcenters } = useSession();
  const [id, setId] = useState('');
  const [kind, setKind] = useState('water_level');
  const [lat, setLat] = useState('');
  const [lon, setLon] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [issued, setIssued] = useState<{ id: string; secret: string }>();
  const [copied, setCopied] = useState(false);

  // Somewhere in the city, so that a quick test device lands in a jurisdiction.
  const center = (): [number, number] => {
    const ring = subcenters.features[0]?.geometry.type === 'Polygon' ? subcenters.features[0].geometry.coordinates[0] : undefined;
    if (!ring?.length) return [0, 0];
    const xs = ring.map((p) => p[0]!);
    const ys = ring.map((p) => p[1]!);
    return [(Math.min(...ys) + Math.max(...ys)) / 2, (Math.min(...xs) + Math.max(...xs)) / 2];
  };
  const [defLat, defLon] = center();

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setIssued(undefined);
    setCopied(false);
    try {
      const res = await client.provision({ id: id.trim(), kind, location: { lat: Number(lat || defLat), lon: Number(lon || defLon) } });
      setIssued({ id: res.id, secret: res.secret });
      setId('');
      onProvisioned();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card provision" aria-labelledby="provision-h">
      <h2 id="provision-h">{t('provisionTitle')}</h2>
      <form onSubmit={submit} class="provision-form">
        <div class="field">
          <label for="p-id">{t('provisionId')}</label>
          <input id="p-id" required pattern="[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}" maxLength={64} value={id} onInput={(e) => setId(e.currentTarget.value)} aria-describedby="p-id-hint" />
          <p id="p-id-hint" class="hint">
            {t('provisionIdHint')}
          </p>
        </div>
        <div class="field">
          <label for="p-kind">{t('provisionKind')}</label>
          <select id="p-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {[...METRICS.keys()].map((m) => (
              <option key={m} value={m}>
                {metricLabel(m, i18n)} ({m})
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="p-lat">{t('provisionLat')}</label>
          <input id="p-lat" type="number" step="any" min={-90} max={90} placeholder={defLat.toFixed(5)} value={lat} onInput={(e) => setLat(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="p-lon">{t('provisionLon')}</label>
          <input id="p-lon" type="number" step="any" min={-180} max={180} placeholder={defLon.toFixed(5)} value={lon} onInput={(e) => setLon(e.currentTarget.value)} />
        </div>
        <div class="field field-submit">
          <button type="submit" class="primary" disabled={busy}>
            {t('provisionSubmit')}
          </button>
        </div>
      </form>
      {error !== undefined && <ErrorMessage error={error} />}
      {issued && (
        <div class="secret-once" role="alert">
          <h3>{t('provisionSecretTitle', { id: issued.id })}</h3>
          <p>
            <strong>{t('provisionSecretOnce')}</strong>
          </p>
          <p>
            <code class="secret" data-testid="device-secret">
              {issued.secret}
            </code>
          </p>
          <p class="muted">{t('provisionSecretMqtt')}</p>
          <div class="dialog-buttons">
            <button
              type="button"
              onClick={() => {
                void navigator.clipboard?.writeText(issued.secret).then(() => setCopied(true));
              }}
            >
              {copied ? t('provisionCopied') : t('provisionCopy')}
            </button>
            <button type="button" onClick={() => setIssued(undefined)}>
              {t('provisionDismiss')}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
