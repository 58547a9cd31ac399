/**
 * The alarms of alarms.ts on screen: a banner above every page while any is unanswered, a chime
 * that repeats while it lasts (when sound is on), and one browser notification per alarm (when
 * allowed). The banner says what ends each alarm; answering on the server ends it everywhere.
 */
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { CHIME_REPEAT_MS, freshAlarms, type Alarm } from '../alarms.js';
import { AlarmSound, askNotifications, notificationState, notify, soundWanted, type NotificationState } from '../alarm-signals.js';
import { useI18n, type I18n } from '../i18n.js';

/** One sound per page: the topbar's switch and the banner's chime share it. */
export const AlarmSoundContext = createContext<AlarmSound>(new AlarmSound());

export function alarmText(a: Alarm, i18n: I18n): string {
  const { t } = i18n;
  if (a.kind === 'supervision') return t('alarmSupervision', { title: a.title });
  if (a.kind === 'overdue') return t('alarmOverdue', { title: a.title });
  return t('alarmNew', { g: a.grade ?? '', title: a.title });
}

function alarmHint(a: Alarm, t: I18n['t']): string {
  return a.kind === 'supervision' ? t('alarmHintSupervision') : a.kind === 'overdue' ? t('alarmHintOverdue') : t('alarmHintNew');
}

const urgent = (a: Alarm): boolean => a.grade === 'A' || a.kind !== 'new';

/** Alarms listed in the banner, the most urgent first; the rest are counted. */
export const BANNER_MAX = 5;

export interface AlarmBannerProps {
  alarms: Alarm[];
  /** How many to list (the wall has room for fewer). */
  max?: number;
  /** Links to the ticket (not on the wall, which only shows). */
  links?: boolean;
  /** The supervising center acknowledges an order from the banner. */
  onAckOrder?: (orderId: string) => Promise<void>;
}

export function AlarmBanner({ alarms, links = true, onAckOrder, max = BANNER_MAX }: AlarmBannerProps) {
  const i18n = useI18n();
  const { t } = i18n;
  const sound = useContext(AlarmSoundContext);
  const announced = useRef(new Set<string>());
  const [spoken, setSpoken] = useState('');
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();
  const keys = alarms.map((a) => a.key).join('|');

  // Each alarm once: to screen readers (assertive) and as a browser notification.
  useEffect(() => {
    const fresh = freshAlarms(announced.current, alarms);
    announced.current = new Set(alarms.map((a) => a.key));
    if (fresh.length === 0) return;
    setSpoken(fresh.map((a) => alarmText(a, i18n)).join('; '));
    for (const a of fresh) notify(alarmText(a, i18n), alarmHint(a, t), a.key, `#/tickets/${encodeURIComponent(a.ticketId)}`, urgent(a));
    sound.chime(fresh.some(urgent));
  }, [keys]);

  // The chime repeats while anything is unanswered.
  useEffect(() => {
    if (alarms.length === 0) return;
    const timer = setInterval(() => sound.chime(alarms.some(urgent)), CHIME_REPEAT_MS);
    return () => clearInterval(timer);
  }, [keys]);

  return (
    <>
      <div class="visually-hidden" aria-live="assertive">
        {spoken}
      </div>
      {alarms.length > 0 && (
        <section class="alarm-banner" aria-labelledby="alarm-h" data-alarms={alarms.length}>
          <h2 id="alarm-h" class="alarm-title">
            {t('alarmTitle', { n: alarms.length })}
          </h2>
          <ul>
            {alarms.slice(0, max).map((a) => (
              <li key={a.key} class={`alarm alarm-${a.kind} ${a.grade ? `alarm-grade-${a.grade}` : ''}`} data-alarm={a.kind} data-ticket-id={a.ticketId}>
                <span class="alarm-text">{links ? <a href={`#/tickets/${encodeURIComponent(a.ticketId)}`}>{alarmText(a, i18n)}</a> : alarmText(a, i18n)}</span>
                {links && <span class="alarm-hint">{alarmHint(a, t)}</span>}
                {a.kind === 'supervision' && a.orderId && onAckOrder && (
                  <button
                    type="button"
                    class="primary"
                    disabled={busy === a.orderId}
                    onClick={() => {
                      setBusy(a.orderId);
                      setError(undefined);
                      onAckOrder(a.orderId!)
                        .catch((err: unknown) => setError((err as Error).message))
                        .finally(() => setBusy(undefined));
                    }}
                  >
                    {t('alarmAckOrder')}
                  </button>
                )}
              </li>
            ))}
            {alarms.length > max && <li class="alarm alarm-more">{t('alarmMore', { n: alarms.length - max })}</li>}
          </ul>
          {error && (
            <p class="field-error" role="alert">
              {error}
            </p>
          )}
        </section>
      )}
    </>
  );
}

/** The topbar's switches: sound on or off, and browser notifications (asked for on a click). */
export function AlarmControls() {
  const { t } = useI18n();
  const sound = useContext(AlarmSoundContext);
  const [on, setOn] = useState(soundWanted);
  const [running, setRunning] = useState(false);
  const [perm, setPerm] = useState<NotificationState>(notificationState);

  useEffect(() => {
    // After a reload, a wanted sound waits for the first gesture on the page (or plays at once in a kiosk).
    void sound.resume().then(setRunning);
    const wake = (): void => void sound.resume().then(setRunning);
    addEventListener('pointerdown', wake, { once: true });
    addEventListener('keydown', wake, { once: true });
    return () => {
      removeEventListener('pointerdown', wake);
      removeEventListener('keydown', wake);
    };
  }, [sound]);

  return (
    <span class="alarm-controls">
      <button
        type="button"
        class="on-dark"
        aria-pressed={on}
        onClick={async () => {
          if (on) {
            sound.disable();
            setOn(false);
            setRunning(false);
          } else {
            setOn(true);
            setRunning(await sound.enable());
          }
        }}
      >
        {on ? (running ? t('alarmSoundOn') : t('alarmSoundBlocked')) : t('alarmSoundOff')}
      </button>
      {perm !== 'unsupported' && (
        <button type="button" class="on-dark" disabled={perm !== 'default'} onClick={async () => setPerm(await askNotifications())}>
          {perm === 'granted' ? t('alarmNotifyOn') : perm === 'denied' ? t('alarmNotifyDenied') : t('alarmNotifyAsk')}
        </button>
      )}
    </span>
  );
}
