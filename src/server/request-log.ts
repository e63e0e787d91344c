/**
 * The request log line and the request metrics, written once a registry request's answer is
 * complete (or cut). /healthz, /readyz and /metrics are logged at debug and not counted.
 */
import type { IncomingMessage } from 'node:http';
import type { FetchResult } from '../proxy/fetch-result.js';
import type { RouteKind } from '../registry/route.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** What is known of a request before it is answered. */
export interface RequestEntry {
  readonly method: string;
  readonly path: string;
  readonly started: number;
  /** The peer's address (the node that pulled, or the proxy in front); undefined once the socket is gone. */
  readonly client: string | undefined;
  readonly userAgent: string | undefined;
}

/** A User-Agent is the client's to choose: a log line keeps this much of it. */
const MAX_USER_AGENT = 256;

/** What a request log line says of its client. */
export function clientOf(req: IncomingMessage): Pick<RequestEntry, 'client' | 'userAgent'> {
  return { client: req.socket.remoteAddress, userAgent: req.headers['user-agent']?.slice(0, MAX_USER_AGENT) };
}

/** "none" is the registry or upstream of a request the gateway answered itself. */
const NONE = 'none';

export class RequestLog {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** A registry API request the gateway answered itself (a bad request, the `/v2/` ping, an unknown registry). */
  answered(entry: RequestEntry, status: number, kind: RouteKind | 'other' = 'other'): void {
    const ms = performance.now() - entry.started;
    this.metrics.requestCompleted(NONE, NONE, entry.method, kind, status);
    this.metrics.requestDuration(NONE, kind, ms / 1000);
    // Checked first so that a quieter level does not pay for building the line.
    if (this.logger.isLevelEnabled('info')) this.#line(entry, ms, { registry: NONE, upstream: NONE, attempts: 0, status, bytes: 0 });
  }

  /** A request that went to the upstreams of `registry`, answered with `status`. */
  fetched(entry: RequestEntry, registry: string, kind: RouteKind, result: FetchResult, status: number): void {
    const ms = performance.now() - entry.started;
    const upstream = result.kind === 'unavailable' ? NONE : result.upstream;
    const bytes = bodyBytes(result);
    if (result.kind !== 'unavailable') this.metrics.responseBytes(registry, upstream, bytes);
    this.metrics.requestCompleted(registry, upstream, entry.method, kind, status);
    this.metrics.requestDuration(registry, kind, ms / 1000);
    if (!this.logger.isLevelEnabled('info')) return;
    const fields: Record<string, unknown> = { registry, upstream, attempts: result.attempts, status, bytes };
    if (result.kind === 'broken') fields['error'] = result.error.message;
    if (result.failovers.length > 0) fields['failovers'] = result.failovers;
    this.#line(entry, ms, fields);
  }

  #line(entry: RequestEntry, ms: number, fields: Record<string, unknown>): void {
    const { method, path, client, userAgent } = entry;
    this.logger.info({ method, path, client, userAgent, ...fields, ms: Math.round(ms) }, 'request');
  }
}

/** Body bytes the client got from an upstream's answer: streamed, or captured whole (the last 404, a redirect passed through). */
function bodyBytes(result: FetchResult): number {
  switch (result.kind) {
    case 'answer':
      return result.response.body.length;
    case 'unavailable':
      return 0;
    default:
      return result.bytes;
  }
}
