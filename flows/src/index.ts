/**
 * The library the StreetWatch Node-RED nodes call: built by flows/build.ts into
 * lib/streetwatch.cjs, so the nodes (CommonJS, loaded by Node-RED) run the platform's own
 * TypeScript — the detectors' threshold and zone choice, the placement ingest uses, the
 * OperatorAlert contract — rather than a second implementation of any of it.
 */
export { operatorAlertFrom, type AlertSettings, type AlertSource } from './alert.js';
export { CityView, parseCity } from './city-view.js';
export { CodedError } from './coded-error.js';
export { DEFAULT_RECONNECT_MS, OPERATOR_NAME_RE, PlatformConnection, operatorClientId, type ConnectionStatus, type PlatformSettings } from './connection.js';
export { eventsFilter, inZones, readingsFilter, ticketsFilter } from './feeds.js';
export { geofence, parseLocation, parseZoneSelector } from './geofence.js';
export { MAX_SUBJECTS, ThresholdTracker, parseThresholdSettings } from './threshold.js';
export { topicMatches } from './topic-filter.js';
export { parseDuration } from '../../core/duration.js';
