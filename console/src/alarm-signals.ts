/**
 * How an alarm reaches a person who is not looking at the screen: a chime made with Web Audio
 * (no sound file to download) and a browser notification. Browsers allow both only after the
 * person asked for them: sound after a gesture on the page (autoplay policy), notifications
 * after a permission prompt that a gesture opens. So both start off, each behind a button; the
 * choice of sound is remembered in this browser (a kiosk started with Chromium's
 * `--autoplay-policy=no-user-gesture-required` chimes from the start).
 */

const SOUND_KEY = 'streetwatch.alarmSound';

export function soundWanted(): boolean {
  return localStorage.getItem(SOUND_KEY) === 'on';
}

export class AlarmSound {
  private ctx: AudioContext | undefined;
  /** Chimes played since the page loaded. */
  played = 0;

  /** Whether the browser lets the page make sound now. */
  get running(): boolean {
    return this.ctx?.state === 'running';
  }

  /** Turns sound on; call it from a click. Resolves whether the browser lets it play. */
  async enable(): Promise<boolean> {
    localStorage.setItem(SOUND_KEY, 'on');
    return this.resume();
  }

  disable(): void {
    localStorage.setItem(SOUND_KEY, 'off');
    void this.ctx?.suspend();
  }

  /** Resumes the audio context if sound is wanted (after a reload: at the first gesture, or at once in a kiosk). */
  async resume(): Promise<boolean> {
    if (!soundWanted() || typeof AudioContext === 'undefined') return false;
    this.ctx ??= new AudioContext();
    try {
      await this.ctx.resume();
    } catch {
      return false;
    }
    return this.running;
  }

  /** Two falling tones, a third higher and longer for an A ticket or a missed deadline. */
  chime(urgent: boolean): void {
    const ctx = this.ctx;
    if (!ctx || ctx.state !== 'running') return;
    const start = ctx.currentTime + 0.02;
    const tones = urgent ? [988, 784, 988, 784] : [880, 660];
    tones.forEach((freq, i) => {
      const at = start + i * 0.28;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.setValueAtTime(freq, at);
      // A short attack and decay: no click at the edges.
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.35, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.25);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.26);
    });
    this.played++;
  }
}

export type NotificationState = 'unsupported' | 'default' | 'granted' | 'denied';

export function notificationState(): NotificationState {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/** Asks for permission; call it from a click (browsers ignore a prompt without a gesture). */
export async function askNotifications(): Promise<NotificationState> {
  if (typeof Notification === 'undefined') return 'unsupported';
  return Notification.requestPermission();
}

/** Shows a notification when allowed; a click brings the console forward and opens `href`. */
export function notify(title: string, body: string, tag: string, href: string, urgent: boolean): void {
  if (notificationState() !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag, requireInteraction: urgent, lang: document.documentElement.lang });
    n.onclick = () => {
      window.focus();
      location.hash = href;
      n.close();
    };
  } catch {
    // Some browsers only notify from a service worker; the banner and the sound still work.
  }
}
