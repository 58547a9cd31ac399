import { afterAll, beforeEach, describe } from 'vitest';
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
});
