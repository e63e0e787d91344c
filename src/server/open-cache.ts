/**
 * Opens the blob cache the config asks for, once, before the gateway listens. A `workers: N`
 * worker shares the directory with the others (their primary emptied `tmp/` before they forked
 * and routes their fill claims): it leaves `tmp/` alone and joins the peers.
 */
import cluster from 'node:cluster';
import { BlobCache } from '../cache/blob-cache.js';
import { BlobSources } from '../cache/blob-sources.js';
import { BlobStore } from '../cache/blob-store.js';
import { CacheHealth } from '../cache/cache-health.js';
import { DirLockedError, lockHolder } from '../cache/dir-lock.js';
import type { Caches } from '../cache/cached-pull.js';
import { ManifestMemory } from '../cache/manifest-memory.js';
import { ParallelMismatches } from '../cache/parallel-mismatches.js';
import { PeerFills } from '../cache/peer-fills.js';
import { NotFoundMemory } from '../cache/not-found-memory.js';
import { loadTags, saveTags } from '../cache/tag-file.js';
import { TagMemory } from '../cache/tag-memory.js';
import type { AuthorityResult } from '../cache/tag-pull.js';
import { TagTtls } from '../cache/tag-ttl.js';
import type { CacheConfig, Config } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { workerPeerChannel } from './cache-peers.js';

/** How often the tags learned are written to disk (a crash loses at most this much of them). */
const TAGS_SAVE_MS = 30_000;

/** Manifests by digest kept in memory: thousands of typical 1–10 KiB manifests. */
const MANIFEST_MEMORY_BYTES = 64 * 1024 * 1024;

export async function openCache(config: Config, logger: Logger, metrics: Metrics, now: () => number = Date.now): Promise<Caches | undefined> {
  const settings = config.cache;
  if (settings === undefined) return undefined;
  try {
    const caches = await openCaches(settings, logger, metrics, { now, clustered: cluster.isWorker });
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
 * The caches on `settings.dir`; rejects when the directory cannot be used, with a DirLockedError
 * when another live process holds it. `clustered`: a worker of `workers: N`, sharing the
 * directory (its primary holds the lock) and joining the other workers' fills. Otherwise the
 * lock is taken here, and `caches.blobs.close()` releases it.
 */
export async function openCaches(
  settings: CacheConfig,
  logger: Logger,
  metrics: Metrics,
  { now = Date.now, clustered = false }: { now?: () => number; clustered?: boolean } = {},
): Promise<Caches> {
  // A worker shares the directory only with the cluster whose primary holds its lock.
  const holder = clustered ? await lockHolder(settings.dir) : undefined;
  if (clustered && holder !== process.ppid) throw new DirLockedError(settings.dir, holder ?? 0);
  let peers: PeerFills | undefined;
  const sources = new BlobSources(settings.dir);
  const store = await BlobStore.open(
    settings.dir,
    {
      maxBytes: settings.maxBytes,
      highWatermark: settings.highWatermark,
      lowWatermark: settings.lowWatermark,
      onEvicted: (blobs, bytes) => metrics.cacheEvicted(blobs, bytes),
      onIndexChange: (change) => [sources, peers].forEach((follower) => follower?.indexChanged(change)),
    },
    { shared: clustered },
  );
  if (clustered) peers = new PeerFills(workerPeerChannel(), store);
  const health = new CacheHealth((report) => {
    if (report.state === 'recovered')
      return logger.info({ event: 'cache', dir: settings.dir, code: report.code }, 'the cache disk works again: filling misses');
    metrics.cacheDiskFailure(report.code);
    logger.error(
      { event: 'cache', dir: settings.dir, code: report.code, err: report.message },
      'the cache disk failed: relaying misses until a fill works again',
    );
  });
  const cache = new BlobCache(store, { metrics, peers, health });
  metrics.watchCache(() => ({
    bytes: store.bytes,
    maxBytes: settings.maxBytes,
    blobs: store.count,
    fillsInFlight: cache.filling,
    relayOnly: health.failing !== undefined,
  }));
  const tags = new TagMemory(now);
  const restored = await loadTags(settings.dir, tags);
  if (restored > 0) logger.info({ event: 'cache', dir: settings.dir, tags: restored }, `${restored} tags restored from disk`);
  return {
    blobs: cache,
    manifests: new ManifestMemory(MANIFEST_MEMORY_BYTES, store),
    tags,
    saveTags: keepTagsOnDisk(settings.dir, tags, logger),
    tagTtls: new TagTtls(settings.tagTtlMs, settings.tagRules),
    notFound: new NotFoundMemory(settings.notFoundTtlMs, now),
    ...tagEvents(logger, metrics),
    parallel: settings.parallel,
    mismatches: settings.parallel === undefined ? undefined : new ParallelMismatches(),
    onPieces: pieceEvents(logger, metrics),
    sources,
  };
}

/** Tags learned are written to disk every TAGS_SAVE_MS (when some changed); the returned function writes them a last time and stops. */
function keepTagsOnDisk(dir: string, tags: TagMemory, logger: Logger): () => Promise<void> {
  const save = (): Promise<void> =>
    saveTags(dir, tags).catch((err: unknown) => logger.warn({ event: 'cache', dir, err }, 'cannot write the tags to disk (they are kept in memory)'));
  const timer = setInterval(() => {
    if (tags.changed) void save();
  }, TAGS_SAVE_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    return tags.changed ? save() : Promise.resolve();
  };
}

/** What a fill in pieces tells: metrics, its log line, and a warning naming the mirrors when it did not match its digest. */
function pieceEvents(logger: Logger, metrics: Metrics): NonNullable<Caches['onPieces']> {
  return (digest, stats, quarantined) => {
    metrics.cachePieces(stats.bytesByMirror, stats.hedged, stats.size / Math.max(stats.seconds, 0.001));
    if (!stats.mismatched) return logger.info({ event: 'fill', digest, ...stats }, `filled ${digest.slice(0, 19)}… in ${stats.pieces} pieces`);
    const implicated = Object.keys(stats.bytesByMirror).filter((name) => (stats.bytesByMirror[name] ?? 0) > 0);
    logger.warn(
      { event: 'fill', digest, ...stats, implicated, quarantined },
      `a fill of ${digest.slice(0, 19)}… in pieces from ${implicated.join(', ')} does not match its digest: fetching it again from one mirror` +
        (quarantined.length > 0 ? `; out of rotation: ${quarantined.join(', ')}` : ''),
    );
  };
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
