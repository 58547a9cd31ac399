/**
 * Log lines about what one client keeps doing wrong, sampled: the first occurrence is logged at
 * once, the ones that follow within the interval are only counted, and the count goes out in
 * the client's next line after the interval (or when it disconnects). Whatever a client sends,
 * it writes at most one line per interval, each of bounded size: 50,000 refused filters of up
 * to 60 KB each once wrote 7.2 MB of logs in 1.2 s.
 */
import { isStreetWatchError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Clock } from '../core/ports.js';

/** Characters of wire data (a topic filter) a log line quotes. */
export const LOGGED_WIRE_CHARS = 120;
/** Clients followed at once; past it the one followed longest is summed up and forgotten. */
const MAX_CLIENTS = 10_000;

interface Sample {
  /** When the last line about this client was written. */
  at: number;
  /** Occurrences since, not logged. */
  suppressed: number;
  /** The latest of them, already truncated. */
  latest: string;
}

/** Wire data cut for a log line: at most `LOGGED_WIRE_CHARS` characters, with its full length when cut. */
export function quoteWire(text: string): string {
  return text.length <= LOGGED_WIRE_CHARS ? text : `${text.slice(0, LOGGED_WIRE_CHARS)}… (${text.length} characters)`;
}

export class SampledLog {
  private readonly clients = new Map<string, Sample>();

  constructor(
    private readonly log: Logger,
    /** The message of every line; a line stands for one occurrence (the client, its wire data) and says how many went unlogged before it (`suppressed`). */
    private readonly message: string,
    /** The wire data's field name in the line (`filter`, `topic`). */
    private readonly field: string,
    private readonly intervalMs: number,
    private readonly clock: Clock,
  ) {}

  /** One occurrence for `clientId`, about `wire` (a topic filter, a topic). */
  record(clientId: string, wire: string): void {
    const now = this.clock.now();
    const latest = quoteWire(wire);
    const sample = this.clients.get(clientId);
    if (sample && now - sample.at < this.intervalMs) {
      sample.suppressed++;
      sample.latest = latest;
      return;
    }
    this.write(clientId, latest, sample?.suppressed ?? 0);
    if (sample) {
      sample.at = now;
      sample.suppressed = 0;
      return;
    }
    if (this.clients.size >= MAX_CLIENTS) this.flush(this.clients.keys().next().value!);
    this.clients.set(clientId, { at: now, suppressed: 0, latest });
  }

  /** Writes what is still suppressed for `clientId` and forgets it (it disconnected). */
  flush(clientId: string): void {
    const sample = this.clients.get(clientId);
    if (!sample) return;
    this.clients.delete(clientId);
    // The line stands for the latest occurrence, and says how many went unlogged before it.
    if (sample.suppressed > 0) this.write(clientId, sample.latest, sample.suppressed - 1);
  }

  /** Clients followed now. */
  get size(): number {
    return this.clients.size;
  }

  private write(clientId: string, wire: string, suppressed: number): void {
    this.log.info({ clientId: quoteWire(clientId), [this.field]: wire, ...(suppressed > 0 ? { suppressed } : {}) }, this.message);
  }
}

/** Characters of an unexpected error's stack a line keeps. */
const LOGGED_STACK_CHARS = 2_000;

interface FailureSample {
  at: number;
  suppressed: number;
  latest: Record<string, string>;
}

/**
 * Failures of one step of the broker (handing a publish or a presence report to the pipeline),
 * logged sampled per process by error code: a full log refuses every publish of a fleet at once,
 * so per client would still be a line per device. The first failure of a code is logged at once,
 * the ones that follow within the interval only counted, and the count goes out with the next
 * line of that code after the interval (or at `flush`). At most one line per code per interval,
 * each of bounded size: an expected (coded) error is logged by its code and message, without a
 * stack; an unexpected one keeps a bounded stack. 406,353 refused publishes of a 10,000 device
 * flood once wrote 474 MB of logs in two minutes, one line with its stack each.
 */
export class SampledFailures {
  /** By error code: the catalogue's codes and `unexpected`, a bounded set. */
  private readonly codes = new Map<string, FailureSample>();

  constructor(
    private readonly log: Logger,
    /** The message of every line. */
    private readonly message: string,
    private readonly intervalMs: number,
    private readonly clock: Clock,
  ) {}

  /** One failure, with what it was about (a device id, a status), returns its code. */
  record(err: unknown, about: Record<string, string>): string {
    const code = failureCode(err);
    const now = this.clock.now();
    const latest = Object.fromEntries(Object.entries(about).map(([k, v]) => [k, quoteWire(v)]));
    const sample = this.codes.get(code);
    if (sample && now - sample.at < this.intervalMs) {
      sample.suppressed++;
      sample.latest = latest;
      return code;
    }
    this.write(code, err, latest, sample?.suppressed ?? 0);
    this.codes.set(code, { at: now, suppressed: 0, latest });
    return code;
  }

  /** Writes what is still suppressed (the step stops). */
  flush(): void {
    for (const [code, sample] of this.codes) {
      if (sample.suppressed > 0) this.write(code, undefined, sample.latest, sample.suppressed - 1);
    }
    this.codes.clear();
  }

  private write(code: string, err: unknown, about: Record<string, string>, suppressed: number): void {
    const error = err === undefined ? {} : code === 'unexpected' ? { err: boundedError(err) } : { error: quoteWire((err as Error).message) };
    this.log.warn({ code, ...about, ...error, ...(suppressed > 0 ? { suppressed } : {}) }, this.message);
  }
}

/** The catalogue code of a failure, or `unexpected`. */
export function failureCode(err: unknown): string {
  return isStreetWatchError(err) ? err.code : 'unexpected';
}

function boundedError(err: unknown): { message: string; stack?: string } {
  if (!(err instanceof Error)) return { message: quoteWire(String(err)) };
  // The stack opens with the message, already quoted (cut) above: only its frames are kept.
  const head = `${err.name}: ${err.message}`;
  const frames = err.stack?.startsWith(head) ? err.stack.slice(head.length).trimStart() : err.stack;
  return { message: quoteWire(err.message), ...(frames ? { stack: frames.slice(0, LOGGED_STACK_CHARS) } : {}) };
}
