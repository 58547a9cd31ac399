import { useEffect, useState } from 'preact/hooks';
import type { Ticket } from '../../../core/schemas.js';
import type { ReportView } from '../api.js';
import { formatTime } from '../format.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';

/** Reports whose details the ticket page loads (the ticket lists at most 50; the rest are counted). */
const SHOWN_REPORTS = 10;

/** A report's photo: fetched with the token (the API serves it only to those who may see it), shown as an image. */
export function ReportPhoto({ reportId, alt }: { reportId: string; alt: string }) {
  const { client } = useSession();
  const [url, setUrl] = useState<string>();
  const [gone, setGone] = useState(false);
  useEffect(() => {
    let made: string | undefined;
    client.photoUrl(reportId).then(
      (u) => {
        made = u;
        setUrl(u);
      },
      () => setGone(true),
    );
    return () => {
      if (made) URL.revokeObjectURL(made);
    };
  }, [reportId]);
  const { t } = useI18n();
  if (gone) return <p class="muted">{t('photoGone')}</p>;
  return url ? <img class="report-photo" src={url} alt={alt} /> : null;
}

/** The people's reports merged into the ticket (统一归集): who reported what, with the photo. */
export function TicketReports({ ticket }: { ticket: Ticket }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { client } = useSession();
  const [views, setViews] = useState<ReportView[]>([]);
  const refs = ticket.reports ?? [];
  useEffect(() => {
    let live = true;
    Promise.all(refs.slice(0, SHOWN_REPORTS).map((r) => client.report(r.id).catch(() => undefined))).then((all) => {
      if (live) setViews(all.filter((v): v is ReportView => v !== undefined));
    });
    return () => {
      live = false;
    };
  }, [ticket.id, refs.length]);
  if (refs.length === 0) return null;
  return (
    <section class="card" aria-labelledby="reports-h">
      <h2 id="reports-h">{t('ticketReports', { n: ticket.reportCount ?? refs.length })}</h2>
      <ul class="ticket-reports">
        {views.map((r) => (
          <li key={r.id}>
            <p>
              <strong>{r.channel === 'grid' ? t('reportByGrid') : t('reportByCitizen')}</strong> <span class="muted">{r.id} · {formatTime(r.createdAt, i18n.lang)}</span>
              {r.ticket?.confirms && <span class="badge-confirms">{t('reportOpener')}</span>}
            </p>
            <p class="note">{r.note}</p>
            {r.address && <p class="muted">{r.address}</p>}
            {r.photo && <ReportPhoto reportId={r.id} alt={t('reportPhotoAlt', { note: r.note.slice(0, 60) })} />}
            {r.mediaUrl && (
              <p>
                <a href={r.mediaUrl} rel="noopener noreferrer nofollow" target="_blank">
                  {t('reportMediaLink')}
                </a>
              </p>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
