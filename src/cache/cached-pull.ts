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
 */
import type { FetchResult } from '../proxy/fetch-result.js';
import { fetchFromUpstreams } from '../proxy/fetch-from-upstreams.js';
import { pull, type PullDeps, type PullRequest } from '../proxy/pull.js';
import { parseByteRange } from '../registry/range.js';
import type { FetchSignal } from '../stream/abort.js';
import type { Sink } from '../stream/sink.js';
import type { BlobCache, CacheResult, FillFetch } from './blob-cache.js';
import type { ManifestMemory } from './manifest-memory.js';
import { parallelFetch, type MirrorSet, type ParallelSettings, type PieceStats } from './parallel-fetch.js';
import { followRange, headersFor, sendStoredRange, type StreamResult } from './follow.js';
import { CapturingSink, FROM_CACHE, sendManifest } from './manifest-answer.js';
import { manifestByTag, type TagCaches } from './tag-pull.js';

/** What the cache holds: blobs on disk; manifests by digest, tags and 404s for tags in memory. */
export interface Caches extends TagCaches {
  readonly blobs: BlobCache;
  /** Big blobs fetched in pieces from every eligible mirror at once; undefined: one mirror per fill. */
  readonly parallel?: ParallelSettings | undefined;
  /** Told what a fill in pieces did (its log line and metrics). */
  readonly onPieces?: (digest: string, stats: PieceStats) => void;
  /** Writes the tags to disk and stops writing them (shutdown); see tag-file.ts. */
  readonly saveTags?: () => Promise<void>;
}

export function cachedPull(caches: Caches, request: PullRequest, sink: Sink, deps: PullDeps, signal: FetchSignal): Promise<FetchResult> {
  const route = request.route;
  if (route.kind === 'manifest') {
    if (route.reference.includes(':')) return manifestByDigest(caches.manifests, route.reference, request, sink, deps, signal);
    return manifestByTag(caches, request, sink, deps, signal);
  }
  const relay = (): Promise<FetchResult> => pull(request, sink, deps, signal);
  if (route.kind !== 'blob') return relay();
  const cache = caches.blobs;
  const scope = deps.group.registry;
  if (request.method === 'HEAD') return headFromStore(cache, route.digest, sink) ?? headFromFill(cache, route.digest, scope, sink) ?? relay();
  const range = request.headers['range'];
  if (range !== undefined) {
    return rangeFromStore(cache, route.digest, range, sink, signal, relay) ?? rangeFromFill(cache, route.digest, scope, range, sink, signal, relay) ?? relay();
  }
  // The fill is the whole blob for every reader: always resumable, and never with a Range (a
  // request with one was answered above, so these headers have none).
  const fill: FillFetch = (fillSink, fillSignal) => {
    const mirrors = caches.parallel === undefined ? undefined : asMirrorSet(deps.group);
    const mismatched = mismatchedInPieces(caches);
    if (mirrors === undefined || mirrors.eligible().length < 2 || mismatched.delete(route.digest)) {
      return fetchFromUpstreams({ method: 'GET', route, headers: request.headers, resumable: true }, fillSink, deps, fillSignal);
    }
    const onDone = (stats: PieceStats): void => caches.onPieces?.(route.digest, stats);
    const onMixedMismatch = (): void => void mismatched.add(route.digest);
    return parallelFetch(route, request.headers, fillSink, { ...deps, group: mirrors }, caches.parallel!, fillSignal, onDone, onMixedMismatch);
  };
  // The cache rejects only before it started the client's response (files are opened first), so
  // relaying on a rejection never answers twice: unwritable dir, disk full, a file gone.
  return cache.get(route.digest, sink, signal, fill, deps.group.registry).then((result) => asFetchResult(result) ?? relay(), relay);
}

/**
 * Per cache: digests whose last fill in pieces from several mirrors did not match. The next fill
 * of each is one stream from one mirror, where a liar shows (and is quarantined). Bounded: a
 * digest is dropped when filled again, and the oldest goes first past 1024.
 */
const MISMATCHED = new WeakMap<Caches, Set<string>>();
function mismatchedInPieces(caches: Caches): Set<string> {
  let set = MISMATCHED.get(caches);
  if (set === undefined) MISMATCHED.set(caches, (set = new Set()));
  if (set.size > 1024) set.delete(set.values().next().value!);
  return set;
}

/** A manifest by digest from memory or disk, or pulled and kept (once its bytes proved to be that digest). */
async function manifestByDigest(
  memory: ManifestMemory,
  digest: string,
  request: PullRequest,
  sink: Sink,
  deps: PullDeps,
  signal: FetchSignal,
): Promise<FetchResult> {
  const kept = memory.get(digest) ?? (await memory.lookup(digest));
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

/** The registry's upstreams, when they can tell which of them are eligible (proxy/upstream-group.ts can). */
function asMirrorSet(group: PullDeps['group']): MirrorSet | undefined {
  return 'eligible' in group && typeof group.eligible === 'function' ? (group as MirrorSet) : undefined;
}
