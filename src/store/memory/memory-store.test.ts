import { runStoreContract } from '../../../test/helpers/store-contract.js';
import { MemoryStore } from './memory-store.js';

runStoreContract('memory', { open: (now) => Promise.resolve(new MemoryStore({ now, sweepIntervalMs: 0 })) });
