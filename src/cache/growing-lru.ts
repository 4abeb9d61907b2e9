/**
 * An LRU map bounded by entry count that grows as it fills. lru-cache preallocates its arrays
 * for `max` entries (about 24 bytes each, resident at once); bookkeeping maps whose bound is
 * generous but which are usually nearly empty (fetch failures, negative answers, warm-up
 * history) would hold megabytes for nothing from the start. A size bound (`maxSize`, every
 * entry counting 1) keeps the same limit without the preallocation.
 */
import { LRUCache } from 'lru-cache';

export function growingLru<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(maxEntries: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: Math.max(1, maxEntries), sizeCalculation: () => 1 });
}
