/**
 * The request log line and the request metrics, written once a registry request's answer is
 * complete (or cut). /healthz, /readyz and /metrics are logged at debug and not counted.
 */
import type { FetchResult } from '../proxy/fetch-result.js';
import type { RouteKind } from '../registry/route.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** What is known of a request before it is answered. */
export interface RequestEntry {
  readonly method: string;
  readonly path: string;
  readonly started: number;
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
    this.metrics.requestCompleted(NONE, NONE, entry.method, kind, status);
    // Checked first so that a quieter level does not pay for building the line.
    if (this.logger.isLevelEnabled('info')) this.#line(entry, { registry: NONE, upstream: NONE, attempts: 0, status, bytes: 0 });
  }

  /** A request that went to the upstreams of `registry`, answered with `status`. */
  fetched(entry: RequestEntry, registry: string, kind: RouteKind, result: FetchResult, status: number): void {
    const upstream = result.kind === 'unavailable' ? NONE : result.upstream;
    const streamed = result.kind === 'relayed' || result.kind === 'broken' || result.kind === 'aborted';
    const bytes = streamed ? result.bytes : 0;
    if (streamed) this.metrics.responseBytes(registry, upstream, bytes);
    this.metrics.requestCompleted(registry, upstream, entry.method, kind, status);
    if (!this.logger.isLevelEnabled('info')) return;
    const fields: Record<string, unknown> = { registry, upstream, attempts: result.attempts, status, bytes };
    if (result.kind === 'broken') fields['error'] = result.error.message;
    if (result.failovers.length > 0) fields['failovers'] = result.failovers;
    this.#line(entry, fields);
  }

  #line(entry: RequestEntry, fields: Record<string, unknown>): void {
    this.logger.info({ method: entry.method, path: entry.path, ...fields, ms: Math.round(performance.now() - entry.started) }, 'request');
  }
}
