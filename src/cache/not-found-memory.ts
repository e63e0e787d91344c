/**
 * Tags every upstream (or the authority) answered 404 for, remembered for `cache.tags.notFoundTtl`
 * so that a client retrying a missing tag (a typo in a deployment, a CI loop polling for an
 * image not pushed yet) is answered 404 without touching the mirrors each time. Keyed like
 * TagMemory; bounded by count, least recently used out first.
 */
import { LRUCache } from 'lru-cache';

/** 404s remembered at most: a flood of random tags evicts old entries instead of growing memory. */
const MAX_NOT_FOUND = 10_000;

export class NotFoundMemory {
  readonly #lru: LRUCache<string, number>;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    max: number = MAX_NOT_FOUND,
  ) {
    this.#lru = new LRUCache<string, number>({ max });
  }

  /** True while a 404 for `key` is younger than the ttl; an expired entry is dropped. */
  has(key: string): boolean {
    const at = this.#lru.get(key);
    if (at === undefined) return false;
    if (this.now() - at < this.ttlMs) return true;
    this.#lru.delete(key);
    return false;
  }

  remember(key: string): void {
    if (this.ttlMs > 0) this.#lru.set(key, this.now());
  }

  /** The tag exists now (an upstream served it). */
  forget(key: string): void {
    this.#lru.delete(key);
  }

  get size(): number {
    return this.#lru.size;
  }
}
