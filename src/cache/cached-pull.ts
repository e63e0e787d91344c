/**
 * A pull with the cache in front: the same entry point as proxy/pull.ts, so the server does not
 * know whether an answer came from disk or memory (distribution's proxy blob store is the model).
 *   blob GET              through the blob cache (HIT / JOINED / MISS, in `X-Cache`)
 *   blob HEAD, one Range  from the store when stored, from the spool of a fill that is streaming
 *                         (a client resuming while the fill goes on), else pulled
 *   manifest by digest    from memory or disk when kept, else pulled and kept once it hashed right
 *   manifest by tag       tag-pull.ts: from memory while fresh, a remembered 404, resolved at
 *                         the registry's authority and fetched by digest, else pulled from the
 *                         mirrors and remembered; STALE when no upstream can answer
 *   tags/list             pulled
 * A cache that cannot open or create a file falls back to relaying.
 *
 * With `access:` on, the client's `reader` says which repositories it may read: content named by
 * digest is served from the cache only when it was fetched under one of them (blob-sources.ts),
 * else relayed under the repository asked for; and a fill is joined only by requests for the
 * repository it was started for.
 */
import type { FetchResult } from '../proxy/fetch-result.js';
import { pull, type PullDeps, type PullRequest } from '../proxy/pull.js';
import { parseByteRange } from '../registry/range.js';
import type { FetchSignal } from '../stream/abort.js';
import type { Sink } from '../stream/sink.js';
import type { BlobCache, CacheResult } from './blob-cache.js';
import type { BlobSources, RepositoryReader } from './blob-sources.js';
import { blobFillFetch, type FillCaches } from './fill-fetch.js';
import type { ManifestMemory } from './manifest-memory.js';
import { followRange, headersFor, sendStoredRange, type StreamResult } from './follow.js';
import { CapturingSink, FROM_CACHE, sendManifest } from './manifest-answer.js';
import { manifestByTag, type TagCaches } from './tag-pull.js';

/** What the cache holds: blobs on disk; manifests by digest, tags and 404s for tags in memory. */
export interface Caches extends TagCaches, FillCaches {
  readonly blobs: BlobCache;
  /** Writes the tags to disk and stops writing them (shutdown); see tag-file.ts. */
  readonly saveTags?: () => Promise<void>;
  /** The repositories each digest was fetched under; left out: nothing is recorded, and a `reader` finds no copy readable. */
  readonly sources?: BlobSources;
}

/** Whether a cached copy of `digest` may go to the client `reader` speaks for (undefined: no access rules, anyone). */
function copyReadable(caches: Caches, digest: string, reader: RepositoryReader | undefined): boolean | Promise<boolean> {
  if (reader === undefined) return true;
  return caches.sources?.readable(digest, reader) ?? false;
}

export function cachedPull(
  caches: Caches,
  request: PullRequest,
  sink: Sink,
  deps: PullDeps,
  signal: FetchSignal,
  reader?: RepositoryReader,
): Promise<FetchResult> {
  const route = request.route;
  const registry = deps.group.registry;
  if (route.kind === 'manifest') {
    if (!route.reference.includes(':')) return manifestByTag(caches, request, sink, deps, signal);
    const digest = route.reference;
    const readable = copyReadable(caches, digest, reader);
    const serve = (fromCache: boolean): Promise<FetchResult> =>
      manifestByDigest(caches.manifests, digest, request, sink, deps, signal, fromCache).then((result) => {
        if (result.kind === 'relayed' && result.upstream !== FROM_CACHE && result.status === 200) caches.sources?.record(digest, registry, route.name);
        return result;
      });
    return typeof readable === 'boolean' ? serve(readable) : readable.then(serve);
  }
  if (route.kind !== 'blob') return pull(request, sink, deps, signal);
  const readable = copyReadable(caches, route.digest, reader);
  return typeof readable === 'boolean'
    ? blob(caches, request, route, sink, deps, signal, reader, readable)
    : readable.then((r) => blob(caches, request, route, sink, deps, signal, reader, r));
}

/** A blob request; `readable`: a stored copy may go to this client. */
function blob(
  caches: Caches,
  request: PullRequest,
  route: Extract<PullRequest['route'], { kind: 'blob' }>,
  sink: Sink,
  deps: PullDeps,
  signal: FetchSignal,
  reader: RepositoryReader | undefined,
  readable: boolean,
): Promise<FetchResult> {
  const registry = deps.group.registry;
  // An upstream's 200 under this repository proves the digest is there.
  const relay = (): Promise<FetchResult> =>
    pull(request, sink, deps, signal).then((result) => {
      if (result.kind === 'relayed' && result.status === 200) caches.sources?.record(route.digest, registry, route.name);
      return result;
    });
  const cache = caches.blobs;
  // Not readable and not stored: the fill below is this repository's own (a MISS proves it).
  if (!readable && cache.store.has(route.digest)) return relay();
  // With access rules, fills are per repository: joining one started for another repository
  // would hand this client bytes no upstream has shown it may read.
  const scope = reader === undefined ? registry : `${registry} ${route.name}`;
  if (request.method === 'HEAD') return headFromStore(cache, route.digest, sink) ?? headFromFill(cache, route.digest, scope, sink) ?? relay();
  const range = request.headers['range'];
  if (range !== undefined) {
    return rangeFromStore(cache, route.digest, range, sink, signal, relay) ?? rangeFromFill(cache, route.digest, scope, range, sink, signal, relay) ?? relay();
  }
  // The fill is the whole blob for every reader: always resumable, and never with a Range (a
  // request with one was answered above, so these headers have none).
  const fill = blobFillFetch(caches, route, request.headers, deps, scope);
  // The cache rejects only before it started the client's response (files are opened first), so
  // relaying on a rejection never answers twice: unwritable dir, disk full, a file gone.
  return cache.get(route.digest, sink, signal, fill, scope).then((result) => {
    // A fill for this repository committed: MISS always, JOINED when fills are per repository.
    if (result.kind === 'relayed' && (result.cache === 'MISS' || (result.cache === 'JOINED' && reader !== undefined))) {
      caches.sources?.record(route.digest, registry, route.name);
    }
    return asFetchResult(result) ?? relay();
  }, relay);
}

/** A manifest by digest from memory or disk, or pulled and kept (once its bytes proved to be that digest). */
async function manifestByDigest(
  memory: ManifestMemory,
  digest: string,
  request: PullRequest,
  sink: Sink,
  deps: PullDeps,
  signal: FetchSignal,
  fromCache: boolean,
): Promise<FetchResult> {
  const kept = fromCache ? (memory.get(digest) ?? (await memory.lookup(digest))) : undefined;
  if (kept !== undefined) return sendManifest(kept, digest, 'HIT', request.method, sink);
  if (request.method !== 'GET') return pull(request, sink, deps, signal);
  const capture = new CapturingSink(sink);
  return pull(request, capture, deps, signal).then((result) => {
    if (result.kind === 'relayed' && result.status === 200 && capture.body !== undefined) memory.offer(digest, capture.contentType, capture.body);
    return result;
  });
}

function headFromStore(cache: BlobCache, digest: string, sink: Sink): Promise<FetchResult> | undefined {
  const stored = cache.store.acquire(digest);
  if (stored === undefined) return undefined;
  stored.release();
  sink.start(200, { ...headersFor(digest, stored.size), 'x-cache': 'HIT' });
  sink.end();
  return Promise.resolve({ kind: 'relayed', upstream: FROM_CACHE, status: 200, bytes: 0, attempts: 0, failovers: [] });
}

/** The headers of a blob being filled, once its size is known. */
function headFromFill(cache: BlobCache, digest: string, scope: string, sink: Sink): Promise<FetchResult> | undefined {
  const fill = cache.streaming(digest, scope);
  if (fill === undefined) return undefined;
  sink.start(200, { ...headersFor(digest, fill.size), 'x-cache': 'JOINED' });
  sink.end();
  return Promise.resolve({ kind: 'relayed', upstream: FROM_CACHE, status: 200, bytes: 0, attempts: 0, failovers: [] });
}

/** A range of a blob being filled, from its spool as it grows; undefined when no fill streams it or the range is not one answered here. */
function rangeFromFill(
  cache: BlobCache,
  digest: string,
  scope: string,
  header: string,
  sink: Sink,
  signal: FetchSignal,
  relay: () => Promise<FetchResult>,
): Promise<FetchResult> | undefined {
  const fill = cache.streaming(digest, scope);
  const range = fill === undefined ? undefined : parseByteRange(header, fill.size);
  if (fill === undefined || range === undefined) return undefined;
  // The spool could not be opened (nothing was sent): the fill just ended one way or the other; relay.
  return followRange(fill, range, sink, signal).then((result) => streamed(result, 206), relay);
}

/** A range of a stored blob, as a 206 from disk; undefined when not stored or not a range answered here. */
function rangeFromStore(
  cache: BlobCache,
  digest: string,
  header: string,
  sink: Sink,
  signal: FetchSignal,
  relay: () => Promise<FetchResult>,
): Promise<FetchResult> | undefined {
  const stored = cache.store.acquire(digest);
  if (stored === undefined) return undefined;
  const range = parseByteRange(header, stored.size);
  if (range === undefined) {
    stored.release();
    return undefined;
  }
  return sendStoredRange(stored.path, digest, stored.size, range, sink, signal)
    .then(
      (result) => streamed(result, 206),
      (err: unknown) => {
        // The file could not be opened (nothing was sent): forget a blob that is gone, and relay.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') cache.store.forget(digest);
        return relay();
      },
    )
    .finally(() => stored.release());
}

/** The cache's result as the server answers it; undefined when nothing was sent and a relay should try. */
function asFetchResult(result: CacheResult): FetchResult | undefined {
  if (result.kind !== 'unavailable') return streamed(result, 200);
  // The fill's fetch found nothing to store (every mirror said 404, or none could answer): that
  // is the answer; without one (the disk failed first), relay.
  return result.fetch?.kind === 'answer' || result.fetch?.kind === 'unavailable' ? result.fetch : undefined;
}

function streamed(result: StreamResult, status: number): FetchResult {
  const counts = { upstream: FROM_CACHE, bytes: result.bytes, attempts: 0, failovers: [] };
  switch (result.kind) {
    case 'relayed':
      return { kind: 'relayed', status, ...counts };
    case 'broken':
      return { kind: 'broken', error: result.error, ...counts };
    case 'aborted':
      return { kind: 'aborted', ...counts };
  }
}
