import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { busContract } from '../../test/contract/bus.contract.js';
import { dropNamespace, testNamespace, testServices } from '../../test/support/backends.js';
import { createLogger } from '../logger.js';
import { KafkaBus } from './kafka.js';

const services = testServices();

// Waits are long: group joins stretch on a loaded machine; nothing here asserts how long they take.
describe.skipIf(!services)('KafkaBus', { timeout: 90_000 }, () => {
  const used: string[] = [];
  // A namespace per test: its topics start empty, as the contract expects of a fresh bus, and
  // every bus a test makes (members of one group) shares them.
  let namespace = '';
  beforeEach(() => {
    namespace = testNamespace();
    used.push(namespace);
  });
  afterAll(async () => {
    await Promise.all(used.map((ns) => dropNamespace(services!, ns)));
  });

  busContract(
    'kafka',
    async () => {
      const bus = new KafkaBus({ brokers: services!.KAFKA_BROKERS.split(','), namespace, logger: createLogger(process.env.SW_TEST_LOG ?? 'silent') });
      await bus.connect();
      return bus;
    },
    { groupMembers: true, durable: true },
  );

  describe('records Kafka refuses', () => {
    const buses: KafkaBus[] = [];
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((b) => b.close()));
    });

    it('parks a record whose output is over the broker\'s record limit, instead of retrying it forever', async () => {
      const bus = new KafkaBus({ brokers: services!.KAFKA_BROKERS.split(','), namespace, logger: createLogger(process.env.SW_TEST_LOG ?? 'silent') });
      buses.push(bus);
      await bus.connect();
      const group = randomUUID();
      const handled: number[] = [];
      await bus.subscribe('sw.deadletter', group, async (rs, batch) => {
        // Record 2 makes a message of 2 MiB: twice the broker's default message.max.bytes.
        for (const r of rs) batch.publish('sw.deadletter', r.value.receivedAt === 2 ? [{ key: 'out', value: { ...r.value, receivedAt: -1, payload: 'x'.repeat(2 * 1024 * 1024) } }] : []);
        handled.push(...rs.map((r) => r.value.receivedAt).filter((n) => n > 0));
      });
      const letter = (n: number) => ({ ref: `r${n}`, deviceId: 'k', clientId: 'k', topic: 't', code: 'SW_ERR_PAYLOAD_JSON', message: 'm', receivedAt: n, payload: '', truncated: false });
      await bus.publish('sw.deadletter', [1, 2, 3].map((n) => ({ key: 'k', value: letter(n) })));
      const end = Date.now() + 60_000;
      let parked = await bus.listParked({ group });
      while (parked.length === 0 && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
        parked = await bus.listParked({ group });
      }
      expect(parked).toMatchObject([{ topic: 'sw.deadletter', group, value: letter(2), attempts: 1, cause: { code: 'SW_ERR_INTERNAL', message: expect.stringMatching(/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE/) } }]);
      // Record 3 went through after it.
      while (!handled.includes(3) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(handled).toContain(3);
    });
  });
});
