import { useEffect, useState } from 'preact/hooks';
import type { Ticket } from '../../../core/schemas.js';
import type { Decisions } from '../api.js';
import { GradeBadge, StatusBadge } from '../components/badges.js';
import { ErrorMessage } from '../components/error-message.js';
import { TicketGovernance } from '../components/ticket-governance.js';
import { formatTime } from '../format.js';
import { standing } from '../governance.js';
import { useFeed } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { PageHeading } from './page.js';

/** What waits on this center, fetched again whenever the live feed changes. */
function useDecisions(): { decisions: Decisions | undefined; error: unknown; reload: () => void } {
  const session = useSession();
  const feed = useFeed(session.feed);
  const [decisions, setDecisions] = useState<Decisions>();
  const [error, setError] = useState<unknown>();
  const [n, setN] = useState(0);
  const version = feed.list().reduce((v, tk) => v + tk.version, 0);
  useEffect(() => {
    session.client.decisions().then(
      (d) => {
        setDecisions(d);
        setError(undefined);
      },
      (err: unknown) => setError(err),
    );
  }, [version, n]);
  return { decisions, error, reload: () => setN((x) => x + 1) };
}

/** One ticket waiting on a decision, with its returns and extensions and the forms to decide. */
function Waiting({ ticket, onChanged }: { ticket: Ticket; onChanged: (t: Ticket) => void }) {
  const i18n = useI18n();
  const session = useSession();
  return (
    <li class="card decision-card" data-ticket-id={ticket.id}>
      <h2>
        <a href={`#/tickets/${encodeURIComponent(ticket.id)}`}>{ticket.title}</a>
      </h2>
      <p>
        <GradeBadge grade={ticket.grade} /> <StatusBadge status={ticket.status} /> <span class="muted">{session.subcenterName(ticket.subcenterId)} · {i18n.term('department', ticket.department)} · {formatTime(ticket.createdAt, i18n.lang)}</span>
      </p>
      <TicketGovernance ticket={ticket} stand={standing(ticket, session.principal, session.config.localUnits)} onChanged={onChanged} />
    </li>
  );
}

function DecisionPage({ kind }: { kind: 'returns' | 'extensions' }) {
  const { t } = useI18n();
  const session = useSession();
  const feed = useFeed(session.feed);
  const { decisions, error, reload } = useDecisions();
  const onChanged = (tk: Ticket): void => {
    session.feed.upsert(tk);
    reload();
  };
  const waiting = decisions ? (kind === 'returns' ? decisions.returns : decisions.extensions) : undefined;
  // The token's own: tickets it returned or asked more time for (from what it sees).
  const mine = feed.list().filter((tk) => (kind === 'returns' ? (tk.returns ?? []).length > 0 : (tk.extensions ?? []).length > 0));
  return (
    <>
      <PageHeading title={t(kind === 'returns' ? 'returnsTitle' : 'extensionsTitle')} />
      <p class="muted">{t(kind === 'returns' ? 'returnsIntro' : 'extensionsIntro')}</p>
      {error !== undefined && <ErrorMessage error={error} onRetry={reload} />}
      <h2 id="waiting-h">{t('decisionsWaiting')}</h2>
      {waiting === undefined ? (
        <p>{t('loading')}</p>
      ) : waiting.length === 0 ? (
        <p class="muted">{t('decisionsNone')}</p>
      ) : (
        <ul class="decision-cards" aria-labelledby="waiting-h">
          {waiting.map((tk) => (
            <Waiting key={tk.id} ticket={tk} onChanged={onChanged} />
          ))}
        </ul>
      )}
      {kind === 'returns' && decisions && decisions.confirmations.length > 0 && (
        <>
          <h2 id="confirmations-h">{t('confirmationsWaiting')}</h2>
          <ul class="decision-cards" aria-labelledby="confirmations-h">
            {decisions.confirmations.map((tk) => (
              <li key={tk.id} class="card decision-card" data-ticket-id={tk.id}>
                <a href={`#/tickets/${encodeURIComponent(tk.id)}`}>{tk.title}</a> <span class="muted">{session.subcenterName(tk.subcenterId)}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      <h2 id="history-h">{t('decisionsHistory')}</h2>
      {mine.length === 0 ? (
        <p class="muted">{t('decisionsNoHistory')}</p>
      ) : (
        <ul class="decision-history" aria-labelledby="history-h">
          {mine.map((tk) => (
            <li key={tk.id}>
              <a href={`#/tickets/${encodeURIComponent(tk.id)}`}>{tk.title}</a>{' '}
              <span class="muted">
                {kind === 'returns'
                  ? (tk.returns ?? []).map((r) => (r.ruling ? (r.ruling.decision === 'sent_back' ? t('rulingSentBack') : t('rulingReassigned')) : t('returnWaiting'))).join(' · ')
                  : (tk.extensions ?? []).map((e) => (e.decision ? (e.decision.approved ? t('extensionApproved') : e.decision.by === 'system' ? t('extensionLapsed') : t('extensionRefused')) : t('extensionWaiting'))).join(' · ')}
              </span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** Returns (退单): the district rules on the tickets returned to it; everyone sees their returns' rulings. */
export function ReturnsPage() {
  return <DecisionPage kind="returns" />;
}

/** Extensions (延期): a parent decides the requests for more time addressed to it. */
export function ExtensionsPage() {
  return <DecisionPage kind="extensions" />;
}
