/**
 * Chooses the upstream for one attempt: smooth WRR over the primaries, and over the backups only
 * when no primary is eligible. It knows nothing of HTTP or of why an upstream is down: health
 * arrives through the one-method HealthListener interface (traefik's SetStatus pattern).
 */
import { SmoothWeightedRoundRobin } from './smooth-wrr.js';

export interface BalancedPeer {
  readonly name: string;
  readonly weight: number;
  readonly backup: boolean;
}

/** What a health source (the circuit breakers) tells the balancer. */
export interface HealthListener {
  setStatus(name: string, up: boolean): void;
}

export class Balancer<P extends BalancedPeer = BalancedPeer> implements HealthListener {
  readonly #primaries: SmoothWeightedRoundRobin<P>;
  readonly #backups: SmoothWeightedRoundRobin<P>;
  readonly #down = new Set<string>();

  constructor(peers: readonly P[]) {
    this.#primaries = new SmoothWeightedRoundRobin(peers.filter((peer) => !peer.backup));
    this.#backups = new SmoothWeightedRoundRobin(peers.filter((peer) => peer.backup));
  }

  setStatus(name: string, up: boolean): void {
    if (up) this.#down.delete(name);
    else this.#down.add(name);
  }

  /** Next peer for a request that has already tried the peers named in `tried`. */
  pick(tried?: ReadonlySet<string>): P | undefined {
    const eligible = (peer: P): boolean => !this.#down.has(peer.name) && !(tried?.has(peer.name) ?? false);
    return this.#primaries.pick(eligible) ?? this.#backups.pick(eligible);
  }

  /** True when some peer could take a new request now (readiness). */
  hasEligible(): boolean {
    const usable = (peer: P): boolean => peer.weight > 0 && !this.#down.has(peer.name);
    return this.#primaries.peers.some(usable) || this.#backups.peers.some(usable);
  }
}
