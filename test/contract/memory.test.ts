import { MemoryPolicyCache } from '../../adapters/cache/memory.js';
import { runPolicyCacheContract } from './policy-cache.contract.js';

runPolicyCacheContract('memory', () => new MemoryPolicyCache(1000));
