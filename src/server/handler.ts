/**
 * The HTTP adapter: parses a client request, answers what needs no upstream (local endpoints,
 * bad requests, the `/v2/` ping) through respond.ts, and hands a registry pull to
 * serve-pull.ts. Plain callbacks: every async layer here would cost a promise, a closure and a
 * microtask on the path every pull takes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BASIC_CHALLENGE, type AccessControl, type AccessDecision, type AccessRequest } from '../access/access-control.js';
import type { RepositoryReader } from '../cache/blob-sources.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { PullRequest } from '../proxy/pull.js';
import { hasUnknownTransferCoding, upstreamRequestHeaders } from '../registry/headers.js';
import { parseRoute, type RouteKind } from '../registry/route.js';
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
  const refusal = { log, logger, metrics };

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
    const { access, registries } = gateway.current;
    if (route.kind === 'ping') return admit(access, req, res, entry, 'ping', undefined, refusal, () => log.answered(entry, sendJson(res, 200, {}), 'ping'));
    // HTTP/2 names the host in `:authority`; a client may still send Host.
    const selection = registries.select(search?.get('ns') ?? null, req.headers.host ?? (req.headers[':authority'] as string | undefined));
    if (!selection.ok) {
      const message = `registry ${selection.unknown} is not served here; served: ${selection.served.join(', ')}`;
      return log.answered(entry, sendRegistryError(res, 'NAME_UNKNOWN', message), route.kind);
    }
    const pullRoute = (reader: RepositoryReader | undefined): void => {
      const { config } = gateway.current;
      const request: PullRequest = { method, route, headers: upstreamRequestHeaders(req.headers) };
      const deps = { group: selection.group, failover: config.failover, metrics, verifyDigests: config.verifyDigests };
      servePull(res, entry, request, deps, context, gateway.cache, reader);
    };
    // Before anything, cache or upstream, is asked: a refused client learns nothing of the repository.
    admit(access, req, res, entry, route.kind, { registry: selection.group.registry, name: route.name }, refusal, pullRoute);
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const entry: RequestEntry = { method: req.method ?? 'GET', path: q === -1 ? url : url.slice(0, q), started: performance.now(), ...clientOf(req) };
    if (hasUnknownTransferCoding(req.headers)) {
      const message = `transfer coding ${JSON.stringify(req.headers['transfer-encoding'])} is not supported`;
      // Only HTTP/1.1 can carry one (HTTP/2 refuses the header itself), and only there is the socket this request's alone.
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

/** What answering a refusal takes. */
interface Refusal {
  readonly log: RequestLog;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A refusal of `access:`: 401 with the Basic challenge (the client may log in) or 403; logged with the user name at most. */
function refuse(
  res: ServerResponse,
  entry: RequestEntry,
  decision: Extract<AccessDecision, { ok: false }>,
  kind: RouteKind | 'other',
  { log, logger, metrics }: Refusal,
): void {
  metrics.accessDenied(decision.reason);
  const challenge = decision.code === 'UNAUTHORIZED' ? { 'www-authenticate': BASIC_CHALLENGE } : undefined;
  const status = sendRegistryError(res, decision.code, decision.message, challenge);
  logger.info({ event: 'access', method: entry.method, path: entry.path, status, reason: decision.reason, user: decision.user }, 'request refused');
  log.answered(entry, status, kind);
}

/** Runs `then` with what the client may read when `access` lets it in (undefined: no access rules); else answers the refusal. */
function admit(
  access: AccessControl | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  entry: RequestEntry,
  kind: RouteKind,
  repository: AccessRequest['repository'],
  refusal: Refusal,
  then: (reader: RepositoryReader | undefined) => void,
): void {
  if (access === undefined) return then(undefined);
  const request = { address: req.socket.remoteAddress, authorization: req.headers.authorization, ...(repository !== undefined && { repository }) };
  decide(refusal.logger, access.check(request), (decision) => {
    if (!decision.ok) return refuse(res, entry, decision, kind, refusal);
    then(decision.reader);
  });
}

/** Runs `then` on the decision: at once when it is known (a remembered password), else once bcrypt is done. */
function decide(logger: Logger, decision: AccessDecision | Promise<AccessDecision>, then: (decision: AccessDecision) => void): void {
  if (!(decision instanceof Promise)) return then(decision);
  decision.then(then).catch((err: unknown) => logger.error({ err }, 'access check failed inside mirrorgate'));
}
