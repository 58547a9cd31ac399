/**
 * The embedded log in tests: a bus of its own in a temporary directory, and waiting for the
 * pipeline to catch up. A publish resolves once its records are in the log, not once consumers
 * have handled them, so a test that wants the effect waits for it (never a fixed sleep).
 */
import type { Bus } from '../../core/ports.js';
import { SqliteLogBus, type SqliteLogBusOptions } from '../../core/bus/sqlite-log.js';
import { tempDir, waitFor } from './harness.js';

export function tempLogBus(opts: Omit<SqliteLogBusOptions, 'database' | 'ownsDatabase'> = {}): SqliteLogBus {
  return SqliteLogBus.open(tempDir('bus'), opts);
}

/**
 * Waits until every group subscribed to the embedded log has taken everything published so far,
 * and what its handlers published in turn. Generous by default: nothing here measures time.
 */
export async function busSettled(bus: Bus, ms = 30_000): Promise<void> {
  if (!(bus instanceof SqliteLogBus)) throw new Error('busSettled needs the embedded log');
  await waitFor(() => bus.backlog() === 0 || undefined, 'the bus consumers to catch up', ms);
}
