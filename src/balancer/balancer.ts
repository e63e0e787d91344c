/**
 * Chooses the upstream for one attempt: smooth WRR over the primaries, and over the backups only
 * when no primary is eligible. It knows nothing of HTTP or of why an upstream is down: health
 * arrives through the one-method HealthListener interface (traefik's SetStatus pattern). A peer
 * that comes back up ramps to its weight (slow-start.ts) from its first request on: until then it
 * has its whole weight, since a half-open breaker waits for exactly that trial request, and a
 * 5 % share would make it wait twenty picks for it. With `adaptive`, the weights the picks use
 * follow each peer's measured speed (adaptive-weights.ts), the configured ones staying the cap.
 */
import { adaptiveWeights } from './adaptive-weights.js';
import type { SpeedView } from './mirror-speed.js';
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

export interface BalancerOptions<P> {
  /** Slow start: how long a peer that comes back takes to reach its weight; 0: at once. */
  readonly slowStartMs?: number;
  /** Weights that follow measured speed (adaptive-weights.ts); absent: the configured weights (static). */
  readonly adaptive?: { readonly halfLifeMs: number; speedOf(peer: P): SpeedView };
  /** Milliseconds, for the slow-start ramp and the speed samples' age (tests move it). */
  readonly now?: () => number;
}

/** Adaptive weights are worked out again at most this often: a pick reads the last ones. */
export const ADAPTIVE_REFRESH_MS = 1000;

export class Balancer<P extends BalancedPeer = BalancedPeer> implements HealthListener {
  readonly #primaries: SmoothWeightedRoundRobin<P>;
  readonly #backups: SmoothWeightedRoundRobin<P>;
  readonly #down = new Set<string>();
  /** Back up and not picked since: the ramp begins at its first pick. */
  readonly #returned = new Set<string>();
  readonly #slowStart: SlowStart;
  readonly #adaptive: BalancerOptions<P>['adaptive'];
  readonly #now: () => number;
  /** The adaptive weights by name, and when they were worked out. */
  #measured: { readonly weights: ReadonlyMap<string, number>; readonly at: number } | undefined;
  readonly #effective = (peer: P): number => this.#baseWeight(peer) * this.#slowStart.share(peer.name);

  constructor(peers: readonly P[], options: BalancerOptions<P> = {}) {
    this.#primaries = new SmoothWeightedRoundRobin(peers.filter((peer) => !peer.backup));
    this.#backups = new SmoothWeightedRoundRobin(peers.filter((peer) => peer.backup));
    this.#now = options.now ?? (() => performance.now());
    this.#slowStart = new SlowStart(options.slowStartMs ?? 0, this.#now);
    this.#adaptive = options.adaptive;
  }

  /** The configured weight, or (adaptive) the one measured speed gives it, refreshed at most every ADAPTIVE_REFRESH_MS. */
  #baseWeight(peer: P): number {
    const adaptive = this.#adaptive;
    if (adaptive === undefined) return peer.weight;
    const now = this.#now();
    if (this.#measured === undefined || now - this.#measured.at >= ADAPTIVE_REFRESH_MS) {
      // Primaries and backups are separate pools: each is measured against its own.
      const weights = new Map<string, number>();
      for (const pool of [this.#primaries.peers, this.#backups.peers]) {
        for (const [name, weight] of adaptiveWeights(pool, (p) => adaptive.speedOf(p), adaptive.halfLifeMs, now)) weights.set(name, weight);
      }
      this.#measured = { weights, at: now };
    }
    return this.#measured.weights.get(peer.name) ?? peer.weight;
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
    // Only while something ramps or speed counts: otherwise the exact nginx sequence over the configured weights.
    const effective = this.#slowStart.ramping || this.#adaptive !== undefined ? this.#effective : undefined;
    const peer = this.#primaries.pick(eligible, effective) ?? this.#backups.pick(eligible, effective);
    if (peer !== undefined && this.#returned.size > 0 && this.#returned.delete(peer.name)) this.#slowStart.began(peer.name);
    return peer;
  }

  /** The weight `peer` gets now: 0 while down, part of it while ramping back, else all of it (adaptive: what its speed earns it). */
  effectiveWeight(peer: P): number {
    return this.#down.has(peer.name) ? 0 : this.#effective(peer);
  }

  /** True when some peer could take a new request now (readiness). */
  hasEligible(): boolean {
    const usable = (peer: P): boolean => peer.weight > 0 && !this.#down.has(peer.name);
    return this.#primaries.peers.some(usable) || this.#backups.peers.some(usable);
  }
}
