/**
 * The entry point for one registry pull, whoever asks (the server today; the cache next): the
 * per-route policy, then the fetch.
 *
 *   route                     verified while it streams    resumable at another mirror
 *   blob GET                  yes, against its digest      yes (same digest, same bytes)
 *   manifest GET by digest    yes                          no (small; a retry is cheaper)
 *   manifest GET by tag       no (tags are mutable)        no
 *   HEAD, tags/list           no                           no
 */
import type { FetchSignal } from '../stream/abort.js';
import type { Sink } from '../stream/sink.js';
import { fetchFromUpstreams, type FetchDeps, type FetchRequest } from './fetch-from-upstreams.js';
import type { FetchResult } from './fetch-result.js';
import { verifyingSink } from './verify.js';

export type PullRequest = Omit<FetchRequest, 'resumable'>;

export interface PullDeps extends FetchDeps {
  /** `verifyDigests` in the config. */
  readonly verifyDigests: boolean;
}

export function pull(request: PullRequest, sink: Sink, deps: PullDeps, signal: FetchSignal): Promise<FetchResult> {
  const digest = deps.verifyDigests ? digestToVerify(request) : undefined;
  const resumable = request.method === 'GET' && request.route.kind === 'blob';
  const fetchRequest: FetchRequest = { method: request.method, route: request.route, headers: request.headers, resumable };
  return fetchFromUpstreams(fetchRequest, digest === undefined ? sink : verifyingSink(sink, digest), deps, signal);
}

/** Content named by its digest (a blob, a manifest by digest) is verified as it streams. */
function digestToVerify({ method, route }: PullRequest): string | undefined {
  if (method !== 'GET') return undefined;
  if (route.kind === 'blob') return route.digest;
  if (route.kind === 'manifest' && route.reference.includes(':')) return route.reference;
  return undefined;
}
