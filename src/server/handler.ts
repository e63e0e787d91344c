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
  readonly registry?: string;
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

export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { gateway, logger, metrics } = deps;

  async function handleRegistry(req: IncomingMessage, res: ServerResponse, pathname: string, query: string): Promise<Answer & { kind: RouteKind | 'other' }> {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return { kind: 'other', status: sendRegistryError(res, 'UNSUPPORTED', `method ${method} is not supported: mirrorgate is a pull-only mirror`, { allow: 'GET, HEAD' }) };
    }
    const search = query === '' ? undefined : new URLSearchParams(query);
    const parsed = parseRoute(pathname, search);
    if (!parsed.ok) return { kind: 'other', status: sendRegistryError(res, parsed.code, parsed.message) };
    const route = parsed.route;
    if (route.kind === 'ping') {
      sendJson(res, 200, {});
      return { kind: 'ping', status: 200 };
    }
    const { config, registries } = gateway.current;
    const selection = registries.select(search?.get('ns') ?? null, req.headers.host);
    if (!selection.ok) {
      const message = `registry ${selection.unknown} is not served here; served: ${selection.served.join(', ')}`;
      return { kind: route.kind, status: sendRegistryError(res, 'NAME_UNKNOWN', message) };
    }
    const deps = { group: selection.group, failover: config.failover, metrics };
    return { ...(await forward(req, res, method, route, deps, config.verifyDigests)), registry: selection.group.registry, kind: route.kind };
  }

  async function forward(req: IncomingMessage, res: ServerResponse, method: 'GET' | 'HEAD', route: ProxiedRoute, deps: ProxyDeps, verifyDigests: boolean): Promise<Answer> {
    const client = new ClientLink();
    const onClose = (): void => {
      if (!res.writableFinished) client.markGone();
    };
    res.once('close', onClose);
    metrics.inflight(1);
    try {
      const result = await proxyRequest(
        { method, route, headers: upstreamRequestHeaders(req.headers), client },
        verifyDigests ? verified(clientTarget(res), method, route) : clientTarget(res),
        deps,
      );
      return answer(res, deps.group.registry, result);
    } finally {
      metrics.inflight(-1);
      res.off('close', onClose);
    }
  }

  function answer(res: ServerResponse, registry: string, result: ProxyResult): Answer {
    return { ...respond(res, registry, result), failovers: result.failovers };
  }

  function respond(res: ServerResponse, registry: string, result: ProxyResult): Answer {
    switch (result.kind) {
      case 'relayed':
        metrics.responseBytes(registry, result.upstream, result.bytes);
        return { upstream: result.upstream, attempts: result.attempts, bytes: result.bytes, status: result.status };
      case 'answer':
        return { upstream: result.upstream, attempts: result.attempts, status: sendCaptured(res, result.response) };
      case 'unavailable':
        return {
          attempts: result.attempts,
          status: sendRegistryError(res, 'UNAVAILABLE', undefined, { 'retry-after': UNAVAILABLE_RETRY_AFTER }),
        };
      case 'broken':
        // Headers are out: the only honest signal left is a cut connection (the client sees a
        // short body and retries).
        res.destroy(result.error);
        metrics.responseBytes(registry, result.upstream, result.bytes);
        return { upstream: result.upstream, attempts: result.attempts, bytes: result.bytes, status: res.statusCode, error: result.error.message };
      case 'client-gone':
        metrics.responseBytes(registry, result.upstream, result.bytes);
        // 499 as nginx logs it: the client closed the connection before the answer was complete.
        return { upstream: result.upstream, attempts: result.attempts, bytes: result.bytes, status: 499 };
    }
  }

  async function handleLocal(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<number> {
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
    const query = q === -1 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';

    if (!pathname.startsWith('/v2')) {
      handleLocal(req, res, pathname).then(
        (status) => logger.debug({ method, path: pathname, status }, 'local request'),
        (err: unknown) => fail(res, err, method, pathname),
      );
      return;
    }
    handleRegistry(req, res, pathname, query).then(
      (done) => {
        const upstream = done.upstream ?? 'none';
        const registry = done.registry ?? 'none';
        metrics.requestCompleted(registry, upstream, method, done.kind, done.status);
        // Checked first so that a quieter level does not pay for building the line.
        if (!logger.isLevelEnabled('info')) return;
        logger.info(
          {
            method,
            registry,
            path: pathname,
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
      },
      (err: unknown) => fail(res, err, method, pathname),
    );
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
