/**
 * Opens the blob cache the config asks for, once, before the gateway listens. The cache is not
 * shared between `workers` yet (each would keep its own index of one directory and evict the
 * others' files), so with more than one worker it stays off, with a warning.
 */
import { BlobCache } from '../cache/blob-cache.js';
import { BlobStore } from '../cache/blob-store.js';
import type { Caches } from '../cache/cached-pull.js';
import { ManifestMemory } from '../cache/manifest-memory.js';
import { TagMemory } from '../cache/tag-memory.js';
import type { CacheConfig, Config } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** Manifests by digest kept in memory: thousands of typical 1–10 KiB manifests. */
const MANIFEST_MEMORY_BYTES = 64 * 1024 * 1024;

export async function openCache(config: Config, logger: Logger, metrics: Metrics): Promise<Caches | undefined> {
  const settings = config.cache;
  if (settings === undefined) return undefined;
  if (config.workers > 1) {
    logger.warn({ event: 'cache', dir: settings.dir }, 'the cache is not shared across workers yet: running without it');
    return undefined;
  }
  try {
    const caches = await openCaches(settings, logger, metrics);
    const store = caches.blobs.store;
    logger.info({ event: 'cache', dir: settings.dir, blobs: store.count, bytes: store.bytes, maxBytes: settings.maxBytes }, 'blob cache open');
    return caches;
  } catch (err) {
    // A cache that cannot work never fails a pull: relay instead.
    logger.error({ event: 'cache', dir: settings.dir, err }, 'cannot open the cache directory: relaying without a cache');
    return undefined;
  }
}

/**
 * The caches on `settings.dir`, its lock taken (`caches.blobs.close()` releases it); rejects when
 * the directory cannot be used, with a DirLockedError when another live process holds it.
 */
export async function openCaches(settings: CacheConfig, logger: Logger, metrics: Metrics): Promise<Caches> {
  const store = await BlobStore.open(settings.dir, {
    maxBytes: settings.maxBytes,
    highWatermark: settings.highWatermark,
    lowWatermark: settings.lowWatermark,
    onEvicted: (blobs, bytes) => metrics.cacheEvicted(blobs, bytes),
  });
  const cache = new BlobCache(store, metrics);
  metrics.watchCache(() => ({ bytes: store.bytes, maxBytes: settings.maxBytes, blobs: store.count, fillsInFlight: cache.filling }));
  const onStale = (tag: string, digest: string, bytes: number): void => {
    metrics.cacheRequest('stale', bytes);
    logger.warn({ event: 'cache', tag, digest }, 'every upstream failed: served the last manifest seen for the tag');
  };
  return { blobs: cache, manifests: new ManifestMemory(MANIFEST_MEMORY_BYTES), tags: new TagMemory(settings.tagTtlMs), onStale };
}
