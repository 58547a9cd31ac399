import { keyValueContract } from '../../test/contract/state.contract.js';
import { MemoryKeyValueStore } from './memory-kv.js';

keyValueContract('memory', async () => ({ kv: new MemoryKeyValueStore(), close: async () => undefined }));
