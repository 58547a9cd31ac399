import type { Config, InfluxConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { SeriesStore } from '../ports.js';
import { InfluxSeriesStore } from './influx/series.js';
import { SqliteSeriesStore } from './sqlite/series.js';

/** The InfluxDB series store of a configuration, not yet connected. */
export function influxSeries(influx: InfluxConfig, namespace: string, logger: Logger, rawRetentionMs?: number): InfluxSeriesStore {
  return new InfluxSeriesStore({ ...influx, namespace, logger, ...(rawRetentionMs === undefined ? {} : { rawRetentionMs }) });
}

/**
 * The configuration's time-series store on its own, connected (one attempt), for tools that
 * read history: InfluxDB when INFLUX_URL is set, else the data directory's SQLite.
 */
export async function openSeriesStore(config: Config, logger: Logger): Promise<SeriesStore> {
  if (!config.influx) return new SqliteSeriesStore(config.dataDir);
  const influx = influxSeries(config.influx, config.namespace, logger, config.retention.rawMs);
  await influx.connect();
  return influx;
}
