/**
 * Every Prometheus metric mirrorgate exports, in one registry owned by the app (not prom-client's
 * global one, so tests can run several gateways in one process). No label ever holds a
 * repository, digest or client address: label values are upstream names and small enums.
 */
import client from 'prom-client';
import type { RouteKind } from '../registry/route.js';

export type BreakerStateValue = 0 | 1 | 2;
export type FailoverReason = 'connect' | 'reset' | 'timeout' | 'auth' | 'redirect' | '5xx' | 'ratelimit' | 'notfound' | 'breaker_open';

export interface Metrics {
  readonly registry: client.Registry;
  requestCompleted(upstream: string, method: string, kind: RouteKind | 'other', code: number): void;
  upstreamHeaders(upstream: string, seconds: number): void;
  responseBytes(upstream: string, bytes: number): void;
  upstreamSelected(upstream: string): void;
  failover(upstream: string, reason: FailoverReason): void;
  breakerState(upstream: string, state: BreakerStateValue): void;
  upstreamWeight(upstream: string, weight: number): void;
  /** Drops the series of an upstream that a reload removed. */
  forgetUpstream(upstream: string): void;
  inflight(delta: 1 | -1): void;
  configReload(result: 'success' | 'error'): void;
}

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });

  const requests = new client.Counter({
    name: 'mirrorgate_requests_total',
    help: 'Client requests answered, by the upstream that answered (none when answered locally)',
    labelNames: ['upstream', 'method', 'kind', 'code'] as const,
    registers: [registry],
  });
  const upstreamDuration = new client.Histogram({
    name: 'mirrorgate_upstream_duration_seconds',
    help: 'Time from sending a request upstream to receiving its response headers',
    labelNames: ['upstream'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const bytes = new client.Counter({
    name: 'mirrorgate_response_bytes_total',
    help: 'Response body bytes relayed to clients, by upstream',
    labelNames: ['upstream'] as const,
    registers: [registry],
  });
  const selected = new client.Counter({
    name: 'mirrorgate_upstream_selected_total',
    help: 'Attempts sent to each upstream by the balancer',
    labelNames: ['upstream'] as const,
    registers: [registry],
  });
  const failovers = new client.Counter({
    name: 'mirrorgate_failovers_total',
    help: 'Attempts abandoned for the next upstream, by the upstream that failed and why',
    labelNames: ['upstream', 'reason'] as const,
    registers: [registry],
  });
  const breaker = new client.Gauge({
    name: 'mirrorgate_breaker_state',
    help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open',
    labelNames: ['upstream'] as const,
    registers: [registry],
  });
  const weight = new client.Gauge({
    name: 'mirrorgate_upstream_weight',
    help: 'Configured weight per upstream',
    labelNames: ['upstream'] as const,
    registers: [registry],
  });
  const inflight = new client.Gauge({
    name: 'mirrorgate_inflight_requests',
    help: 'Client requests being served right now',
    registers: [registry],
  });
  const reloads = new client.Counter({
    name: 'mirrorgate_config_reload_total',
    help: 'Configuration reloads by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });

  // Label lookups cost a string join per call; the per-upstream children are few and stable,
  // so they are cached for the hot path.
  const bytesChildren = new Map<string, client.Counter.Internal>();
  const durationChildren = new Map<string, client.Histogram.Internal<'upstream'>>();

  return {
    registry,
    requestCompleted: (upstream, method, kind, code) => requests.inc({ upstream, method, kind, code: String(code) }),
    upstreamHeaders: (upstream, seconds) => {
      let child = durationChildren.get(upstream);
      if (child === undefined) durationChildren.set(upstream, (child = upstreamDuration.labels(upstream)));
      child.observe(seconds);
    },
    responseBytes: (upstream, n) => {
      let child = bytesChildren.get(upstream);
      if (child === undefined) bytesChildren.set(upstream, (child = bytes.labels(upstream)));
      child.inc(n);
    },
    upstreamSelected: (upstream) => selected.inc({ upstream }),
    failover: (upstream, reason) => failovers.inc({ upstream, reason }),
    breakerState: (upstream, state) => breaker.set({ upstream }, state),
    upstreamWeight: (upstream, value) => weight.set({ upstream }, value),
    forgetUpstream: (upstream) => {
      breaker.remove({ upstream });
      weight.remove({ upstream });
    },
    inflight: (delta) => inflight.inc(delta),
    configReload: (result) => reloads.inc({ result }),
  };
}
