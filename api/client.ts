/**
 * A small client of the StreetWatch HTTP API for the tools that provision devices (the CLI, the
 * simulator, replay). It speaks the admin token; every error the API answers comes back as an
 * ApiError carrying the catalogued code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../core/config.js';
import { StreetWatchError } from '../core/errors.js';
import type { ParkedRecord } from '../core/ports.js';
import { MAX_DEVICE_IMPORT, type DeviceCreateBody, type DeviceImportBody, type DeviceUpdateBody, type DeviceView } from '../core/schemas.js';
import { ADMIN_TOKEN_FILE } from './auth.js';
import type { z } from 'zod';
import type { DeviceErrorEntry as DeviceErrorEntrySchema, DeviceImportResult } from '../core/api-schemas.js';

/** An error answered by the API: `code` is from the catalogue (core/errors.ts). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface ImportAnswer {
  created: number;
  rotated: number;
  skipped: number;
  failed: number;
  results: DeviceImportResult[];
}

/** A parked bus record as the API shows it (bytes as base64). */
export type ParkedView = Omit<ParkedRecord, 'value'> & { value: unknown };

export interface DeviceFilter {
  status?: DeviceView['status'];
  kind?: string;
}

/** The admin token: given explicitly, else STREETWATCH_ADMIN_TOKEN, else the one a local StreetWatch keeps in its data dir. */
export function resolveAdminToken(explicit: string | undefined, config: Config = loadConfig()): string {
  if (explicit) return explicit;
  if (config.adminToken) return config.adminToken;
  const file = path.join(config.dataDir, ADMIN_TOKEN_FILE);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    throw new StreetWatchError('SW_ERR_UNAUTHORIZED', [], {
      details: `no admin token: pass --token, set STREETWATCH_ADMIN_TOKEN, or run StreetWatch once with this data dir (it writes ${file})`,
    });
  }
}

/** A device's own credentials: what it connects to MQTT with, accepted by the routes about itself. */
export interface DeviceCredentials {
  device: string;
  secret: string;
}

/** A refusal as `GET /api/devices/{id}/errors` returns it. */
export type DeviceErrorEntry = z.infer<typeof DeviceErrorEntrySchema>;

export class StreetWatchClient {
  private readonly base: string;
  private readonly authorization: string;

  /** `credential`: the admin token (or a unit token), or a device's own id and secret. */
  constructor(baseUrl: string, credential: string | DeviceCredentials) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.authorization =
      typeof credential === 'string' ? `Bearer ${credential}` : `Basic ${Buffer.from(`${credential.device}:${credential.secret}`).toString('base64')}`;
  }

  /** A device's recent refusals, newest first. */
  async deviceErrors(id: string, limit?: number): Promise<DeviceErrorEntry[]> {
    const qs = limit === undefined ? '' : `?limit=${limit}`;
    return (await this.call<{ errors: DeviceErrorEntry[] }>('GET', `/api/devices/${encodeURIComponent(id)}/errors${qs}`)).errors;
  }

  async createDevice(body: DeviceCreateBody): Promise<{ id: string; secret: string; device: DeviceView }> {
    return this.call('POST', '/api/devices', body);
  }

  /** Imports any number of devices, MAX_DEVICE_IMPORT per request; `onProgress` after each request. */
  async importDevices(
    devices: readonly DeviceCreateBody[],
    onExisting: DeviceImportBody['onExisting'] = 'fail',
    onProgress?: (done: number) => void,
    chunk = MAX_DEVICE_IMPORT,
  ): Promise<ImportAnswer> {
    const total: ImportAnswer = { created: 0, rotated: 0, skipped: 0, failed: 0, results: [] };
    for (let i = 0; i < devices.length; i += chunk) {
      const answer = await this.call<ImportAnswer>('POST', '/api/devices/import', { devices: devices.slice(i, i + chunk), onExisting });
      total.created += answer.created;
      total.rotated += answer.rotated;
      total.skipped += answer.skipped;
      total.failed += answer.failed;
      total.results.push(...answer.results);
      onProgress?.(Math.min(devices.length, i + chunk));
    }
    return total;
  }

  async listDevices(filter: DeviceFilter = {}): Promise<DeviceView[]> {
    const query = new URLSearchParams();
    if (filter.status) query.set('status', filter.status);
    if (filter.kind) query.set('kind', filter.kind);
    const qs = query.size > 0 ? `?${query}` : '';
    return (await this.call<{ devices: DeviceView[] }>('GET', `/api/devices${qs}`)).devices;
  }

  async updateDevice(id: string, body: DeviceUpdateBody): Promise<DeviceView> {
    return this.call('PATCH', `/api/devices/${encodeURIComponent(id)}`, body);
  }

  async createIngestToken(device: string, label?: string): Promise<{ id: string; device: string; label: string; token: string }> {
    return this.call('POST', '/api/ingest-tokens', label === undefined ? { device } : { device, label });
  }

  async listIngestTokens(device?: string): Promise<{ id: string; device: string; label: string; createdAt: number; revokedAt: number | null }[]> {
    return (await this.call<{ tokens: { id: string; device: string; label: string; createdAt: number; revokedAt: number | null }[] }>('GET', `/api/ingest-tokens${device === undefined ? '' : `?device=${encodeURIComponent(device)}`}`)).tokens;
  }

  async revokeIngestToken(id: string): Promise<void> {
    await this.call('DELETE', `/api/ingest-tokens/${encodeURIComponent(id)}`);
  }

  async getDevice(id: string): Promise<DeviceView> {
    return this.call('GET', `/api/devices/${encodeURIComponent(id)}`);
  }

  async rotateSecret(id: string): Promise<{ id: string; secret: string }> {
    return this.call('POST', `/api/devices/${encodeURIComponent(id)}/rotate-secret`);
  }

  async removeDevice(id: string): Promise<void> {
    await this.call('DELETE', `/api/devices/${encodeURIComponent(id)}`);
  }

  /** Records the bus parked, newest first (see api/routes/parked.ts). */
  async listParked(filter: { topic?: string; group?: string; limit?: number } = {}): Promise<ParkedView[]> {
    const query = new URLSearchParams();
    if (filter.topic) query.set('topic', filter.topic);
    if (filter.group) query.set('group', filter.group);
    if (filter.limit !== undefined) query.set('limit', String(filter.limit));
    const qs = query.size > 0 ? `?${query}` : '';
    return (await this.call<{ parked: ParkedView[] }>('GET', `/api/admin/parked${qs}`)).parked;
  }

  async replayParked(id: string): Promise<ParkedView> {
    return this.call('POST', `/api/admin/parked/${encodeURIComponent(id)}/replay`);
  }

  private async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const url = this.base + route;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: this.authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new StreetWatchError('SW_ERR_UNAVAILABLE', [`the StreetWatch API at ${this.base}`, cause?.code ?? cause?.message ?? (err as Error).message], { cause: err });
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError('SW_ERR_INTERNAL', `${method} ${route}: ${res.status} with a body that is not JSON`, res.status);
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string } }).error;
      throw new ApiError(error?.code ?? 'SW_ERR_INTERNAL', error?.message ?? `${method} ${route}: ${res.status}`, res.status);
    }
    return json as T;
  }
}
