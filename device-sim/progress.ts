/**
 * Live progress for the simulator and replay: a cli-progress bar on a terminal, a status line
 * every few seconds otherwise (CI logs), nothing when turned off (tests).
 */
import cliProgress from 'cli-progress';

/** Messages per second over the last few seconds, not since the start. */
export class RateMeter {
  private readonly samples: { at: number; count: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records the running total at `at` (ms) and returns the rate over the window. */
  update(at: number, total: number): number {
    this.samples.push({ at, count: total });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const span = at - first.at;
    return span > 0 ? ((total - first.count) * 1000) / span : 0;
  }
}

export interface Progress {
  update(value: number, payload: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

const OFF: Progress = { update: () => undefined, setTotal: () => undefined, stop: () => undefined };

/** A progress bar with `format` (cli-progress tokens plus the payload's); a no-op when disabled. */
export function progressBar(enabled: boolean, format: string, total: number, payload: Record<string, string | number>): Progress {
  if (!enabled) return OFF;
  const bar = new cliProgress.SingleBar(
    {
      format,
      stream: process.stderr,
      barsize: 24,
      hideCursor: true,
      // Not a terminal (CI, a pipe): one line every 5 s instead of redrawing.
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, payload);
  return {
    update: (value, p) => bar.update(value, p),
    setTotal: (t) => bar.setTotal(t),
    stop: () => bar.stop(),
  };
}

export const formatCount = (n: number): string => Math.round(n).toLocaleString('en-US');

/** 1h02m03s, 4m05s, 6s. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
