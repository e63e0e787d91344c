/**
 * Manifests asked for by digest, kept in memory: immutable (the digest is the sha256 of the
 * bytes), small, and asked for again and again (every platform manifest of an index, every
 * node pulling the same image), so a hit never touches the disk or an upstream. Bounded by
 * bytes, least recently used out first (lru-cache).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface CachedManifest {
  readonly contentType: string;
  readonly body: Buffer;
}

/** A manifest larger than this is not kept (an index of thousands of platforms is rare and large). */
const MAX_MANIFEST_BYTES = 1024 * 1024;

export class ManifestMemory {
  readonly #lru: LRUCache<string, CachedManifest>;

  constructor(maxBytes: number) {
    this.#lru = new LRUCache<string, CachedManifest>({ maxSize: maxBytes, sizeCalculation: (m) => m.body.length + m.contentType.length + 64 });
  }

  get(digest: string): CachedManifest | undefined {
    return this.#lru.get(digest);
  }

  /** Keeps `body` under `digest` only if it is that digest's content (sha256) and small enough. */
  offer(digest: string, contentType: string, body: Buffer): boolean {
    if (body.length > MAX_MANIFEST_BYTES || !digest.startsWith('sha256:')) return false;
    if (`sha256:${createHash('sha256').update(body).digest('hex')}` !== digest) return false;
    this.#lru.set(digest, { contentType, body });
    return true;
  }

  get size(): number {
    return this.#lru.size;
  }
}
