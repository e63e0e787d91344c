/**
 * Routes one client request: health and metrics endpoints, the local `/v2/` answer, and the
 * registry API routes that go to the proxy pipeline. Writes the request log line and metrics.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { clientTarget, type ClientTarget } from '../proxy/client-target.js';
import { verifyingTarget } from '../proxy/verify.js';
import { proxyRequest, type FailoverRecord, type ProxyDeps, type ProxyResult } from '../proxy/proxy.js';
import { upstreamRequestHeaders } from '../registry/headers.js';
import { parseRoute, type RouteKind } from '../registry/route.js';
import { ClientLink } from '../upstream/client-link.js';
import type { ProxiedRoute } from '../upstream/upstream.js';
import type { Gateway } from './gateway.js';
import { sendCaptured, sendJson, sendRegistryError, sendText } from './respond.js';

/** Seconds a client is told to wait when no upstream could answer. */
const UNAVAILABLE_RETRY_AFTER = '5';

export interface HandlerDeps {
  readonly gateway: Gateway;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

interface Answer {
  readonly status: number;
  readonly failovers?: readonly FailoverRecord[];
  readonly upstream?: string;
  readonly attempts?: number;
  readonly bytes?: number;
  readonly error?: string;
}

/** Content named by its digest (a blob, a manifest by digest) is verified as it streams. */
function verified(client: ClientTarget, method: 'GET' | 'HEAD', route: ProxiedRoute): ClientTarget {
  if (method !== 'GET') return client;
  if (route.kind === 'blob') return verifyingTarget(client, route.digest);
  if (route.kind === 'manifest' && route.reference.includes(':')) return verifyingTarget(client, route.reference);
  return client;
}

/**
 * The request path is written with plain callbacks and one promise (the proxy pipeline's):
 * every async layer here costs a promise, a closure and a microtask per request, and this is
 * the code every pull goes through.
 */
export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { gateway, logger, metrics } = deps;

  /** Counts and logs a registry request once its answer is complete (or cut). */
  function completed(method: string, path: string, started: number, registry: string, kind: RouteKind | 'other', done: Answer): void {
    const upstream = done.upstream ?? 'none';
    metrics.requestCompleted(registry, upstream, method, kind, done.status);
    // Checked first so that a quieter level does not pay for building the line.
    if (!logger.isLevelEnabled('info')) return;
    logger.info(
      {
        method,
        registry,
        path,
        upstream,
        attempts: done.attempts ?? 0,
        status: done.status,
        bytes: done.bytes ?? 0,
        ms: Math.round(performance.now() - started),
        ...(done.error === undefined ? {} : { error: done.error }),
        ...(done.failovers === undefined || done.failovers.length === 0 ? {} : { failovers: done.failovers }),
      },
      'request',
    );
  }

  function handleRegistry(req: IncomingMessage, res: ServerResponse, method: string, pathname: string, query: string, started: number): void {
    if (method !== 'GET' && method !== 'HEAD') {
      const status = sendRegistryError(res, 'UNSUPPORTED', `method ${method} is not supported: mirrorgate is a pull-only mirror`, { allow: 'GET, HEAD' });
      completed(method, pathname, started, 'none', 'other', { status });
      return;
    }
    const search = query === '' ? undefined : new URLSearchParams(query);
    const parsed = parseRoute(pathname, search);
    if (!parsed.ok) {
      completed(method, pathname, started, 'none', 'other', { status: sendRegistryError(res, parsed.code, parsed.message) });
      return;
    }
    const route = parsed.route;
    if (route.kind === 'ping') {
      sendJson(res, 200, {});
      completed(method, pathname, started, 'none', 'ping', { status: 200 });
      return;
    }
    const { config, registries } = gateway.current;
    const selection = registries.select(search?.get('ns') ?? null, req.headers.host);
    if (!selection.ok) {
      const message = `registry ${selection.unknown} is not served here; served: ${selection.served.join(', ')}`;
      completed(method, pathname, started, 'none', route.kind, { status: sendRegistryError(res, 'NAME_UNKNOWN', message) });
      return;
    }
    const group = selection.group;
    const registry = group.registry;
    const target = config.verifyDigests ? verified(clientTarget(res), method, route) : clientTarget(res);
    const headers = upstreamRequestHeaders(req.headers);
    const client = new ClientLink();
    const onClose = (): void => {
      if (!res.writableFinished) client.markGone();
    };
    // From here on, both outcomes below undo these two.
    res.once('close', onClose);
    metrics.inflight(1);
    proxyRequest({ method, route, headers, client }, target, { group, failover: config.failover, metrics }).then(
      (result) => {
        metrics.inflight(-1);
        res.off('close', onClose);
        try {
          completed(method, pathname, started, registry, route.kind, respond(res, registry, result));
        } catch (err) {
          fail(res, err, method, pathname);
        }
      },
      (err: unknown) => {
        metrics.inflight(-1);
        res.off('close', onClose);
        fail(res, err, method, pathname);
      },
    );
  }

  function respond(res: ServerResponse, registry: string, result: ProxyResult): Answer {
    const failovers = result.failovers;
    switch (result.kind) {
      case 'relayed':
        metrics.responseBytes(registry, result.upstream, result.bytes);
        return { upstream: result.upstream, attempts: result.attempts, bytes: result.bytes, status: result.status, failovers };
      case 'answer':
        return { upstream: result.upstream, attempts: result.attempts, status: sendCaptured(res, result.response), failovers };
      case 'unavailable':
        return {
          attempts: result.attempts,
          status: sendRegistryError(res, 'UNAVAILABLE', undefined, { 'retry-after': UNAVAILABLE_RETRY_AFTER }),
          failovers,
        };
      case 'broken':
        // Headers are out: the only honest signal left is a cut connection (the client sees a
        // short body and retries).
        res.destroy(result.error);
        metrics.responseBytes(registry, result.upstream, result.bytes);
        return { upstream: result.upstream, attempts: result.attempts, bytes: result.bytes, status: res.statusCode, error: result.error.message, failovers };
      case 'client-gone':
        metrics.responseBytes(registry, result.upstream, result.bytes);
        // 499 as nginx logs it: the client closed the connection before the answer was complete.
        return { upstream: result.upstream, attempts: result.attempts, bytes: result.bytes, status: 499, failovers };
    }
  }

  async function handleLocal(res: ServerResponse, pathname: string): Promise<number> {
    if (pathname === '/healthz') {
      sendText(res, 200, 'text/plain', 'ok\n');
      return 200;
    }
    if (pathname === '/readyz') {
      const ready = gateway.current.registries.ready;
      sendText(res, ready ? 200 : 503, 'text/plain', ready ? 'ready\n' : 'no upstream is eligible\n');
      return ready ? 200 : 503;
    }
    if (pathname === '/metrics') {
      sendText(res, 200, metrics.contentType, await metrics.render());
      return 200;
    }
    return sendRegistryError(res, 'NOT_FOUND', `no such endpoint: ${pathname}`);
  }

  return (req, res) => {
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';

    if (!pathname.startsWith('/v2')) {
      handleLocal(res, pathname).then(
        (status) => logger.debug({ method, path: pathname, status }, 'local request'),
        (err: unknown) => fail(res, err, method, pathname),
      );
      return;
    }
    try {
      handleRegistry(req, res, method, pathname, q === -1 ? '' : url.slice(q + 1), started);
    } catch (err) {
      fail(res, err, method, pathname);
    }
  };

  /** A bug, not an upstream failure: answer 500 if we still can, and log it. */
  function fail(res: ServerResponse, err: unknown, method: string, path: string): void {
    logger.error({ err, method, path }, 'request failed inside mirrorgate');
    if (!res.headersSent) {
      sendRegistryError(res, 'UNKNOWN', 'internal error');
    } else {
      res.destroy();
    }
  }
}
