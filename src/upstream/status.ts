/**
 * The one interface through which an upstream's health reaches the balancer (traefik's
 * `SetStatus(name, up)`): every source — the circuit breaker (failure and slow-call counts, the
 * 429 hold), the quarantine after a digest mismatch, the active health check — reports its
 * change here, with whether the upstream takes requests now that all sources are counted. The
 * listener (the gateway) passes that one boolean to the balancer, which never learns why.
 */
export type BreakerState = 'closed' | 'half-open' | 'open';

export type StatusChange =
  | { readonly source: 'breaker'; readonly state: BreakerState }
  /** A quarantine began (for `ms`) or ran out; told once each, however often it is extended. */
  | { readonly source: 'quarantine'; readonly quarantined: boolean; readonly ms: number }
  /** The health check crossed `unhealthyAfter` failures or `healthyAfter` passes; `detail` says what the last check saw. */
  | { readonly source: 'health'; readonly healthy: boolean; readonly detail: string };

export interface StatusListener {
  /** `accepting`: whether the balancer may pick the upstream now (every source lets it). */
  onStatus(change: StatusChange, accepting: boolean): void;
}
