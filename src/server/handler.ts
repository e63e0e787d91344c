/**
 * The HTTP adapter: parses a client request, answers what needs no upstream (local endpoints,
 * bad requests, the `/v2/` ping) through respond.ts, and hands a registry pull to
 * serve-pull.ts. Plain callbacks: every async layer here would cost a promise, a closure and a
 * microtask on the path every pull takes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { PullRequest } from '../proxy/pull.js';
import { hasUnknownTransferCoding, upstreamRequestHeaders } from '../registry/headers.js';
import { parseRoute } from '../registry/route.js';
import type { Gateway } from './gateway.js';
import { answerLocal } from './local-endpoints.js';
import { RequestLog, clientOf, type RequestEntry } from './request-log.js';
import { answerInternalError, sendJson, sendRegistryError } from './respond.js';
import { servePull } from './serve-pull.js';

export interface HandlerDeps {
  readonly gateway: Gateway;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function createHandler({ gateway, logger, metrics }: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const log = new RequestLog(logger, metrics);
  const fail = (res: ServerResponse, err: unknown, { method, path }: RequestEntry): void => {
    logger.error({ err, method, path }, 'request failed inside mirrorgate');
    answerInternalError(res);
  };
  const context = { log, metrics, fail, clientIdleMs: () => gateway.current.config.clientIdleMs };

  function handleRegistry(req: IncomingMessage, res: ServerResponse, entry: RequestEntry, query: string): void {
    const method = entry.method;
    if (method !== 'GET' && method !== 'HEAD') {
      const message = `method ${method} is not supported: mirrorgate is a pull-only mirror`;
      return log.answered(entry, sendRegistryError(res, 'UNSUPPORTED', message, { allow: 'GET, HEAD' }));
    }
    const search = query === '' ? undefined : new URLSearchParams(query);
    const parsed = parseRoute(entry.path, search);
    if (!parsed.ok) return log.answered(entry, sendRegistryError(res, parsed.code, parsed.message));
    const route = parsed.route;
    if (route.kind === 'ping') return log.answered(entry, sendJson(res, 200, {}), 'ping');
    const { config, registries } = gateway.current;
    const selection = registries.select(search?.get('ns') ?? null, req.headers.host);
    if (!selection.ok) {
      const message = `registry ${selection.unknown} is not served here; served: ${selection.served.join(', ')}`;
      return log.answered(entry, sendRegistryError(res, 'NAME_UNKNOWN', message), route.kind);
    }
    const request: PullRequest = { method, route, headers: upstreamRequestHeaders(req.headers) };
    servePull(res, entry, request, { group: selection.group, failover: config.failover, metrics, verifyDigests: config.verifyDigests }, context, gateway.cache);
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const entry: RequestEntry = { method: req.method ?? 'GET', path: q === -1 ? url : url.slice(0, q), started: performance.now(), ...clientOf(req) };
    if (hasUnknownTransferCoding(req.headers)) {
      const message = `transfer coding ${JSON.stringify(req.headers['transfer-encoding'])} is not supported`;
      log.answered(entry, sendRegistryError(res, 'BAD_REQUEST', message, { connection: 'close' }));
      // Ended now, not once the response finished: llhttp goes on to fail on the body, and the
      // clientError handler must find this socket closing with its answer (see app.ts).
      req.socket.end();
      return;
    }
    if (!entry.path.startsWith('/v2')) {
      answerLocal(res, entry.path, gateway, metrics).then(
        (status) => logger.debug({ method: entry.method, path: entry.path, status }, 'local request'),
        (err: unknown) => fail(res, err, entry),
      );
      return;
    }
    try {
      handleRegistry(req, res, entry, q === -1 ? '' : url.slice(q + 1));
    } catch (err) {
      fail(res, err, entry);
    }
  };
}
