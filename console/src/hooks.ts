import { useEffect, useState } from 'preact/hooks';
import type { DeviceView } from '../../core/schemas.js';
import type { ApiClient } from './api.js';
import type { TicketFeed } from './feed.js';

/** How often device lists are refreshed. */
export const DEVICE_POLL_MS = 10_000;

/** The current time, refreshed every `ms`: one clock for every countdown on the page. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Re-renders the component whenever the feed changes. */
export function useFeed(feed: TicketFeed): TicketFeed {
  const [, setVersion] = useState(0);
  useEffect(() => feed.subscribe(() => setVersion((n) => n + 1)), [feed]);
  return feed;
}

/** The route from the location hash: `#/tickets/SW-1?x=y` → path segments and query. */
export interface Route {
  segments: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  return { segments: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const onChange = (): void => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return parseHash(hash);
}

/**
 * Devices, refreshed every `ms` (their status changes without a ticket event). Only the admin
 * may list them: for a unit token, pass `enabled: false` and get none.
 */
export function useDevices(client: ApiClient, enabled = true, ms = DEVICE_POLL_MS): { devices: DeviceView[] | undefined; error: unknown; reload: () => void } {
  const [devices, setDevices] = useState<DeviceView[]>();
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    const load = (): void => {
      client.devices().then(
        (d) => {
          if (stopped) return;
          setDevices(d);
          setError(undefined);
        },
        (err: unknown) => !stopped && setError(err),
      );
    };
    load();
    const timer = setInterval(load, ms);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [client, enabled, ms, attempt]);
  return { devices, error, reload: () => setAttempt((n) => n + 1) };
}
