/**
 * The upstreams serving one registry, with the balancer that chooses among them. Immutable once
 * built: a config reload builds a new group (reusing unchanged Upstream objects) and swaps it in,
 * while requests already running keep the group they started with.
 */
import { Balancer } from '../balancer/balancer.js';
import type { UpstreamConfig } from '../config/types.js';
import type { Upstream } from '../upstream/upstream.js';

interface Peer {
  readonly name: string;
  readonly weight: number;
  readonly backup: boolean;
  readonly upstream: Upstream;
}

export class UpstreamGroup {
  /** The registry these upstreams mirror ("docker.io", "ghcr.io"...). */
  readonly registry: string;
  readonly #balancer: Balancer<Peer>;
  readonly #byName: ReadonlyMap<string, Upstream>;
  readonly #weighted: readonly Upstream[];

  /**
   * `members` in config order (ties in the balancer go to the first). Weight and backup come from
   * `config`, which may be newer than the one the (reused) Upstream was built with.
   */
  constructor(registry: string, members: readonly { readonly config: UpstreamConfig; readonly upstream: Upstream }[]) {
    this.registry = registry;
    this.#balancer = new Balancer(members.map(({ config, upstream }) => ({ name: config.name, weight: config.weight, backup: config.backup, upstream })));
    this.#byName = new Map(members.map(({ upstream }) => [upstream.name, upstream]));
    this.#weighted = members.filter(({ config }) => config.weight > 0).map(({ upstream }) => upstream);
    for (const { upstream } of members) this.#balancer.setStatus(upstream.name, upstream.accepting);
  }

  get upstreams(): Iterable<Upstream> {
    return this.#byName.values();
  }

  get(name: string): Upstream | undefined {
    return this.#byName.get(name);
  }

  /** The breakers report here whether an upstream takes requests. */
  setStatus(name: string, accepting: boolean): void {
    this.#balancer.setStatus(name, accepting);
  }

  pick(tried: ReadonlySet<string>): Upstream | undefined {
    return this.#balancer.pick(tried)?.upstream;
  }

  /**
   * Ready while some upstream with weight > 0 takes requests (its breaker accepts) and is not
   * saturated (requests waiting for one of its connections): a gateway whose every connection is
   * held by downloads is not one to send more pulls to (issue 13).
   */
  get ready(): boolean {
    return this.#balancer.hasEligible() && this.#weighted.some((upstream) => upstream.accepting && !upstream.saturated);
  }
}
