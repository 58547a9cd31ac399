/**
 * HTTP ingest for departments' own systems (water affairs, gas, fire already run sensor
 * platforms): `POST /api/ingest/telemetry` and `POST /api/ingest/senml`, with the ingest token of
 * the system (api/ingest-auth.ts). A batch enters the pipeline as the publishes its devices would
 * have sent over MQTT (`sw.raw`), so it is decoded, judged and refused exactly as they are; the
 * answer gives each record its fate (api/ingest-batches.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IngestBatchAnswer, IngestBatchPending } from '../../core/api-schemas.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../core/config.js';
import { MAX_TELEMETRY_BATCH } from '../../core/schemas.js';
import { batchDigest, BatchMemory, planSenml, planTelemetry, type BatchKind, type BatchPlan, type Owns } from '../ingest-batches.js';
import { route, type Route, type RouteContext } from '../route-table.js';

/** Largest ingest request: 1000 telemetry records of about 1 KiB. */
export const HTTP_INGEST_BODY_LIMIT = 1024 * 1024;
/** Most SenML packs in one request (each up to the payload limit, all of them to the body limit). */
export const MAX_SENML_PACKS = 100;

const BatchId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1 to 128 letters, digits, ".", "_", ":" or "-"');

export const IngestTelemetryBody = z.strictObject({
  /** The client's id for the batch: a batch sent again with it is stored once. */
  batchId: BatchId,
  /** Telemetry objects as a device sends them (`ts`, `values`, `loc`), each with its `deviceId`; each is checked as over MQTT, on its own. */
  records: z.array(z.unknown()).min(1).max(MAX_TELEMETRY_BATCH),
});

export const IngestSenmlBody = z.strictObject({
  batchId: BatchId,
  /** `{deviceId, pack}`: each pack as its device would publish it on its senml topic. */
  packs: z.array(z.unknown()).min(1).max(MAX_SENML_PACKS),
});

/** One batch memory per server (its state is in the key-value store; this holds no more than options). */
const memories = new WeakMap<RouteContext, BatchMemory>();
const memoryOf = (ctx: RouteContext): BatchMemory => memories.get(ctx) ?? memories.set(ctx, new BatchMemory({ kv: ctx.state.kv, bus: ctx.bus, clock: ctx.clock })).get(ctx)!;

/** The system speaks for itself and for the devices provisioned with it as their gateway. */
function owner(ctx: RouteContext, system: string): Owns {
  const seen = new Map<string, boolean>();
  return async (deviceId) => {
    const known = seen.get(deviceId);
    if (known !== undefined) return known;
    const owned = deviceId === system || (await ctx.state.devices.get(deviceId))?.gateway === system;
    seen.set(deviceId, owned);
    return owned;
  };
}

async function send(ctx: RouteContext, req: FastifyRequest, reply: FastifyReply, kind: BatchKind, batchId: string, items: readonly unknown[], plan: (system: string, owns: Owns, receivedAt: number) => Promise<BatchPlan>) {
  const system = req.ingestToken!.deviceId;
  const outcome = await memoryOf(ctx).send(system, batchId, kind, items.length, batchDigest(kind, items), () => plan(system, owner(ctx, system), ctx.clock.now()));
  req.log.info({ system, batchId, kind, status: outcome.status }, 'ingest batch');
  return reply.status(outcome.status).send(outcome.status === 200 ? outcome.answer : outcome.pending);
}

const answers = {
  200: { description: 'The batch was processed (or had been: `replayed`): one result per record or pack', schema: IngestBatchAnswer },
  202: { description: 'Accepted, not processed yet: send the same request again for the answer (nothing is stored twice)', schema: IngestBatchPending },
} as const;
const batchErrors = ['SW_ERR_BATCH_CONFLICT', 'SW_ERR_BATCH_PENDING', 'SW_ERR_UNAVAILABLE'] as const;

export const ingestRoutes: readonly Route[] = [
  route({
    method: 'POST',
    url: '/api/ingest/telemetry',
    operationId: 'ingestTelemetry',
    summary: "A batch of telemetry from a department's system",
    description: 'Up to 1000 telemetry objects, each with its `deviceId`, checked and stored as the device\'s own publishes would be. A batch id sent again with the same body is answered again, not stored again; with another body it is refused.',
    tag: 'ingest',
    access: 'ingest',
    body: IngestTelemetryBody,
    bodyLimit: HTTP_INGEST_BODY_LIMIT,
    responses: answers,
    errors: [...batchErrors],
    handler: async ({ body }, req, reply, ctx) =>
      send(ctx, req, reply, 'telemetry', body.batchId, body.records, (system, owns, receivedAt) =>
        planTelemetry(system, body.records, owns, { maxPayloadBytes: ctx.httpIngest?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, receivedAt }),
      ),
  }),
  route({
    method: 'POST',
    url: '/api/ingest/senml',
    operationId: 'ingestSenml',
    summary: "A batch of SenML packs from a department's system",
    description: 'Up to 100 SenML packs (RFC 8428), each with the device it is for, resolved and stored as that device\'s own publish would be; errors name the record within its pack.',
    tag: 'ingest',
    access: 'ingest',
    body: IngestSenmlBody,
    bodyLimit: HTTP_INGEST_BODY_LIMIT,
    responses: answers,
    errors: [...batchErrors],
    handler: async ({ body }, req, reply, ctx) => send(ctx, req, reply, 'senml', body.batchId, body.packs, (system, owns, receivedAt) => planSenml(system, body.packs, owns, { receivedAt })),
  }),
];
