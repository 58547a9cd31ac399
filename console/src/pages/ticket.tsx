import { useEffect, useState } from 'preact/hooks';
import type { Location, Ticket } from '../../../core/schemas.js';
import type { TicketAction, TicketDetail } from '../api.js';
import { ACTION_LABEL, ActionDialog } from '../components/action-dialog.js';
import { GradeBadge, StatusBadge } from '../components/badges.js';
import { Deadline } from '../components/deadline.js';
import { CityMap, type AlertPoint } from '../components/city-map.js';
import { DeviceReadings, metricLabel } from '../components/device-readings.js';
import { ErrorMessage } from '../components/error-message.js';
import { JointPanel } from '../components/joint-panel.js';
import { TicketGovernance } from '../components/ticket-governance.js';
import { TicketReports } from '../components/ticket-reports.js';
import { isAbove, offeredActions, standing } from '../governance.js';
import { formatTime } from '../format.js';
import { useFeed, useNow } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { availableActions, isOverdue, resolutionState, responseState } from '../tickets.js';
import { PageHeading } from './page.js';

/** Readings shown before the alert started, and after it last changed once the ticket is closed. */
const CHART_MARGIN_MS = 15 * 60_000;

/** One ticket: its deadlines, the moves the operator can make, its alerts with readings, its timeline. */
export function TicketPage({ id }: { id: string }) {
  const i18n = useI18n();
  const { t, term } = i18n;
  const session = useSession();
  const feed = useFeed(session.feed);
  const now = useNow();
  const [loaded, setLoaded] = useState<TicketDetail>();
  const [error, setError] = useState<unknown>();
  const [action, setAction] = useState<TicketAction>();
  const [done, setDone] = useState<string>();
  const [attempt, setAttempt] = useState(0);
  /** Where each alert's device is, as its readings tell. */
  const [placed, setPlaced] = useState<ReadonlyMap<string, Location>>(new Map());

  useEffect(() => {
    setError(undefined);
    session.client.ticket(id).then(setLoaded, setError);
    session.feed.markSeen(id);
  }, [id, attempt]);

  // A newer version from the live feed: fetch the detail again (supervision orders, delivery).
  const live = feed.get(id);
  useEffect(() => {
    if (live && loaded && live.version > loaded.version) session.client.ticket(id).then(setLoaded, () => undefined);
  }, [live?.version]);
  const detail = loaded;
  const ticket: Ticket | undefined = live && (!loaded || live.version > loaded.version) ? live : loaded;

  if (!ticket) {
    return (
      <>
        <p>
          <a href="#/inbox">← {t('ticketBack')}</a>
        </p>
        {error !== undefined ? <ErrorMessage error={error} onRetry={() => setAttempt((n) => n + 1)} /> : <p>{t('loading')}</p>}
      </>
    );
  }

  /** After any change: the ticket as changed, or back to the inbox once the token no longer sees it (reassigned, returned, released). */
  const changed = (updated: Ticket): boolean => {
    session.feed.upsert(updated);
    const gone = (): void => {
      location.hash = '#/inbox';
    };
    if (session.unitId !== undefined && !isAbove(session.config.localUnits, session.unitId, updated.subcenterId)) {
      // It may still see it (a supervision order, a request for more time it decides): ask.
      session.client.ticket(id).then(setLoaded, gone);
      return true;
    }
    session.client.ticket(id).then(setLoaded, gone);
    return true;
  };
  const onDone = (updated: Ticket): void => {
    if (changed(updated)) setDone(t('actionDone', { action: t(ACTION_LABEL[action!]) }));
  };
  const remind = session.config.sla[ticket.grade]?.remindBefore ?? 0;
  const alertPoints: AlertPoint[] = ticket.alerts.flatMap((a) => {
    const loc = placed.get(a.deviceId);
    return loc ? [{ key: a.fingerprint, label: `${a.deviceId} · ${metricLabel(a.metric, i18n)} ${a.value}`, firing: a.status === 'firing', location: loc }] : [];
  });
  const overdue = isOverdue(ticket, now);
  const stand = standing(ticket, session.principal, session.config.localUnits);
  const isDistrict = session.unitId === session.config.city.district.id;
  const actions = offeredActions(ticket, stand, availableActions(ticket), isDistrict);

  return (
    <article class={`ticket-page ${overdue ? 'overdue' : ''}`}>
      <p>
        <a href="#/inbox">← {t('ticketBack')}</a>
      </p>
      <PageHeading title={ticket.title}>
        <div class="ticket-badges">
          <GradeBadge grade={ticket.grade} />
          <StatusBadge status={ticket.status} />
          {overdue && <span class="overdue-badge">{t('overdue')}</span>}
          <span class="ticket-id">{ticket.id}</span>
        </div>
      </PageHeading>

      <div class="ticket-grid">
        <section class="card" aria-labelledby="details-h">
          <h2 id="details-h">{t('ticketDetails')}</h2>
          <dl class="details">
            <dt>{t('colRespondBy')}</dt>
            <dd>
              <Deadline state={responseState(ticket, now)} remindBefore={remind} metLabel={t('responded')} /> <span class="muted">({formatTime(ticket.respondBy, i18n.lang)})</span>
            </dd>
            <dt>{t('colResolveBy')}</dt>
            <dd>
              <Deadline state={resolutionState(ticket, now)} remindBefore={remind} metLabel={t('resolvedDone')} /> <span class="muted">({formatTime(ticket.resolveBy, i18n.lang)})</span>
            </dd>
            <dt>{t('ticketSubcenter')}</dt>
            <dd>
              {session.subcenterName(ticket.subcenterId)}
              {ticket.routedToFallback && <span class="muted"> · {t('ticketFallback')}</span>}
            </dd>
            <dt>{t('ticketDepartment')}</dt>
            <dd>{term('department', ticket.department)}</dd>
            <dt>{t('ticketCategory')}</dt>
            <dd>{term('category', ticket.category)}</dd>
            <dt>{t('ticketZone')}</dt>
            <dd>{ticket.zoneId ? session.zoneName(ticket.zoneId) : t('notApplicable')}</dd>
            <dt>{t('ticketLocation')}</dt>
            <dd>
              {ticket.location ? (
                <>
                  {ticket.location.lat.toFixed(5)}, {ticket.location.lon.toFixed(5)} · <a href={`#/map?ticket=${encodeURIComponent(ticket.id)}`}>{t('ticketOnMap')}</a>
                </>
              ) : (
                t('notApplicable')
              )}
            </dd>
            <dt>{t('ticketCreated')}</dt>
            <dd>{formatTime(ticket.createdAt, i18n.lang)}</dd>
            {ticket.grade !== ticket.baseGrade && (
              <>
                <dt>{t('ticketGraded')}</dt>
                <dd>
                  {t('ticketGradedFrom', { from: ticket.baseGrade, to: ticket.grade })}
                  {ticket.gradeReasons.length > 0 && <span class="muted"> · {ticket.gradeReasons.join('; ')}</span>}
                </dd>
              </>
            )}
            <dt>{t('ticketStorm')}</dt>
            <dd>{t('ticketStormCounts', { alerts: ticket.alertCount, devices: ticket.devices.length })}</dd>
            {ticket.closure && (
              <>
                <dt>{t('ticketClosure')}</dt>
                <dd>
                  {ticket.closure.by === 'sensor' ? t('closureSensor') : ticket.closure.by === 'reporter' ? t('closureReporter') : ticket.closure.by === 'district' ? t('closureDistrict') : t('closureOperator')} · {formatTime(ticket.closure.at, i18n.lang)}
                </dd>
              </>
            )}
          </dl>
        </section>

        {/* A co-handling department acts in the joint panel below; no empty card above it on a phone. */}
        {(actions.length > 0 || stand !== 'co-handler') && (
          <section class="card" aria-labelledby="actions-h">
            <h2 id="actions-h">{t('ticketActions')}</h2>
            {actions.length === 0 ? (
              <p class="muted">{t('ticketNoActions')}</p>
            ) : (
              <div class="action-buttons">
                {actions.map((a) => (
                  <button
                    key={a}
                    type="button"
                    class={a === 'ack' || a === 'close' ? 'primary' : ''}
                    onClick={() => {
                      setDone(undefined);
                      setAction(a);
                    }}
                  >
                    {t(ACTION_LABEL[a])}
                  </button>
                ))}
              </div>
            )}
            <p class="action-result" role="status">
              {done}
            </p>
          </section>
        )}
      </div>

      <JointPanel ticket={ticket} stand={stand} onChanged={(u) => void changed(u)} />
      <TicketGovernance ticket={ticket} stand={stand} onChanged={(u) => void changed(u)} />
      <TicketReports ticket={ticket} />

      <section class="card" aria-labelledby="alerts-h">
        <h2 id="alerts-h">{t('ticketAlerts')}</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('alertDevice')}</th>
                <th scope="col">{t('alertMetric')}</th>
                <th scope="col">{t('alertValue')}</th>
                <th scope="col">{t('alertStatus')}</th>
                <th scope="col">{t('alertFirstSeen')}</th>
                <th scope="col">{t('alertLastSeen')}</th>
              </tr>
            </thead>
            <tbody>
              {ticket.alerts.map((a) => (
                <tr key={a.fingerprint}>
                  <td>{a.deviceId}</td>
                  <td>{metricLabel(a.metric, i18n)}</td>
                  <td>{a.value}</td>
                  <td class={a.status === 'firing' ? 'firing' : 'cleared'}>{a.status === 'firing' ? t('alertFiring') : t('alertResolved')}</td>
                  <td>{formatTime(a.firstSeen, i18n.lang)}</td>
                  <td>{formatTime(a.lastSeen, i18n.lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section class="card" aria-labelledby="readings-h">
        <h2 id="readings-h">{t('ticketReadings')}</h2>
        {ticket.alerts.map((a) => {
          const to = ticket.status === 'closed' ? a.lastSeen + CHART_MARGIN_MS : Math.max(now, a.lastSeen) + 2 * 60_000;
          // Firing from its first reading over the threshold until it cleared (or still, now).
          const firingUntil = a.status === 'firing' ? Math.max(now, a.lastSeen) : a.lastSeen;
          return (
            <DeviceReadings
              key={a.fingerprint}
              deviceId={a.deviceId}
              metric={a.metric}
              from={a.firstSeen - CHART_MARGIN_MS}
              to={Math.floor(to / 60_000 + 1) * 60_000}
              alertAt={a.firstSeen}
              firing={[[a.firstSeen, firingUntil]]}
              revision={ticket.version}
              ruleId={a.ruleId}
              onLoaded={(d) => d.location && setPlaced((m) => (m.get(a.deviceId) ? m : new Map(m).set(a.deviceId, d.location!)))}
            />
          );
        })}
      </section>

      {alertPoints.length > 0 && (
        <section class="card" aria-labelledby="story-map-h">
          <h2 id="story-map-h">{t('storyMap')}</h2>
          <CityMap
            subcenters={session.subcenters}
            zones={session.zones}
            devices={[]}
            tickets={[ticket]}
            now={now}
            basemap={session.config.map}
            label={t('storyMapLabel')}
            variant="inset"
            alerts={alertPoints}
          />
        </section>
      )}

      {detail && detail.supervisionOrders.length > 0 && (
        <section class="card" aria-labelledby="supervision-h">
          <h2 id="supervision-h">{t('supervisionOrders')}</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('supervisionId')}</th>
                  <th scope="col">{t('supervisionReason')}</th>
                  <th scope="col">{t('supervisionIssuedTo')}</th>
                  <th scope="col">{t('supervisionStatus')}</th>
                  <th scope="col">{t('supervisionCreated')}</th>
                </tr>
              </thead>
              <tbody>
                {detail.supervisionOrders.map((o) => (
                  <tr key={o.id}>
                    <td>{o.id}</td>
                    <td>
                      {o.reason === 'response_overdue' ? t('supervisionResponseOverdue') : o.reason === 'resolution_overdue' ? t('supervisionResolutionOverdue') : `${t('supervisionCheckInOverdue')} · ${term('department', o.department ?? '')}`}
                    </td>
                    <td>{session.subcenterName(o.issuedTo)}</td>
                    <td>{term('supervision', o.status)}</td>
                    <td>{formatTime(o.createdAt, i18n.lang)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      <section class="card" aria-labelledby="timeline-h">
        <h2 id="timeline-h">{t('ticketTimeline')}</h2>
        <ol class="timeline">
          {ticket.timeline.map((e, i) => (
            <li key={i}>
              <time dateTime={new Date(e.at).toISOString()}>{formatTime(e.at, i18n.lang)}</time>
              <span class="timeline-action">{term('action', e.action)}</span>
              <span class="timeline-actor">{actorLabel(e.actor, term, session.subcenterName)}</span>
              {e.note && <p class="timeline-note">{e.note}</p>}
            </li>
          ))}
        </ol>
      </section>

      {detail && detail.delivery.length > 0 && (
        <section class="card" aria-labelledby="delivery-h">
          <h2 id="delivery-h">{t('deliveryTitle')}</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('deliveryEvent')}</th>
                  <th scope="col">{t('deliveryTo')}</th>
                  <th scope="col">{t('deliveryState')}</th>
                  <th scope="col">{t('deliveryAttempts')}</th>
                  <th scope="col">{t('deliveryAt')}</th>
                </tr>
              </thead>
              <tbody>
                {detail.delivery.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <code>{d.event}</code>
                    </td>
                    <td>{session.subcenterName(d.to)}</td>
                    <td class={`delivery-${d.state}`}>
                      {term('delivery', d.state)}
                      {d.lastError && <span class="muted"> · {d.lastError}</span>}
                    </td>
                    <td>{d.attempts}</td>
                    <td>{formatTime(d.deliveredAt ?? d.nextAttemptAt ?? d.createdAt, i18n.lang)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      {action && <ActionDialog ticket={ticket} action={action} onDone={onDone} onClose={() => setAction(undefined)} onStale={() => void session.client.ticket(id).then(setLoaded, () => undefined)} />}
    </article>
  );
}

/** `admin`, `system`, `sensor:<device>`, `unit:<unit>` in words. */
function actorLabel(actor: string, term: (kind: string, id: string) => string, unitName: (id: string) => string): string {
  const colon = actor.indexOf(':');
  if (colon < 0) return term('actor', actor);
  const [kind, who] = [actor.slice(0, colon), actor.slice(colon + 1)];
  if (kind === 'unit') return unitName(who);
  if (kind === 'department') return term('department', who);
  return `${term('actor', kind)} ${who}`;
}
