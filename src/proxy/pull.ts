/**
 * The entry point for one registry pull, whoever asks (the server, or the cache in front of
 * it): the per-route policy, then the fetch.
 *
 *   route                     checked before it is passed on               verified while it streams   resumable elsewhere
 *   blob GET                  not a web page (text/html); a 206's           yes, against its digest     yes (same digest, same bytes)
 *                             Content-Length is its Content-Range's
 *   manifest GET              held whole: a manifest type, JSON, bounded;   —                           no (small; a retry is cheaper)
 *                             by digest, the bytes hash to it; by tag, to
 *                             the Docker-Content-Digest sent with them
 *   manifest HEAD             its Content-Type                             —                           no
 *   blob HEAD                 not a web page (text/html)                   no                          no
 *   tags/list                 —                                            no                          no
 */
import type { FetchSignal } from '../stream/abort.js';
import type { Sink } from '../stream/sink.js';
import { fetchFromUpstreams, type FetchDeps, type FetchRequest } from './fetch-from-upstreams.js';
import type { FetchResult } from './fetch-result.js';
import { blobAnswerSink } from './blob-answer.js';
import { hedgedFetch } from './hedge.js';
import { manifestCheckingSink } from './manifest-check.js';
import { verifyingSink } from './verify.js';

export type PullRequest = Omit<FetchRequest, 'resumable'>;

export interface PullDeps extends FetchDeps {
  /** `verifyDigests` in the config. */
  readonly verifyDigests: boolean;
}

export function pull(request: PullRequest, sink: Sink, deps: PullDeps, signal: FetchSignal): Promise<FetchResult> {
  const { method, route } = request;
  const resumable = method === 'GET' && route.kind === 'blob';
  const fetchRequest: FetchRequest = { method, route, headers: request.headers, resumable };
  // Manifests and HEADs are small and latency-bound: a second mirror is asked when the first is slow.
  if (deps.failover.hedgeAfterMs !== undefined && (route.kind === 'manifest' || method === 'HEAD')) {
    return hedgedFetch(fetchRequest, (inner) => policySink(request, inner, deps.verifyDigests), sink, deps, signal);
  }
  return fetchFromUpstreams(fetchRequest, policySink(request, sink, deps.verifyDigests), deps, signal);
}

function policySink({ method, route }: PullRequest, sink: Sink, verifyDigests: boolean): Sink {
  if (route.kind === 'manifest') {
    const byDigest = verifyDigests && route.reference.includes(':');
    return manifestCheckingSink(sink, { method, digest: byDigest ? route.reference : undefined, checkAnnounced: verifyDigests && !byDigest });
  }
  if (route.kind !== 'blob') return sink;
  // A blob is named by its digest: it is verified as it streams. A web page, or a 206 that is
  // not what its headers say, is refused before that (blob-answer.ts).
  return blobAnswerSink(method === 'GET' && verifyDigests ? verifyingSink(sink, route.digest) : sink);
}
