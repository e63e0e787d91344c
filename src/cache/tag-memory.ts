/**
 * Which digest a tag pointed to when it was last fetched, by registry, repository, tag and
 * `Accept` (a tag answers with an index or with one platform's manifest depending on what the
 * client accepts). Fresh for the tag's ttl (tag-ttl.ts); older entries still serve when every
 * upstream fails (stale-if-error). The manifests themselves live in ManifestMemory, by digest.
 */
import { LRUCache } from 'lru-cache';

/** Tags remembered at most (least recently used out first). */
const MAX_TAGS = 10_000;

export class TagMemory {
  readonly #lru = new LRUCache<string, { readonly digest: string; readonly at: number }>({ max: MAX_TAGS });

  constructor(private readonly now: () => number = Date.now) {}

  static key(registry: string, repository: string, tag: string, accept: string): string {
    return `${registry}/${repository}:${tag} ${accept}`;
  }

  /** The digest, if it was learned within `ttlMs`. */
  fresh(key: string, ttlMs: number): string | undefined {
    const entry = this.#lru.get(key);
    return entry !== undefined && this.now() - entry.at < ttlMs ? entry.digest : undefined;
  }

  /** The digest last learned, however old: for when no upstream can answer. */
  last(key: string): string | undefined {
    return this.#lru.get(key)?.digest;
  }

  remember(key: string, digest: string): void {
    this.#lru.set(key, { digest, at: this.now() });
  }
}
