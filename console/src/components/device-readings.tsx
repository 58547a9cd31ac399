import { useEffect, useState } from 'preact/hooks';
import { METRICS } from '../../../core/metric-catalog.js';
import type { DeviceReadings as Readings } from '../api.js';
import { useI18n, type I18n } from '../i18n.js';
import { useSession } from '../session.js';
import { SeriesChart } from './charts.js';
import { ErrorMessage } from './error-message.js';

export function metricLabel(metric: string, i18n: Pick<I18n, 'lang'>): string {
  const spec = METRICS.get(metric);
  if (i18n.lang === 'zh-CN' && spec) return spec.label;
  return metric.replace(/_/g, ' ');
}

export interface DeviceReadingsProps {
  deviceId: string;
  from: number;
  to: number;
  /** Only this metric (a ticket's alert); every metric of the device when absent. */
  metric?: string;
  /** The rule whose threshold is drawn; the first that applies to the metric when absent. */
  ruleId?: string;
  alertAt?: number;
  /** When the alert was firing, shaded. */
  firing?: [number, number][];
  /** Changes when the readings should be fetched again (a ticket update). */
  revision?: unknown;
  /** Told the device's answer (its location, for the ticket's map). */
  onLoaded?: (data: Readings) => void;
}

/** A device's readings in a window, one chart per metric, each with a caption. */
export function DeviceReadings(p: DeviceReadingsProps) {
  const i18n = useI18n();
  const { t } = i18n;
  const { client } = useSession();
  const [data, setData] = useState<Readings>();
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    setError(undefined);
    client.readings(p.deviceId, { from: p.from, to: p.to, ...(p.metric ? { metric: p.metric } : {}) }, abort.signal).then((d) => {
      setData(d);
      p.onLoaded?.(d);
    }, (err: unknown) => {
      if ((err as Error).name !== 'AbortError') setError(err);
    });
    return () => abort.abort();
  }, [client, p.deviceId, p.metric, p.from, p.to, p.revision, attempt]);

  if (error !== undefined) return <ErrorMessage error={error} onRetry={() => setAttempt((n) => n + 1)} />;
  if (!data) return <p class="muted">{t('loading')}</p>;
  if (data.series.length === 0) return <p class="muted">{t('chartNoData')}</p>;
  return (
    <>
      {data.series.map((s) => {
        const label = `${metricLabel(s.metric, i18n)}${s.unit && s.unit !== 'bool' ? ` (${s.unit})` : ''}`;
        const rule = data.thresholds.find((r) => r.metric === s.metric && (p.ruleId === undefined || r.ruleId === p.ruleId));
        const threshold = rule ? (rule.above ?? rule.below) : null;
        const clear = rule ? (rule.above !== null ? rule.clearBelow : rule.clearAbove) : null;
        // From roll-ups each point is a step's mean: the peak is the steps' largest max.
        const max = s.extremes ? Math.max(...s.extremes.map(([, , hi]) => hi)) : Math.max(...s.points.map(([, v]) => v));
        return (
          <figure class="readings" key={s.metric}>
            <figcaption>
              {t('chartSummary', { device: p.deviceId, metric: label, n: s.points.length, max, threshold: threshold ?? '—' })}
              {data.truncated && <span class="muted"> {t('chartTruncated', { n: s.points.length })}</span>}
              {data.resolution !== 'raw' && <span class="muted"> {t(data.resolution === '5m' ? 'chartRollup5m' : 'chartRollup1h')}</span>}
              {p.firing && p.firing.length > 0 && <span class="chart-key-firing"> {t('chartFiringPeriod')}</span>}
            </figcaption>
            <SeriesChart label={label} points={s.points} threshold={threshold} clear={clear} from={data.from} to={data.to} {...(p.alertAt !== undefined ? { alertAt: p.alertAt } : {})} {...(p.firing ? { firing: p.firing } : {})} />
          </figure>
        );
      })}
    </>
  );
}
