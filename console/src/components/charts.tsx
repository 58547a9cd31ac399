/**
 * Charts with uPlot (canvas, small and fast). Canvas is invisible to screen readers, so each
 * chart comes with a caption that says what it shows, and the KPI charts with a data table.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatTime } from '../format.js';
import { useI18n } from '../i18n.js';

function clockTime(at: number, lang: string): string {
  return new Date(at).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', hour12: false });
}

const CHART_HEIGHT = 220;
const COLORS = { value: '#1f5fae', threshold: '#c62828', clear: '#6d6d6d', alert: '#ef6c00', firing: 'rgba(198, 40, 40, 0.12)', response: '#1f5fae', handling: '#2e7d32' };

/** Mounts a uPlot chart in a div and keeps it as wide as the div. */
function useUplot(make: (width: number) => { opts: uPlot.Options; data: uPlot.AlignedData }, deps: unknown[]) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const { opts, data } = make(el.clientWidth || 600);
    const chart = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => chart.setSize({ width: el.clientWidth, height: opts.height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, deps);
  return box;
}

export interface SeriesChartProps {
  /** Label of the plotted value, with its unit. */
  label: string;
  points: [number, number][];
  /** The rule's trigger level, drawn as a red dashed line. */
  threshold?: number | null;
  /** The level at which the alert clears (hysteresis), drawn grey. */
  clear?: number | null;
  /** When the alert started, drawn as a vertical line. */
  alertAt?: number;
  /** Periods the alert was firing, `[from, to]` in ms, shaded behind the readings. */
  firing?: [number, number][];
  from: number;
  to: number;
}

/** A metric over time, with the threshold and the alert moment when given. */
export function SeriesChart(p: SeriesChartProps) {
  const { t, lang } = useI18n();
  const box = useUplot(
    (width) => {
      // The window's ends as extra x values, so the threshold lines span the whole chart.
      const xs = [p.from / 1000, ...p.points.map(([ts]) => ts / 1000), p.to / 1000];
      const ys = [null, ...p.points.map(([, v]) => v), null];
      const values = p.points.map(([, v]) => v);
      const series: uPlot.Series[] = [
        { label: t('chartTime'), value: (_u, v) => (v == null ? '—' : formatTime(v * 1000, lang)) },
        { label: p.label, stroke: COLORS.value, width: 2, points: { show: values.length < 200, size: 5 } },
      ];
      const data: (number | null)[][] = [xs, ys];
      if (p.threshold != null) {
        series.push({ label: t('chartThreshold'), stroke: COLORS.threshold, width: 1.5, dash: [8, 5], points: { show: false } });
        data.push(xs.map(() => p.threshold!));
      }
      if (p.clear != null && p.clear !== p.threshold) {
        series.push({ label: t('chartClear'), stroke: COLORS.clear, width: 1, dash: [3, 4], points: { show: false } });
        data.push(xs.map(() => p.clear!));
      }
      const levels = [...values, p.threshold ?? values[0] ?? 0, p.clear ?? values[0] ?? 0];
      const lo = Math.min(...levels);
      const hi = Math.max(...levels);
      const pad = (hi - lo) * 0.15 || Math.abs(hi) * 0.15 || 1;
      const opts: uPlot.Options = {
        width,
        height: CHART_HEIGHT,
        series,
        scales: { x: { time: true, range: [p.from / 1000, p.to / 1000] }, y: { range: [lo - pad, hi + pad] } },
        axes: [{ values: (_u, splits) => splits.map((v) => clockTime(v * 1000, lang)) }, { size: 56 }],
        legend: { live: true },
        hooks: {
          // The firing period first, under the grid and the readings.
          drawClear: [
            (u) => {
              const { ctx } = u;
              ctx.save();
              ctx.fillStyle = COLORS.firing;
              for (const [from, to] of p.firing ?? []) {
                const x0 = Math.max(u.bbox.left, u.valToPos(from / 1000, 'x', true));
                const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(to / 1000, 'x', true));
                if (x1 > x0) ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
              }
              ctx.restore();
            },
          ],
          draw: [
            (u) => {
              if (p.alertAt === undefined) return;
              const x = u.valToPos(p.alertAt / 1000, 'x', true);
              const { ctx } = u;
              ctx.save();
              ctx.strokeStyle = COLORS.alert;
              ctx.lineWidth = 2 * devicePixelRatio;
              ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.fillStyle = COLORS.alert;
              ctx.font = `${12 * devicePixelRatio}px sans-serif`;
              ctx.fillText(t('chartAlertAt'), x + 4 * devicePixelRatio, u.bbox.top + 14 * devicePixelRatio);
              ctx.restore();
            },
          ],
        },
      };
      return { opts, data: data as uPlot.AlignedData };
    },
    [p.points, p.threshold, p.clear, p.alertAt, p.firing?.flat().join(','), p.from, p.to, p.label, lang],
  );
  return <div class="chart" ref={box} aria-hidden="true" />;
}

export interface RateBarsProps {
  /** What the groups are (sub-centers, grades). */
  title: string;
  /** One group per category on the x axis. */
  labels: string[];
  response: (number | null)[];
  handling: (number | null)[];
}

/** Two rates per group, side by side, in percent. */
export function RateBars(p: RateBarsProps) {
  const { t } = useI18n();
  const box = useUplot(
    (width) => {
      const xs = p.labels.map((_, i) => i);
      const pct = (r: number | null): number | null => (r === null ? null : Math.round(r * 1000) / 10);
      const opts: uPlot.Options = {
        width,
        height: CHART_HEIGHT,
        scales: { x: { time: false, range: [-0.5, Math.max(0.5, p.labels.length - 0.5)] }, y: { range: [0, 100] } },
        series: [
          { label: p.title, value: (_u, i) => (i == null ? '—' : (p.labels[i] ?? '')) },
          { label: t('kpiResponseRate'), fill: COLORS.response, stroke: COLORS.response, paths: uPlot.paths.bars!({ size: [0.35, 60], align: -1 }), points: { show: false }, value: (_u, v) => (v == null ? '—' : `${v}%`) },
          { label: t('kpiHandlingRate'), fill: COLORS.handling, stroke: COLORS.handling, paths: uPlot.paths.bars!({ size: [0.35, 60], align: 1 }), points: { show: false }, value: (_u, v) => (v == null ? '—' : `${v}%`) },
        ],
        axes: [
          { splits: () => xs, values: (_u, splits) => splits.map((i) => p.labels[i] ?? ''), grid: { show: false } },
          { size: 48, values: (_u, splits) => splits.map((v) => `${v}%`) },
        ],
        cursor: { points: { show: false } },
      };
      return { opts, data: [xs, p.response.map(pct), p.handling.map(pct)] as uPlot.AlignedData };
    },
    [p.title, p.labels.join('|'), p.response.join('|'), p.handling.join('|'), t],
  );
  return <div class="chart" ref={box} aria-hidden="true" />;
}
