/**
 * Chooses the upstream for one attempt: smooth WRR over the primaries, and over the backups only
 * when no primary is eligible. It knows nothing of HTTP or of why an upstream is down: health
 * arrives through the one-method HealthListener interface (traefik's SetStatus pattern). A peer
 * that comes back up ramps to its weight (slow-start.ts) from its first request on: until then it
 * has its whole weight, since a half-open breaker waits for exactly that trial request, and a
 * 5 % share would make it wait twenty picks for it.
 */
import { SlowStart } from './slow-start.js';
import { SmoothWeightedRoundRobin } from './smooth-wrr.js';

export interface BalancedPeer {
  readonly name: string;
  readonly weight: number;
  readonly backup: boolean;
}

/** What a health source (breaker, health check, quarantine: upstream/status.ts) tells the balancer. */
export interface HealthListener {
  setStatus(name: string, up: boolean): void;
}

export interface BalancerOptions {
  /** Slow start: how long a peer that comes back takes to reach its weight; 0: at once. */
  readonly slowStartMs?: number;
  /** Milliseconds, for the slow-start ramp (tests move it). */
  readonly now?: () => number;
}

export class Balancer<P extends BalancedPeer = BalancedPeer> implements HealthListener {
  readonly #primaries: SmoothWeightedRoundRobin<P>;
  readonly #backups: SmoothWeightedRoundRobin<P>;
  readonly #down = new Set<string>();
  /** Back up and not picked since: the ramp begins at its first pick. */
  readonly #returned = new Set<string>();
  readonly #slowStart: SlowStart;
  readonly #effective = (peer: P): number => peer.weight * this.#slowStart.share(peer.name);

  constructor(peers: readonly P[], options: BalancerOptions = {}) {
    this.#primaries = new SmoothWeightedRoundRobin(peers.filter((peer) => !peer.backup));
    this.#backups = new SmoothWeightedRoundRobin(peers.filter((peer) => peer.backup));
    this.#slowStart = new SlowStart(options.slowStartMs ?? 0, options.now);
  }

  setStatus(name: string, up: boolean): void {
    if (up) {
      if (this.#down.delete(name)) this.#returned.add(name);
    } else {
      this.#down.add(name);
      this.#returned.delete(name);
      this.#slowStart.stopped(name);
    }
  }

  /** Keeps the slow-start ramps of `previous` (the balancer a reload replaces) for the peers both have. */
  carryOver(previous: Balancer<P>): void {
    this.#slowStart.carryOver(
      previous.#slowStart,
      [...this.#primaries.peers, ...this.#backups.peers].map((peer) => peer.name),
    );
  }

  /** Next peer for a request that has already tried the peers named in `tried`. */
  pick(tried?: ReadonlySet<string>): P | undefined {
    const eligible = (peer: P): boolean => !this.#down.has(peer.name) && !(tried?.has(peer.name) ?? false);
    // Only while something ramps: otherwise the exact nginx sequence over the configured weights.
    const effective = this.#slowStart.ramping ? this.#effective : undefined;
    const peer = this.#primaries.pick(eligible, effective) ?? this.#backups.pick(eligible, effective);
    if (peer !== undefined && this.#returned.size > 0 && this.#returned.delete(peer.name)) this.#slowStart.began(peer.name);
    return peer;
  }

  /** The weight `peer` gets now: 0 while down, part of it while ramping back, else all of it. */
  effectiveWeight(peer: P): number {
    return this.#down.has(peer.name) ? 0 : this.#effective(peer);
  }

  /** True when some peer could take a new request now (readiness). */
  hasEligible(): boolean {
    const usable = (peer: P): boolean => peer.weight > 0 && !this.#down.has(peer.name);
    return this.#primaries.peers.some(usable) || this.#backups.peers.some(usable);
  }
}
