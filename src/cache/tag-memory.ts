/**
 * Which digest a tag pointed to when it was last fetched, by registry, repository, tag and
 * `Accept` (a tag answers with an index or with one platform's manifest depending on what the
 * client accepts). Fresh for the tag's ttl (tag-ttl.ts); older entries still serve when every
 * upstream fails (stale-if-error). The manifests themselves live in ManifestMemory, by digest.
 */
import { LRUCache } from 'lru-cache';

/** Tags remembered at most (least recently used out first). */
const MAX_TAGS = 10_000;

/** A tag as tag-file.ts keeps it: key, digest, when it was learned (ms since the epoch). */
export type TagEntry = readonly [key: string, digest: string, at: number];

export class TagMemory {
  readonly #lru = new LRUCache<string, { readonly digest: string; readonly at: number }>({ max: MAX_TAGS });
  #changed = false;

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
    this.#changed = true;
  }

  /** Whether a tag was learned since the last `entries()`. */
  get changed(): boolean {
    return this.#changed;
  }

  /** Every tag, least recently used first (so `restore` rebuilds the same order). */
  entries(): TagEntry[] {
    this.#changed = false;
    const entries: TagEntry[] = [];
    this.#lru.rforEach(({ digest, at }, key) => entries.push([key, digest, at]));
    return entries;
  }

  /** Puts back what `entries()` gave (tags learned since are kept, and stay the most recent). */
  restore(entries: readonly TagEntry[]): void {
    for (const [key, digest, at] of entries) if (!this.#lru.has(key)) this.#lru.set(key, { digest, at });
  }
}
