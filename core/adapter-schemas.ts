/**
 * Third-party payload formats devices may send instead of StreetWatch telemetry: SenML
 * (RFC 8428) on `v1/devices/{id}/senml` and Frigate NVR events on `v1/devices/{id}/frigate/events`.
 *
 * Unlike our own payloads these objects are not `.strict()`: both formats allow fields we do not
 * read. RFC 8428 §4.4 requires a receiver to ignore labels it does not know (except those ending
 * in `_`, checked by the decoder), and Frigate adds fields in most releases (box, region,
 * attributes, speed estimates...). Unknown keys are stripped, never kept; every field we do read
 * is bounded, and the payload byte cap applies before parsing.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------
// SenML (RFC 8428)

/** RFC 8428 §4.4: the version this implementation understands; a pack with a higher `bver` is refused. */
export const SENML_VERSION = 10;
/** Most records in one SenML pack. */
export const MAX_SENML_RECORDS = 1000;
/** RFC 8428 §4.5.3: a time below 2**28 seconds is relative to now; at or above, seconds since the epoch. */
export const SENML_RELATIVE_TIME_LIMIT = 2 ** 28;
/** RFC 8428 §4.5.1: a resolved name uses these characters and starts with a letter or digit. */
export const SENML_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9\-:./_]*$/;

const senmlString = (max: number) => z.string().max(max);

/** The base fields of a record: they apply to it and to every later record until set again (§4.1). */
export const SenmlBaseFields = z.object({
  bn: senmlString(256).optional().describe('Base Name: prefixed to the names of this and later records'),
  bt: z.number().optional().describe('Base Time (seconds): added to the times of this and later records'),
  bu: senmlString(32).optional().describe('Base Unit: the unit of this and later records that carry none'),
  bv: z.number().optional().describe('Base Value: added to the values of this and later records'),
  bs: z.number().optional().describe('Base Sum: added to the sums of this and later records'),
  bver: z.number().int().positive().optional().describe('Base Version; StreetWatch understands 10'),
});

/** The regular fields of a record. */
export const SenmlRegularFields = z.object({
  n: senmlString(256).optional().describe('Name: appended to the base name'),
  u: senmlString(32).optional().describe('Unit, from the SenML unit registries'),
  v: z.number().optional().describe('Value (number)'),
  vs: senmlString(1024).optional().describe('String Value (not stored by StreetWatch)'),
  vb: z.boolean().optional().describe('Boolean Value'),
  vd: senmlString(4096).optional().describe('Data Value, base64url (not stored by StreetWatch)'),
  s: z.number().optional().describe('Sum (not stored by StreetWatch)'),
  t: z.number().optional().describe('Time (seconds): absolute at or above 2**28, else relative to now'),
  ut: z.number().nonnegative().optional().describe('Update Time (seconds)'),
});

export const SenmlRecord = z.object({ ...SenmlBaseFields.shape, ...SenmlRegularFields.shape });
export type SenmlRecord = z.infer<typeof SenmlRecord>;

/** `v1/devices/{id}/senml`: a SenML JSON pack. */
export const SenmlPack = z.array(SenmlRecord).min(1).max(MAX_SENML_RECORDS);

// ---------------------------------------------------------------------------------------
// Frigate NVR events (`<topic_prefix>/events`)

const seconds = z.number().nonnegative();

/** One tracked object as Frigate reports it; only the fields StreetWatch reads. */
export const FrigateTrackedObject = z.object({
  id: z.string().min(1).max(64).describe('The tracked object, the same in every message about it'),
  camera: z.string().min(1).max(64),
  label: z.string().min(1).max(64).describe('What was detected: person, car, ...'),
  frame_time: seconds.nullish().describe('Epoch seconds of the frame this state comes from'),
  start_time: seconds.nullish(),
  end_time: seconds.nullish(),
  score: z.number().min(0).max(1).nullish(),
  top_score: z.number().min(0).max(1).nullish(),
  false_positive: z.boolean().nullish(),
  stationary: z.boolean().nullish(),
  current_zones: z.array(z.string().max(64)).max(32).nullish(),
  entered_zones: z.array(z.string().max(64)).max(32).nullish(),
});
export type FrigateTrackedObject = z.infer<typeof FrigateTrackedObject>;

/** `v1/devices/{id}/frigate/events`: a Frigate event message, unchanged. */
export const FrigateEvent = z.object({
  type: z.enum(['new', 'update', 'end']),
  before: FrigateTrackedObject.nullish(),
  after: FrigateTrackedObject,
});
export type FrigateEvent = z.infer<typeof FrigateEvent>;
