/**
 * Smooth weighted round-robin, exactly as nginx's ngx_http_upstream_get_peer
 * (src/http/ngx_http_upstream_round_robin.c): every eligible peer adds its weight to its current
 * weight, the peer with the largest current weight wins (ties go to the first in config order),
 * and the winner subtracts the total weight of the peers that took part.
 * For weights 5,1,1 this yields a a b a c a a: heavy peers are interleaved, not bunched.
 *
 * `effective` (slow start: a peer ramping back to its weight) replaces the configured weights
 * for one pick, as nginx's `effective_weight` does; without it, the sequence is nginx's exactly.
 */

export interface WeightedPeer {
  readonly name: string;
  readonly weight: number;
}

export class SmoothWeightedRoundRobin<P extends WeightedPeer> {
  readonly #peers: readonly P[];
  readonly #current: number[];

  constructor(peers: readonly P[]) {
    this.#peers = peers;
    this.#current = peers.map(() => 0);
  }

  get peers(): readonly P[] {
    return this.#peers;
  }

  /** The next peer among those `eligible` accepts, or undefined when none does. */
  pick(eligible: (peer: P) => boolean, effective?: (peer: P) => number): P | undefined {
    let best = -1;
    let total = 0;
    for (let i = 0; i < this.#peers.length; i++) {
      const peer = this.#peers[i]!;
      if (peer.weight <= 0 || !eligible(peer)) continue;
      const weight = effective === undefined ? peer.weight : effective(peer);
      this.#current[i]! += weight;
      total += weight;
      if (best === -1 || this.#current[i]! > this.#current[best]!) best = i;
    }
    if (best === -1) return undefined;
    this.#current[best]! -= total;
    return this.#peers[best];
  }
}
