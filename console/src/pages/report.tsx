import { useEffect, useState } from 'preact/hooks';
import type { Grade } from '../../../core/schemas.js';
import type { FiledReport, ReportView } from '../api.js';
import { ErrorMessage } from '../components/error-message.js';
import { ReportPhoto } from '../components/ticket-reports.js';
import { formatTime } from '../format.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { GRADES } from '../tickets.js';
import { PageHeading } from './page.js';

/** Photos the server takes (the bytes are checked there too). */
const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
/** A phone photo is shrunk to this many pixels on its long side before upload: enough to see the problem, small to send. */
const PHOTO_MAX_SIDE = 1600;

/**
 * Shrinks a photo in the browser (a phone's camera makes 5–10 MB) to a JPEG under the server's
 * limit; what cannot be decoded here is sent as it is, and the server judges it.
 */
async function shrink(file: File): Promise<Blob> {
  if (!PHOTO_TYPES.includes(file.type)) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.8));
    return blob && blob.size < file.size ? blob : file;
  } catch {
    return file;
  }
}

/**
 * A grid worker's report (网格员上报), made for a phone: what (category), how serious, where (the
 * phone's position, or typed), a note and a photo from the camera. The report joins the ticket
 * of the same incident if there is one; the list below follows each report to its ticket.
 */
export function ReportPage() {
  const i18n = useI18n();
  const { t, term } = i18n;
  const session = useSession();
  const categories = Object.keys(session.config.categories);
  const [category, setCategory] = useState(categories[0] ?? '');
  const [grade, setGrade] = useState<Grade | ''>('');
  const [note, setNote] = useState('');
  const [lat, setLat] = useState('');
  const [lon, setLon] = useState('');
  const [address, setAddress] = useState('');
  const [photo, setPhoto] = useState<File>();
  const [preview, setPreview] = useState<string>();
  const [locating, setLocating] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [filed, setFiled] = useState<FiledReport>();
  const [missing, setMissing] = useState(false);
  const [mine, setMine] = useState<ReportView[]>();

  const load = (): void => {
    session.client.reports(50).then(setMine, () => setMine([]));
  };
  useEffect(load, []);
  useEffect(() => {
    if (!photo) return;
    const url = URL.createObjectURL(photo);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [photo]);

  const locate = (): void => {
    if (!('geolocation' in navigator)) return;
    setLocating(true);
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        setLat(pos.coords.latitude.toFixed(6));
        setLon(pos.coords.longitude.toFixed(6));
        setLocating(false);
      },
      () => setLocating(false),
      { enableHighAccuracy: true, timeout: 10_000 },
    );
  };

  const place = (): { lat: number; lon: number } | undefined => {
    const la = Number(lat);
    const lo = Number(lon);
    return lat.trim() && lon.trim() && Number.isFinite(la) && Number.isFinite(lo) && Math.abs(la) <= 90 && Math.abs(lo) <= 180 ? { lat: la, lon: lo } : undefined;
  };

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const location = place();
    if (!category || !note.trim() || !location) {
      setMissing(true);
      return;
    }
    setMissing(false);
    setBusy(true);
    setError(undefined);
    try {
      const uploaded = photo ? await session.client.uploadPhoto(await shrink(photo)) : undefined;
      const report = await session.client.fileReport({
        category,
        note: note.trim(),
        location,
        ...(uploaded ? { photo: uploaded.id } : {}),
        ...(grade ? { grade } : {}),
        ...(address.trim() ? { address: address.trim() } : {}),
      });
      setFiled(report);
      setNote('');
      setPhoto(undefined);
      setPreview(undefined);
      load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="report-page">
      <PageHeading title={t('reportTitle')} />
      <p class="muted">{t('reportIntro')}</p>
      <form class="card report-form" onSubmit={(e) => void submit(e)} noValidate>
        <div class="field">
          <label for="r-category">{t('reportCategory')}</label>
          <select id="r-category" value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
            {categories.map((c) => (
              <option key={c} value={c}>
                {term('category', c)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="r-grade">{t('reportGrade')}</label>
          <select id="r-grade" value={grade} onChange={(e) => setGrade(e.currentTarget.value as Grade | '')} aria-describedby="r-grade-hint">
            <option value="">{t('reportGradeDefault', { g: session.config.governance.reports.grade })}</option>
            {GRADES.map((g) => (
              <option key={g} value={g}>
                {t('gradeLabel', { g })}
              </option>
            ))}
          </select>
          <p id="r-grade-hint" class="hint">
            {t('reportGradeHint')}
          </p>
        </div>
        <div class="field">
          <label for="r-note">{t('reportNote')}</label>
          <textarea id="r-note" rows={4} maxLength={4000} required value={note} onInput={(e) => setNote(e.currentTarget.value)} aria-invalid={missing && !note.trim()} />
        </div>
        <fieldset class="report-place">
          <legend>{t('reportPlace')}</legend>
          <button type="button" class="big" onClick={locate} disabled={locating}>
            {locating ? t('reportLocating') : t('reportLocate')}
          </button>
          <div class="place-inputs">
            <div class="field">
              <label for="r-lat">{t('reportLat')}</label>
              <input id="r-lat" inputMode="decimal" value={lat} onInput={(e) => setLat(e.currentTarget.value)} aria-invalid={missing && !place()} />
            </div>
            <div class="field">
              <label for="r-lon">{t('reportLon')}</label>
              <input id="r-lon" inputMode="decimal" value={lon} onInput={(e) => setLon(e.currentTarget.value)} aria-invalid={missing && !place()} />
            </div>
          </div>
          <div class="field">
            <label for="r-address">{t('reportAddress')}</label>
            <input id="r-address" maxLength={256} value={address} onInput={(e) => setAddress(e.currentTarget.value)} />
          </div>
        </fieldset>
        <div class="field">
          <label for="r-photo">{t('reportPhoto')}</label>
          <input id="r-photo" type="file" accept={PHOTO_TYPES.join(',')} capture="environment" onChange={(e) => setPhoto(e.currentTarget.files?.[0])} aria-describedby="r-photo-hint" />
          <p id="r-photo-hint" class="hint">
            {t('reportPhotoHint')}
          </p>
          {preview && <img class="report-photo" src={preview} alt={t('reportPhotoPreview')} />}
        </div>
        {missing && (
          <p class="field-error" role="alert">
            {t('reportMissing')}
          </p>
        )}
        {error !== undefined && <ErrorMessage error={error} />}
        <button type="submit" class="primary big" disabled={busy}>
          {busy ? t('actionWorking') : t('reportSubmit')}
        </button>
        <div role="status">
          {filed && (
            <p class="report-filed">
              {t('reportFiled', { id: filed.id })} <a href={filed.confirmUrl}>{t('reportConfirmLink')}</a>
            </p>
          )}
        </div>
      </form>

      <section class="card" aria-labelledby="my-reports-h">
        <h2 id="my-reports-h">{t('reportMine')}</h2>
        {mine === undefined ? (
          <p>{t('loading')}</p>
        ) : mine.length === 0 ? (
          <p class="muted">{t('reportNone')}</p>
        ) : (
          <ul class="my-reports">
            {mine.map((r) => (
              <li key={r.id} data-report-id={r.id}>
                <p>
                  <strong>{term('category', r.category)}</strong> <span class="muted">{formatTime(r.createdAt, i18n.lang)}</span>
                </p>
                <p class="note">{r.note}</p>
                <p>
                  {r.ticket ? (
                    <>
                      <a href={`#/tickets/${encodeURIComponent(r.ticket.id)}`}>{r.ticket.id}</a> · {term('status', r.ticket.status)} · {session.subcenterName(r.ticket.subcenterId)}
                    </>
                  ) : (
                    <span class="muted">{t('reportReceived')}</span>
                  )}
                </p>
                {r.photo && <ReportPhoto reportId={r.id} alt={t('reportPhotoAlt', { note: r.note.slice(0, 60) })} />}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
