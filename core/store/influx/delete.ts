/**
 * Deleting a period of one measurement, for the retention job: InfluxDB 2.x has a delete
 * endpoint, 1.8 only InfluxQL's DELETE (its v2 API has none). Which one answers is read from
 * the server's version header once.
 */
import { StreetWatchError } from '../../errors.js';

export interface InfluxDeleteOptions {
  url: string;
  token: string;
  org: string;
  timeoutMs: number;
}

export class InfluxDeleter {
  private major: Promise<number> | undefined;

  constructor(private readonly o: InfluxDeleteOptions) {}

  /**
   * Deletes the points of `measurement` with time in [from, to) from a bucket (2.x; 1.8:
   * `database/retention-policy`, where InfluxQL's DELETE applies to the whole database, which is
   * why every measurement name carries the namespace).
   */
  async delete(measurement: string, from: number, to: number, bucket: string): Promise<void> {
    const major = await (this.major ??= this.version());
    const auth = { authorization: `Token ${this.o.token}` };
    const signal = AbortSignal.timeout(this.o.timeoutMs);
    let res: Response;
    if (major >= 2) {
      const query = new URLSearchParams({ org: this.o.org, bucket });
      // The endpoint's stop is inclusive.
      const body = { start: new Date(from).toISOString(), stop: new Date(to - 1).toISOString(), predicate: `_measurement=${JSON.stringify(measurement)}` };
      res = await fetch(new URL(`/api/v2/delete?${query}`, this.o.url), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
    } else {
      const db = bucket.split('/')[0]!;
      const q = `DELETE FROM "${measurement.replaceAll('"', '\\"')}" WHERE time >= '${new Date(from).toISOString()}' AND time < '${new Date(to).toISOString()}'`;
      res = await fetch(new URL(`/query?${new URLSearchParams({ db })}`, this.o.url), { method: 'POST', headers: auth, body: new URLSearchParams({ q }), signal });
    }
    const text = await res.text();
    // InfluxQL answers 200 with the error inside.
    if (res.status >= 300 || /"error"/.test(text)) {
      throw new StreetWatchError('SW_ERR_UNAVAILABLE', [`InfluxDB at ${this.o.url}`, `delete of ${measurement} refused (HTTP ${res.status}): ${text.slice(0, 300)}`]);
    }
  }

  private async version(): Promise<number> {
    const res = await fetch(new URL('/ping', this.o.url), { signal: AbortSignal.timeout(this.o.timeoutMs) });
    await res.body?.cancel();
    const v = res.headers.get('x-influxdb-version') ?? '';
    // 2.x and Cloud answer "v2.7.x" or "2.7.x"; 1.8 answers "1.8.10".
    const major = Number(/^v?(\d+)/.exec(v)?.[1] ?? 2);
    return Number.isFinite(major) ? major : 2;
  }
}
