/**
 * How a blob fill fetches: from one mirror, or in pieces from every eligible mirror when the
 * config asks for it (parallel-fetch.ts). A parallel fill that fails its digest implicates the
 * mirrors that served it (parallel-mismatches.ts) and starts a refetch of the blob from one
 * mirror, the top one first, at once: the readers of the failed fill were cut, and their
 * clients' retries join that refetch instead of asking the same mirrors for pieces again.
 */
import { fetchFromUpstreams, type AttemptableUpstream, type UpstreamChoice } from '../proxy/fetch-from-upstreams.js';
import { blobAnswerSink } from '../proxy/blob-answer.js';
import type { PullDeps } from '../proxy/pull.js';
import type { ProxiedRoute } from '../registry/route.js';
import type { BlobCache, FillFetch } from './blob-cache.js';
import type { BlobSources } from './blob-sources.js';
import { parallelFetch, type MirrorSet, type ParallelSettings, type PieceStats } from './parallel-fetch.js';
import type { ParallelMismatches } from './parallel-mismatches.js';

/** What a fill needs of the caches (cached-pull.ts's Caches). */
export interface FillCaches {
  readonly blobs: BlobCache;
  /** Big blobs fetched in pieces from every eligible mirror at once; undefined: one mirror per fill. */
  readonly parallel?: ParallelSettings | undefined;
  /** What parallel fills that failed their digest taught; present whenever `parallel` is. */
  readonly mismatches?: ParallelMismatches | undefined;
  /** Told what a fill in pieces did (its log line and metrics), and which mirrors a mismatch took out. */
  readonly onPieces?: (digest: string, stats: PieceStats, quarantined: readonly string[]) => void;
  /** Where a refetch that no client waits for records the repository it fetched under (blob-sources.ts). */
  readonly sources?: Pick<BlobSources, 'record'> | undefined;
}

type BlobRoute = Extract<ProxiedRoute, { kind: 'blob' }>;

/** Fetches the whole blob from the upstreams `choice` offers (fetchFromUpstreams), bound to a route. */
type FromOne = (choice: UpstreamChoice) => FillFetch;

/**
 * The fill of `route`'s blob; `headers` are the client's (without a Range: a fill is the whole
 * blob); `scope` is whom the fill is shared with (blob-cache.ts), which a refetch keeps.
 */
export function blobFillFetch(caches: FillCaches, route: BlobRoute, headers: Record<string, string>, deps: PullDeps, scope: string): FillFetch {
  // A web page is refused before the fill starts streaming it to its readers (blob-answer.ts); parallel-fetch.ts checks its own.
  const fromOne: FromOne = (choice) => (sink, signal) =>
    fetchFromUpstreams({ method: 'GET', route, headers, resumable: true }, blobAnswerSink(sink), { ...deps, group: choice }, signal);
  return (sink, signal) => {
    const mirrors = caches.parallel === undefined ? undefined : asMirrorSet(deps.group);
    if (mirrors === undefined || mirrors.eligible().length < 2 || caches.mismatches?.singleSource(route.digest) === true)
      return fromOne(deps.group)(sink, signal);
    const onDone = (stats: PieceStats): void => {
      const quarantined = stats.mismatched ? (caches.mismatches?.mismatched(mirrors.registry, route.digest, contributors(stats)) ?? []) : [];
      for (const name of quarantined) mirrors.quarantine(name);
      caches.onPieces?.(route.digest, stats, quarantined);
      if (stats.mismatched) refetchFromTop(caches, route, scope, mirrors, fromOne);
    };
    return parallelFetch(route, headers, sink, { ...deps, group: mirrors }, caches.parallel!, signal, onDone);
  };
}

/**
 * After a parallel fill's mismatch: the blob again, from one mirror, the top one first. Called
 * while that fill's fetch returns: by the time the refill starts, the failed fill is failed, so
 * the refill is a new one. A mirror whose whole blob matched is cleared of the mismatch.
 */
function refetchFromTop(caches: FillCaches, route: BlobRoute, scope: string, mirrors: MirrorSet, fromOne: FromOne): void {
  const refill: FillFetch = (sink, signal) =>
    fromOne(topFirst(mirrors))(sink, signal).then((result) => {
      // Relayed means the whole blob matched its digest (the fill checks before its fetch ends).
      if (result.kind === 'relayed') {
        caches.mismatches?.cleared(mirrors.registry, result.upstream);
        // No client's MISS records it (cached-pull.ts does that for the fills clients wait on): with access rules the next pull of this repository would relay.
        if (result.status === 200) caches.sources?.record(route.digest, mirrors.registry, route.name);
      }
      return result;
    });
  setImmediate(() => caches.blobs.refill(route.digest, refill, scope));
}

function contributors(stats: PieceStats): string[] {
  return Object.entries(stats.bytesByMirror)
    .filter(([, bytes]) => bytes > 0)
    .map(([name]) => name);
}

/** The eligible mirrors by configured weight, highest first, then whatever the balancer offers. */
function topFirst(mirrors: MirrorSet): UpstreamChoice {
  return {
    registry: mirrors.registry,
    authority: mirrors.authority,
    pick(tried): AttemptableUpstream | undefined {
      const ranked = [...mirrors.eligible()].sort((a, b) => b.weight - a.weight);
      return ranked.find(({ upstream }) => !tried.has(upstream.name))?.upstream ?? mirrors.pick(tried);
    },
  };
}

/** The registry's upstreams, when they can tell which of them are eligible (proxy/upstream-group.ts can). */
function asMirrorSet(group: PullDeps['group']): MirrorSet | undefined {
  return 'eligible' in group && typeof group.eligible === 'function' ? (group as MirrorSet) : undefined;
}
