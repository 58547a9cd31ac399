/**
 * Hot reload of the city configuration: edits to rules.yaml, zones.geojson or any other city
 * file apply without a restart. A change is validated as a whole, exactly as at start-up; an
 * invalid file is logged with its name, the path of the bad value and its line, and the city
 * in force (rules included) stays active until the files are fixed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CITY_FILES, loadCity } from './city.js';
import { CityIndex } from './city-index.js';
import { isStreetWatchError } from './errors.js';
import type { Logger } from './logger.js';

/** Editors save in several steps (truncate, write, rename): wait for the writes to settle. */
export const DEFAULT_CITY_RELOAD_DEBOUNCE_MS = 250;

export interface CityWatchOptions {
  dir: string;
  logger: Logger;
  /** Receives each new, valid city (after `current` has moved to it). */
  onReload?: (index: CityIndex) => void;
  debounceMs?: number;
}

export type CityReload = { outcome: 'reloaded'; index: CityIndex } | { outcome: 'unchanged' } | { outcome: 'rejected'; error: unknown };

export interface CityWatcher {
  /** The city in force. */
  readonly current: CityIndex;
  /** Checks the directory now (the watcher calls this after each burst of changes). */
  reload(): CityReload;
  close(): void;
}

/**
 * Loads the city (throwing SW_ERR_CONFIG_FILE when it is invalid, as at any start-up) and
 * keeps `current` up to date with the directory.
 */
export function watchCity(opts: CityWatchOptions): CityWatcher {
  const log = opts.logger.child({ component: 'city-watch', dir: opts.dir });
  const debounceMs = opts.debounceMs ?? DEFAULT_CITY_RELOAD_DEBOUNCE_MS;
  // Fingerprint first, load second: a change in between shows as a difference at the next check.
  let loaded = fingerprint(opts.dir);
  let current = new CityIndex(loadCity(opts.dir));
  // The last content rejected: logged once, not on every event.
  let rejected: string | undefined;
  let timer: NodeJS.Timeout | undefined;

  function reload(): CityReload {
    const seen = fingerprint(opts.dir);
    if (seen === loaded) return { outcome: 'unchanged' };
    try {
      const index = new CityIndex(loadCity(opts.dir));
      loaded = seen;
      rejected = undefined;
      current = index;
      opts.onReload?.(index);
      const { city } = index;
      log.info({ rules: city.rules.length, zones: city.zones.length, subcenters: city.subcenters.length }, 'city configuration reloaded');
      return { outcome: 'reloaded', index };
    } catch (err) {
      if (seen !== rejected) {
        rejected = seen;
        const detail = isStreetWatchError(err) ? { code: err.code, reason: err.message } : { err };
        log.error(detail, 'city configuration rejected, the configuration in force stays active');
      }
      return { outcome: 'rejected', error: err };
    }
  }

  // The directory, not the files: editors and config mounts replace files by renaming, which
  // a watch on the old file would never see. Any event triggers a content check.
  const watcher = fs.watch(opts.dir, () => {
    clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
    timer.unref();
  });
  watcher.on('error', (err) => log.error({ err }, 'watching the city directory failed; restart to apply changes'));
  watcher.unref();

  return {
    get current() {
      return current;
    },
    reload,
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

/** A hash of every city file's bytes; a missing file hashes as missing. */
function fingerprint(dir: string): string {
  const hash = createHash('sha256');
  for (const file of CITY_FILES) {
    hash.update(`${file}\0`);
    try {
      hash.update(fs.readFileSync(path.join(dir, file)));
    } catch (err) {
      hash.update(`<${(err as NodeJS.ErrnoException).code ?? 'unreadable'}>`);
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}
