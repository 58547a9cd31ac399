/**
 * `npx streetwatch devices add|list|rotate-secret|remove|import|errors`: provisioning from a
 * terminal, through the HTTP API with the admin token (`errors` also with a device's own secret).
 * A secret is printed once, when it is issued. `npx streetwatch parked list|replay`: the bus
 * records set aside with their cause.
 * `npx streetwatch backup|restore`: the embedded stores of the data directory (cli/backup.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ApiError, StreetWatchClient, resolveAdminToken, type DeviceErrorEntry, type ParkedView } from '../api/client.js';
import { REPO_ROOT, loadConfig, modeOf } from '../core/config.js';
import { StreetWatchError } from '../core/errors.js';
import { DeviceCreateBody, DeviceUpdateBody, type DeviceView, type SenmlMapEntry } from '../core/schemas.js';
import { describeZodError } from '../core/zod-issues.js';
import { backupDataDir, describeBackup, restoreDataDir } from './backup.js';
import { MAX_DEVICE_CSV_BYTES, parseDeviceCsv } from './devices-csv.js';
import { formatSenmlMap, parseSenmlMap } from './senml-map.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The environment configuration is read from (default: the process's). */
  env?: NodeJS.ProcessEnv;
  /** Ends a command that runs until stopped (`devices errors --follow`); the process's SIGINT otherwise. */
  signal?: AbortSignal;
}

/** How often `devices errors --follow` asks again, unless told. */
export const DEFAULT_FOLLOW_INTERVAL_MS = 2_000;

const number = (name: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
  return n;
};

/** Runs the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const config = loadConfig(io.env ?? process.env);
  const program = new Command('streetwatch')
    .description('StreetWatch command line: provision and manage devices through the HTTP API; back up and restore the embedded stores')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .option('--api <url>', 'StreetWatch HTTP API', `http://127.0.0.1:${config.http.port}`)
    .option('--token <token>', 'admin token (default: STREETWATCH_ADMIN_TOKEN, then <data dir>/admin-token)');
  const client = (): StreetWatchClient => {
    const { api, token } = program.opts<{ api: string; token?: string }>();
    return new StreetWatchClient(api, resolveAdminToken(token, config));
  };

  const devices = program.command('devices').description('provision and manage devices');

  devices
    .command('add <id>')
    .description('provision one device and print its secret (shown once)')
    .requiredOption('--kind <kind>', 'what the device is: water_level, smoke, gas, manhole, camera...')
    .requiredOption('--lat <lat>', 'latitude (WGS 84)', number('--lat'))
    .requiredOption('--lon <lon>', 'longitude (WGS 84)', number('--lon'))
    .option('--mobile', 'the device moves: the positions it states are believed when plausible (default: fixed, placed here)')
    .option('--gateway <id>', 'the device that may speak for this one (its SenML packs may carry this device\'s records)')
    .option('--senml-name <name>', 'the SenML name that identifies this device in packs (urn:dev:ow:10e2073a01080063)')
    .option('--senml-map <table>', 'SenML mapping table: suffix=metric, @unit=metric or suffix@unit=metric, separated by ";"')
    .option('--json', 'print the answer as JSON')
    .action(async (id: string, o: { kind: string; lat: number; lon: number; mobile?: boolean; gateway?: string; senmlName?: string; senmlMap?: string; json?: boolean }) => {
      const body = DeviceCreateBody.safeParse({ id, kind: o.kind, location: { lat: o.lat, lon: o.lon }, ...provisioningOptions(o) });
      if (!body.success) throw new CommanderError(2, 'streetwatch.invalid', `error: ${describeZodError(body.error)}\n`);
      const created = await client().createDevice(body.data);
      if (o.json) return io.stdout(`${JSON.stringify({ id: created.id, secret: created.secret })}\n`);
      io.stdout(`${created.id} provisioned. Its secret, shown this once:\n${created.secret}\n`);
    });

  devices
    .command('list')
    .description('list devices with their status and last-seen time')
    .addOption(new Option('--status <status>', 'only devices with this status').choices(['online', 'offline', 'unknown']))
    .option('--kind <kind>', 'only devices of this kind')
    .option('--json', 'print JSON')
    .action(async (o: { status?: DeviceView['status']; kind?: string; json?: boolean }) => {
      const list = await client().listDevices({ status: o.status, kind: o.kind });
      if (o.json) return io.stdout(`${JSON.stringify(list, null, 2)}\n`);
      io.stdout(formatDeviceTable(list, Date.now()));
    });

  devices
    .command('update <id>')
    .description('change what is provisioned of a device: mobile or fixed, its gateway, SenML name and table, kind, location')
    .option('--kind <kind>', 'what the device is')
    .option('--lat <lat>', 'latitude (WGS 84), with --lon', number('--lat'))
    .option('--lon <lon>', 'longitude (WGS 84), with --lat', number('--lon'))
    .addOption(new Option('--mobile', 'the device moves').conflicts('fixed'))
    .option('--fixed', 'the device stays where it is provisioned')
    .option('--gateway <id>', 'the device that may speak for this one')
    .option('--no-gateway', 'no device speaks for this one')
    .option('--senml-name <name>', 'the SenML name of the device ("" for none)')
    .option('--senml-map <table>', 'its SenML mapping table ("" for none)')
    .option('--json', 'print the device as JSON')
    .action(async (id: string, o: { kind?: string; lat?: number; lon?: number; mobile?: boolean; fixed?: boolean; gateway?: string | false; senmlName?: string; senmlMap?: string; json?: boolean }) => {
      if ((o.lat === undefined) !== (o.lon === undefined)) throw new CommanderError(2, 'streetwatch.invalid', 'error: give --lat and --lon together\n');
      const api = client();
      const changes: Record<string, unknown> = {};
      if (o.kind !== undefined) changes.kind = o.kind;
      if (o.lat !== undefined) changes.location = { lat: o.lat, lon: o.lon };
      if (o.mobile || o.fixed) changes.mobile = o.mobile === true;
      if (o.gateway !== undefined) changes.gateway = o.gateway === false ? null : o.gateway;
      if (o.senmlName !== undefined || o.senmlMap !== undefined) {
        // The SenML fields go together: what is not given stays as it is.
        const current = (await api.getDevice(id)).senml;
        changes.senml = { name: o.senmlName === undefined ? current.name : o.senmlName || null, map: o.senmlMap === undefined ? current.map : senmlMapOption(o.senmlMap) };
      }
      const body = DeviceUpdateBody.safeParse(changes);
      if (!body.success) throw new CommanderError(2, 'streetwatch.invalid', `error: ${describeZodError(body.error)}\n`);
      const device = await api.updateDevice(id, body.data);
      if (o.json) return io.stdout(`${JSON.stringify(device, null, 2)}\n`);
      io.stdout(formatDeviceTable([device], Date.now()));
    });

  devices
    .command('rotate-secret <id>')
    .description('issue a new secret (shown once); the old one stops working at the next connect')
    .action(async (id: string) => {
      const { secret } = await client().rotateSecret(id);
      io.stdout(`${id}: new secret, shown this once:\n${secret}\n`);
    });

  devices
    .command('remove <id>')
    .description('delete a device; its connections are refused from then on')
    .action(async (id: string) => {
      await client().removeDevice(id);
      io.stdout(`${id} removed\n`);
    });

  devices
    .command('import <csv>')
    .description('provision devices from a CSV file with the header id,kind,lat,lon (and optionally mobile,gateway,senml_name,senml_map); prints id,secret as CSV')
    .addOption(new Option('--on-existing <what>', 'an id that already exists').choices(['fail', 'skip', 'rotate']).default('fail'))
    .option('--secrets <file>', 'write the id,secret CSV to this new file (mode 0600) instead of stdout')
    .action(async (file: string, o: { onExisting: 'fail' | 'skip' | 'rotate'; secrets?: string }) => {
      const csv = parseDeviceCsv(readCapped(file));
      if (csv.errors.length > 0) {
        throw new CommanderError(1, 'streetwatch.csv', `${file}: nothing imported, fix these rows first:\n${csv.errors.map((e) => `  ${e}`).join('\n')}\n`);
      }
      // Opened before anything is provisioned: a secret that cannot be written is a secret lost.
      const out = o.secrets === undefined ? undefined : fs.openSync(o.secrets, 'wx', 0o600);
      // Gateways first, so that a device spoken for finds its gateway provisioned, whatever the chunk.
      const inFile = new Set(csv.devices.map((d) => d.id));
      const ordered = [...csv.devices.filter((d) => d.gateway === undefined || !inFile.has(d.gateway)), ...csv.devices.filter((d) => d.gateway !== undefined && inFile.has(d.gateway))];
      const answer = await client().importDevices(ordered, o.onExisting, (done) => io.stderr(`imported ${done}/${csv.devices.length}\n`));
      const lines = answer.results.flatMap((r) => ('secret' in r ? [`${r.id},${r.secret}`] : []));
      const secretsCsv = `id,secret\n${lines.map((l) => `${l}\n`).join('')}`;
      if (out === undefined) io.stdout(secretsCsv);
      else {
        fs.writeSync(out, secretsCsv);
        fs.closeSync(out);
      }
      for (const r of answer.results) if (r.outcome === 'failed') io.stderr(`  ${r.id}: ${r.error.code} ${r.error.message}\n`);
      io.stderr(`${answer.created} created, ${answer.rotated} rotated, ${answer.skipped} skipped, ${answer.failed} failed${o.secrets ? `; secrets in ${o.secrets}` : ''}\n`);
      if (answer.failed > 0) throw new CommanderError(1, 'streetwatch.partial', '');
    });

  devices
    .command('errors <id>')
    .description("show a device's recent refusals (what it got on its errors topic), newest last")
    .option('--follow', 'keep printing new refusals as they come, until interrupted')
    .option('--interval <seconds>', 'with --follow: seconds between two looks', number('--interval'), DEFAULT_FOLLOW_INTERVAL_MS / 1000)
    .option('--secret <secret>', "read as the device itself, with its secret, instead of the admin token (a vendor's way)")
    .option('--json', 'print one JSON object per line')
    .action(async (id: string, o: { follow?: boolean; interval: number; secret?: string; json?: boolean }) => {
      const { api } = program.opts<{ api: string }>();
      const reader = o.secret === undefined ? client() : new StreetWatchClient(api, { device: id, secret: o.secret });
      const print = (e: DeviceErrorEntry): void =>
        io.stdout(o.json ? `${JSON.stringify(e)}\n` : `${new Date(e.at).toISOString()}  ${e.code}  ${e.topic}  ref=${e.ref}  ${e.message}\n`);
      const key = (e: DeviceErrorEntry): string => JSON.stringify([e.at, e.ref, e.code, e.message, e.topic]);
      let seen = new Set<string>();
      const look = async (): Promise<void> => {
        const errors = await reader.deviceErrors(id);
        for (const e of [...errors].reverse()) if (!seen.has(key(e))) print(e);
        // The server keeps a bounded ring, so this set is bounded by it too.
        seen = new Set(errors.map(key));
      };
      await look();
      if (!o.follow) return;
      const signal = io.signal ?? abortOnSigint();
      while (!signal.aborted) {
        await sleep(Math.max(0.1, o.interval) * 1000, signal);
        if (!signal.aborted) await look();
      }
    });

  const ingestTokens = program.command('ingest-tokens').description('tokens of departments\' systems for HTTP ingest (POST /api/ingest/telemetry, /api/ingest/senml)');

  ingestTokens
    .command('add <device>')
    .description('issue a token for the system provisioned as <device>; it sends for that device and the devices it is the gateway of (shown once)')
    .option('--label <label>', 'what the token is for')
    .action(async (device: string, o: { label?: string }) => {
      const issued = await client().createIngestToken(device, o.label);
      io.stdout(`ingest token ${issued.id} for ${issued.device}, shown this once:\n${issued.token}\n`);
    });

  ingestTokens
    .command('list')
    .description('list ingest tokens (never the tokens themselves)')
    .option('--device <device>', 'only the tokens of this system')
    .action(async (o: { device?: string }) => {
      for (const t of await client().listIngestTokens(o.device)) io.stdout(`${t.id}  ${t.device}  ${t.revokedAt === null ? 'active ' : 'revoked'}  ${t.label}\n`);
    });

  ingestTokens
    .command('revoke <id>')
    .description('revoke an ingest token: its requests are refused from then on')
    .action(async (id: string) => {
      await client().revokeIngestToken(id);
      io.stdout(`ingest token ${id} revoked\n`);
      });

  const parked = program.command('parked').description('bus records a consumer could not process, set aside with their cause');

  parked
    .command('list')
    .description('list parked records, newest first')
    .option('--topic <topic>', 'only records of this bus topic (sw.raw, sw.alerts, ...)')
    .option('--group <group>', 'only records parked by this consumer group (ingest, detectors, alerting, ...)')
    .option('--limit <n>', 'at most this many (1-1000)', number('--limit'), 100)
    .option('--json', 'print JSON')
    .action(async (o: { topic?: string; group?: string; limit: number; json?: boolean }) => {
      const list = await client().listParked({ topic: o.topic, group: o.group, limit: o.limit });
      if (o.json) return io.stdout(`${JSON.stringify(list, null, 2)}\n`);
      io.stdout(formatParkedTable(list));
    });

  parked
    .command('replay <id>')
    .description('publish a parked record on its topic again (once its cause is fixed); every consumer of the topic receives it again')
    .action(async (id: string) => {
      const r = await client().replayParked(id);
      io.stdout(`${r.id} replayed on ${r.topic} (parked by ${r.group}: ${r.cause.code})\n`);
    });

  program
    .command('backup <dir>')
    .description('copy the embedded stores of the data directory into <dir> (new or empty), consistently, while StreetWatch runs')
    .action(async (dir: string) => {
      const { version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
      const manifest = await backupDataDir(config.dataDir, dir, version);
      io.stdout(`backed up ${config.dataDir} into ${dir}:\n${describeBackup(manifest)}`);
      if (config.redis || config.influx) {
        io.stdout(`${modeOf(config)} mode: ${[config.redis && 'Redis', config.influx && 'InfluxDB'].filter(Boolean).join(' and ')} hold the rest; back them up with their own tools (docs/OPERATIONS.md)\n`);
      }
    });

  program
    .command('restore <dir>')
    .description('bring a backup back into the data directory; refused while StreetWatch runs on it')
    .option('--data-dir <dir>', 'where to restore (default: STREETWATCH_DATA_DIR)')
    .option('--force', 'replace the databases the data directory holds')
    .action((dir: string, o: { dataDir?: string; force?: boolean }) => {
      const target = path.resolve(o.dataDir ?? config.dataDir);
      const manifest = restoreDataDir(dir, target, { force: o.force === true });
      io.stdout(`restored the backup of ${new Date(manifest.takenAt).toISOString()} (StreetWatch ${manifest.version}) into ${target}:\n${describeBackup(manifest)}`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code.startsWith('streetwatch.')) io.stderr(err.message);
      return err.exitCode;
    }
    if (err instanceof ApiError) {
      io.stderr(`${err.code}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof StreetWatchError) {
      io.stderr(`${err.code}: ${typeof err.details === 'string' ? err.details : err.message}\n`);
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' || (err as NodeJS.ErrnoException).code === 'ENOENT') {
      io.stderr(`${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}

/** The provisioning options of `devices add`, as body fields. */
function provisioningOptions(o: { mobile?: boolean; gateway?: string; senmlName?: string; senmlMap?: string }): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (o.mobile) fields.mobile = true;
  if (o.gateway !== undefined) fields.gateway = o.gateway;
  if (o.senmlName !== undefined || o.senmlMap !== undefined) fields.senml = { name: o.senmlName || null, map: senmlMapOption(o.senmlMap ?? '') };
  return fields;
}

function senmlMapOption(text: string): SenmlMapEntry[] {
  const table = parseSenmlMap(text);
  if ('error' in table) throw new CommanderError(2, 'streetwatch.invalid', `error: --senml-map: ${table.error}\n`);
  return table.map;
}

function readCapped(file: string): string {
  const size = fs.statSync(file).size;
  if (size > MAX_DEVICE_CSV_BYTES) throw new CommanderError(1, 'streetwatch.csv', `${file}: ${size} bytes, the limit is ${MAX_DEVICE_CSV_BYTES}\n`);
  return fs.readFileSync(file, 'utf8');
}

export function formatDeviceTable(list: readonly DeviceView[], now: number): string {
  const rows = list.map((d) => [
    d.id,
    d.kind,
    d.status,
    d.lastSeen === null ? '-' : ago(now - d.lastSeen),
    d.mobile ? 'mobile' : 'fixed',
    d.gateway ?? '-',
    d.senml.name === null && d.senml.map.length === 0 ? '-' : `${d.senml.name ?? ''}${d.senml.map.length ? ` [${formatSenmlMap(d.senml.map)}]` : ''}`,
    d.location ? `${d.location.lat},${d.location.lon}` : '-',
  ]);
  const header = ['ID', 'KIND', 'STATUS', 'LAST SEEN', 'PLACE', 'GATEWAY', 'SENML', 'LOCATION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`;
  return line(header) + rows.map(line).join('') + `${list.length} device${list.length === 1 ? '' : 's'}\n`;
}

export function formatParkedTable(list: readonly ParkedView[]): string {
  const rows = list.map((p) => [p.id, new Date(p.parkedAt).toISOString(), p.topic, p.group, p.key, String(p.attempts), p.replayedAt === null ? '-' : new Date(p.replayedAt).toISOString(), `${p.cause.code} ${p.cause.message}`.slice(0, 120)]);
  const header = ['ID', 'PARKED', 'TOPIC', 'GROUP', 'KEY', 'ATTEMPTS', 'REPLAYED', 'CAUSE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`;
  return line(header) + rows.map(line).join('') + `${list.length} parked record${list.length === 1 ? '' : 's'}\n`;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

function abortOnSigint(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return controller.signal;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
