/**
 * Runs one registry pull for a client: the client's response is the sink, the connection's
 * close is the abort, and the result is answered and logged once the pull settles.
 */
import type { ServerResponse } from 'node:http';
import type { RepositoryReader } from '../cache/blob-sources.js';
import { cachedPull, type Caches } from '../cache/cached-pull.js';
import { readConfigAhead } from '../cache/config-read-ahead.js';
import { CapturingSink } from '../cache/manifest-answer.js';
import type { Metrics } from '../observability/metrics.js';
import { pull, type PullDeps, type PullRequest } from '../proxy/pull.js';
import { StartersAbort } from '../stream/abort.js';
import type { RequestEntry, RequestLog } from './request-log.js';
import { answerFetch } from './respond.js';
import { ResponseSink } from './response-sink.js';

export interface ServeContext {
  readonly log: RequestLog;
  readonly metrics: Metrics;
  /** A bug inside mirrorgate: logs it and answers 500 or cuts the connection. */
  readonly fail: (res: ServerResponse, err: unknown, entry: RequestEntry) => void;
  /** `timeouts.clientIdle` of the config in effect. */
  readonly clientIdleMs: () => number;
}

/** `cache`: the caches in front of the upstreams, if the config has one; `reader`: what the client may read, with `access:` on. */
export function servePull(
  res: ServerResponse,
  entry: RequestEntry,
  request: PullRequest,
  deps: PullDeps,
  context: ServeContext,
  cache: Caches | undefined,
  reader?: RepositoryReader,
): void {
  const { log, metrics, fail } = context;
  const abort = new StartersAbort();
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  // From here on, the settling below undoes these two.
  res.once('close', onClose);
  metrics.inflight(1);
  const response = new ResponseSink(res, context.clientIdleMs());
  // A manifest a client gets through the cache is looked at: its config blob is read ahead.
  const manifest = cache !== undefined && request.method === 'GET' && request.route.kind === 'manifest' ? new CapturingSink(response) : undefined;
  const sink = manifest ?? response;
  (cache === undefined ? pull(request, sink, deps, abort) : cachedPull(cache, request, sink, deps, abort, reader))
    .then(
      (result) => {
        metrics.inflight(-1);
        res.off('close', onClose);
        const body = manifest?.body;
        if (cache !== undefined && manifest !== undefined && body !== undefined && result.kind === 'relayed' && result.status === 200)
          readConfigAhead(cache, deps, request.route.name, body, manifest.contentType);
        log.fetched(entry, deps.group.registry, request.route.kind, result, answerFetch(res, result));
      },
      (err: unknown) => {
        metrics.inflight(-1);
        res.off('close', onClose);
        throw err;
      },
    )
    .catch((err: unknown) => fail(res, err, entry));
}
