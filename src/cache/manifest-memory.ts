/**
 * Manifests asked for by digest: immutable (the digest is the sha256 of the bytes), small, and
 * asked for again and again (every platform manifest of an index, every node pulling the same
 * image). Kept in memory, bounded by bytes, least recently used out first (lru-cache), so a hot
 * hit never touches the disk or an upstream; and on disk in the blob store under their own
 * digest (as distribution stores them), so they outlive a restart and the memory bound, and
 * count towards `cache.maxSize` with the blobs.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import type { BlobStore } from './blob-store.js';
import { manifestMediaType } from './manifest-type.js';

export interface CachedManifest {
  readonly contentType: string;
  readonly body: Buffer;
}

/** A manifest larger than this is not kept (an index of thousands of platforms is rare and large). */
const MAX_MANIFEST_BYTES = 1024 * 1024;

export class ManifestMemory {
  readonly #lru: LRUCache<string, CachedManifest>;
  /** Writes to disk still running (shutdown waits for them, so nothing writes into a closed cache). */
  readonly #writing = new Set<Promise<void>>();

  constructor(
    maxBytes: number,
    /** Where manifests are kept on disk; without one, in memory only. */
    private readonly disk?: BlobStore,
  ) {
    this.#lru = new LRUCache<string, CachedManifest>({ maxSize: maxBytes, sizeCalculation: (m) => m.body.length + m.contentType.length + 64 });
  }

  /** From memory only: no I/O. */
  get(digest: string): CachedManifest | undefined {
    return this.#lru.get(digest);
  }

  /** From memory, else from disk (and then in memory again); undefined when neither has it. */
  async lookup(digest: string): Promise<CachedManifest | undefined> {
    const kept = this.#lru.get(digest);
    if (kept !== undefined || this.disk === undefined) return kept;
    const stored = this.disk.acquire(digest);
    if (stored === undefined || stored.size > MAX_MANIFEST_BYTES) {
      stored?.release();
      return undefined;
    }
    try {
      // The store committed these bytes only after they hashed to the digest.
      const body = await readFile(stored.path);
      const contentType = manifestMediaType(body);
      if (contentType === undefined || body.length !== stored.size) return undefined;
      const manifest = { contentType, body };
      this.#lru.set(digest, manifest);
      return manifest;
    } catch {
      // Gone (evicted, removed beside the gateway): ask the upstreams.
      return undefined;
    } finally {
      stored.release();
    }
  }

  /** Keeps `body` under `digest` only if it is that digest's content (sha256) and small enough. */
  offer(digest: string, contentType: string, body: Buffer): boolean {
    if (body.length > MAX_MANIFEST_BYTES || !digest.startsWith('sha256:')) return false;
    if (`sha256:${createHash('sha256').update(body).digest('hex')}` !== digest) return false;
    this.#lru.set(digest, { contentType, body });
    // On disk only what will read back as the same answer.
    if (this.disk !== undefined && !this.disk.has(digest) && manifestMediaType(body) === contentType) {
      const writing = this.#persist(this.disk, digest, body);
      this.#writing.add(writing);
      void writing.finally(() => this.#writing.delete(writing));
    }
    return true;
  }

  /** Resolves once the manifests being written to disk are written (or failed). */
  async flushed(): Promise<void> {
    await Promise.all([...this.#writing]);
  }

  /** Best effort: a manifest that could not be written is still in memory, and upstream. */
  async #persist(disk: BlobStore, digest: string, body: Buffer): Promise<void> {
    try {
      const writer = await disk.create(digest);
      writer.write(body).catch(() => undefined);
      await writer.commit();
    } catch {
      // The disk's trouble shows in the blob fills' relay-only mode; nothing to add here.
    }
  }

  get size(): number {
    return this.#lru.size;
  }
}
