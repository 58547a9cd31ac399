/**
 * Where the Redis state store keeps what, all under `${namespace}sw:`:
 *   dev:{id}                      hash   a device
 *   devs                          zset   device ids (score 0: ordered by id)
 *   gwd:{id}                      set    the ids of the devices a gateway speaks for
 *   t:{id}                        hash   a ticket: v (version), mk, st, sc, gr, ca, body (JSON)
 *   topen:{mergeKey}              string the id of the open ticket holding the merge key
 *   tidx, tidx:st:{status}, tidx:sc:{sc}, tidx:sc:{sc}:st:{status}
 *                                 zset   ticket ids by createdAt, for listing
 *   tfp:{fingerprint}             zset   open tickets holding an alert, by createdAt
 *   tfps:{ticketId}               set    the fingerprints a ticket is indexed under
 *   tfpl:{fingerprint}            hash   id, ca: the newest ticket, open or closed, that listed it
 *   tm:{timerId}                  hash   a ticket timer: tid, kind, due, lo/lu (lease owner/until)
 *   tmdue                         zset   timer ids by due time
 *   tmt:{ticketId}                zset   a ticket's timer ids by due time
 *   so:{id}                       hash   a supervision order: tid, sc, to, st, ca, body (JSON)
 *   soidx, soidx:u:{unit}, soidx:t:{ticketId}
 *                                 zset   supervision order ids by createdAt
 *   ob:{id}                       hash   an outbox message, its delivery state and lease (lo/lu)
 *   obdue                         zset   pending outbox ids by next attempt time
 *   obdue:u:{unit}                zset   a unit's pending outbox ids by next attempt time (its queue)
 *   obrcv                         zset   units with pending messages, by their earliest next attempt
 *   obl:{ticketId}|{unit}         string the latest outbox id of a ticket to a unit (coalescing)
 *   obt:{ticketId}                zset   a ticket's outbox ids by createdAt
 *   obdone                        zset   delivered and given-up outbox ids by when they settled
 *   tidx:dp:{department}          zset   tickets a department leads or co-handles, by createdAt
 *   tdps:{ticketId}               set    the departments a ticket is indexed under
 *   rp:{id}                       hash   a people's report: body (JSON), tid (its ticket), by, ca, ea
 *   rpidx, rpidx:by:{filedBy}     zset   report ids by createdAt
 *   rpexp                         zset   report ids by expiresAt (retention)
 *   ph:{id}                       hash   a report's photo: ct, bytes, by, ca, ea
 *   phexp                         zset   photo ids by expiresAt (retention)
 *   tok:{id}, tokh:{hash}         hash, string   an API token, and its id by hash
 *   toks, toks:u:{unit}           zset   token ids by createdAt
 *   itok:{id}, itokh:{hash}       hash, string   an ingest token, and its id by hash
 *   itoks, itoks:d:{deviceId}     zset   ingest token ids by createdAt
 *   kv:{key}                      string rule state and dedup keys (JSON); a device's under
 *                                        kv:device:{id}:... (core/device-state.ts)
 *   schema                        string the layout version (migrations.ts); schema:lock while migrating
 *   deverr:{device}               zset   a device's recent refusals by arrival (DEVICE_ERROR_LOG_SIZE)
 *
 * A Keys holds the names of one namespace.
 */
export class Keys {
  readonly devices: string;
  readonly outboxDue: string;
  readonly outboxUnits: string;
  /** The prefix of the gateways' device sets (scripts add the gateway id). */
  readonly gatewayDevicesPrefix: string;
  readonly outboxSettled: string;
  readonly schema: string;
  readonly schemaLock: string;
  constructor(readonly prefix: string) {
    this.devices = `${prefix}devs`;
    this.gatewayDevicesPrefix = `${prefix}gwd:`;
    this.outboxDue = `${prefix}obdue`;
    this.outboxUnits = `${prefix}obrcv`;
    this.outboxSettled = `${prefix}obdone`;
    this.schema = `${prefix}schema`;
    this.schemaLock = `${prefix}schema:lock`;
    this.timersDue = `${prefix}tmdue`;
  }
  device = (id: string): string => `${this.prefix}dev:${id}`;
  gatewayDevices = (gatewayId: string): string => `${this.gatewayDevicesPrefix}${gatewayId}`;
  ticket = (id: string): string => `${this.prefix}t:${id}`;
  openTicket = (mergeKey: string): string => `${this.prefix}topen:${mergeKey}`;
  ticketIndex = (subcenterId?: string, status?: string): string =>
    `${this.prefix}tidx${subcenterId === undefined ? '' : `:sc:${subcenterId}`}${status === undefined ? '' : `:st:${status}`}`;
  alertIndex = (fingerprint: string): string => `${this.prefix}tfp:${fingerprint}`;
  lastTicketOfAlert = (fingerprint: string): string => `${this.prefix}tfpl:${fingerprint}`;
  timer = (id: string): string => `${this.prefix}tm:${id}`;
  timersOf = (ticketId: string): string => `${this.prefix}tmt:${ticketId}`;
  readonly timersDue: string;
  order = (id: string): string => `${this.prefix}so:${id}`;
  orderIndex = (filter: { unitId?: string; ticketId?: string }): string =>
    filter.ticketId !== undefined ? `${this.prefix}soidx:t:${filter.ticketId}` : filter.unitId !== undefined ? `${this.prefix}soidx:u:${filter.unitId}` : `${this.prefix}soidx`;
  outboxItem = (id: string): string => `${this.prefix}ob:${id}`;
  outboxOf = (ticketId: string): string => `${this.prefix}obt:${ticketId}`;
  outboxDueOf = (unitId: string): string => `${this.prefix}obdue:u:${unitId}`;
  token = (id: string): string => `${this.prefix}tok:${id}`;
  tokenByHash = (hash: string): string => `${this.prefix}tokh:${hash}`;
  tokens = (unitId?: string): string => `${this.prefix}toks${unitId === undefined ? '' : `:u:${unitId}`}`;
  ingestToken = (id: string): string => `${this.prefix}itok:${id}`;
  ingestTokenByHash = (hash: string): string => `${this.prefix}itokh:${hash}`;
  ingestTokens = (deviceId?: string): string => `${this.prefix}itoks${deviceId === undefined ? '' : `:d:${deviceId}`}`;
  kv = (key: string): string => `${this.prefix}kv:${key}`;
  deviceErrors = (deviceId: string): string => `${this.prefix}deverr:${deviceId}`;
  departmentIndex = (department: string): string => `${this.prefix}tidx:dp:${department}`;
  report = (id: string): string => `${this.prefix}rp:${id}`;
  reportIndex = (filedBy?: string): string => `${this.prefix}rpidx${filedBy === undefined ? '' : `:by:${filedBy}`}`;
  reportExpiry = (): string => `${this.prefix}rpexp`;
  photo = (id: string): string => `${this.prefix}ph:${id}`;
  photoExpiry = (): string => `${this.prefix}phexp`;
}
