/**
 * Opens the blob cache the config asks for, once, before the gateway listens. The cache is not
 * shared between `workers` yet (each would keep its own index of one directory and evict the
 * others' files), so with more than one worker it stays off, with a warning.
 */
import { BlobCache } from '../cache/blob-cache.js';
import { BlobStore } from '../cache/blob-store.js';
import type { Caches } from '../cache/cached-pull.js';
import { ManifestMemory } from '../cache/manifest-memory.js';
import { NotFoundMemory } from '../cache/not-found-memory.js';
import { TagMemory } from '../cache/tag-memory.js';
import type { AuthorityResult } from '../cache/tag-pull.js';
import { TagTtls } from '../cache/tag-ttl.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** Manifests by digest kept in memory: thousands of typical 1–10 KiB manifests. */
const MANIFEST_MEMORY_BYTES = 64 * 1024 * 1024;

export async function openCache(config: Config, logger: Logger, metrics: Metrics, now: () => number = Date.now): Promise<Caches | undefined> {
  const settings = config.cache;
  if (settings === undefined) return undefined;
  if (config.workers > 1) {
    logger.warn({ event: 'cache', dir: settings.dir }, 'the cache is not shared across workers yet: running without it');
    return undefined;
  }
  try {
    const store = await BlobStore.open(settings.dir, {
      maxBytes: settings.maxBytes,
      highWatermark: settings.highWatermark,
      lowWatermark: settings.lowWatermark,
      onEvicted: (blobs, bytes) => metrics.cacheEvicted(blobs, bytes),
    });
    logger.info({ event: 'cache', dir: settings.dir, blobs: store.count, bytes: store.bytes, maxBytes: settings.maxBytes }, 'blob cache open');
    const cache = new BlobCache(store, metrics);
    metrics.watchCache(() => ({ bytes: store.bytes, maxBytes: settings.maxBytes, blobs: store.count, fillsInFlight: cache.filling }));
    return {
      blobs: cache,
      manifests: new ManifestMemory(MANIFEST_MEMORY_BYTES),
      tags: new TagMemory(now),
      tagTtls: new TagTtls(settings.tagTtlMs, settings.tagRules),
      notFound: new NotFoundMemory(settings.notFoundTtlMs, now),
      ...tagEvents(logger, metrics),
    };
  } catch (err) {
    // A cache that cannot work never fails a pull: relay instead.
    logger.error({ event: 'cache', dir: settings.dir, err }, 'cannot open the cache directory: relaying without a cache');
    return undefined;
  }
}

/** What the tag cache tells: metrics, and a warning when the mirrors or the authority failed someone. */
function tagEvents(logger: Logger, metrics: Metrics): Pick<Caches, 'onStale' | 'onNotFoundHit' | 'onAuthority'> {
  return {
    onStale: (tag, digest, bytes) => {
      metrics.cacheRequest('stale', bytes);
      logger.warn({ event: 'cache', tag, digest }, 'every upstream failed: served the last manifest seen for the tag');
    },
    onNotFoundHit: () => metrics.cacheRequest('negative', 0),
    onAuthority: (registry: string, result: AuthorityResult, detail?: string) => {
      metrics.tagResolution(registry, result);
      if (result === 'failed') logger.warn({ event: 'authority', registry, detail }, 'the authority could not resolve a tag: resolving it at the mirrors');
    },
  };
}
