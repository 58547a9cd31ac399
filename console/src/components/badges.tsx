import type { DeviceView, Grade, TicketStatus } from '../../../core/schemas.js';
import { useI18n } from '../i18n.js';

export function GradeBadge({ grade }: { grade: Grade }) {
  const { t } = useI18n();
  return <span class={`grade grade-${grade}`}>{t('gradeLabel', { g: grade })}</span>;
}

export function StatusBadge({ status }: { status: TicketStatus }) {
  const { term } = useI18n();
  return <span class={`status status-${status}`}>{term('status', status)}</span>;
}

export function DeviceStatus({ status }: { status: DeviceView['status'] }) {
  const { t } = useI18n();
  const label = status === 'online' ? t('statusOnline') : status === 'offline' ? t('statusOffline') : t('statusUnknown');
  return (
    <span class={`device-status device-${status}`}>
      <span class="dot" aria-hidden="true" />
      {label}
    </span>
  );
}
