import { formatClock, formatDuration } from '../format.js';
import { useI18n } from '../i18n.js';
import type { DeadlineState } from '../tickets.js';

/**
 * A deadline as a countdown: time left (amber inside the reminder window, `mm:ss` in the last
 * hour), missed and by how much (red), or met.
 */
export function Deadline({ state, remindBefore, metLabel }: { state: DeadlineState; remindBefore: number; metLabel: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  switch (state.kind) {
    case 'met':
      return <span class="deadline deadline-met">{metLabel}</span>;
    case 'missed':
      return (
        <span class="deadline deadline-missed">
          {state.met !== undefined ? `${metLabel} · ` : ''}
          {t('overdueBy', { d: formatDuration(state.by, i18n) })}
        </span>
      );
    case 'running': {
      const soon = state.left <= remindBefore;
      const left = state.left < 3_600_000 ? formatClock(state.left) : formatDuration(state.left, i18n);
      return (
        <span class={`deadline ${soon ? 'deadline-soon' : 'deadline-running'}`}>
          <span class="countdown">{t('remaining', { d: left })}</span>
        </span>
      );
    }
  }
}
