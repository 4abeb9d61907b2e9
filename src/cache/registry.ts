/**
 * Opens the cache backend named by the config. Backends other than memory are loaded late
 * with import() so that a user of the memory cache never loads a database driver.
 */
import type { Logger } from 'winston';
import type { CacheConfig } from '../config/types.js';
import { BridgeError } from '../errors.js';
import type { PolicyCache } from './types.js';

export async function openCache(config: CacheConfig, log: Logger): Promise<PolicyCache> {
  let cache: PolicyCache;
  switch (config.type) {
    case 'internal': {
      const { MemoryPolicyCache } = await import('../../adapters/cache/memory.js');
      cache = new MemoryPolicyCache(config.cacheSize);
      break;
    }
    default: {
      const unknown: never = config.type;
      throw new BridgeError('ECONFIG_UNSUPPORTED', `cache type ${String(unknown)} is not implemented`);
    }
  }
  try {
    await cache.open();
  } catch (err) {
    throw new BridgeError('ECACHE_OPEN', `cannot open ${cache.kind} cache: ${(err as Error).message}`, { cause: err });
  }
  log.info('cache opened', { component: 'cache', backend: cache.kind });
  return cache;
}
