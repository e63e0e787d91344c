/**
 * The upstreams serving one registry, with the balancer that chooses among them. Immutable once
 * built: a config reload builds a new group (reusing unchanged Upstream objects) and swaps it in,
 * while requests already running keep the group they started with.
 */
import { Balancer } from '../balancer/balancer.js';
import type { BalanceConfig, UpstreamConfig } from '../config/types.js';
import type { Upstream } from '../upstream/upstream.js';

/** A primary that takes requests now, as a fill fetched in pieces sees it (cache/parallel-fetch.ts's FillMirror). */
export interface EligibleUpstream {
  readonly upstream: Upstream;
  readonly weight: number;
  /** Bytes/s it showed lately, once there is SEED_EVIDENCE_BYTES of evidence behind it. */
  readonly measuredRate: number | undefined;
}

/** Bytes behind a measured throughput before it seeds a fill's rate for the mirror (a few big bodies). */
const SEED_EVIDENCE_BYTES = 4 * 1024 * 1024;

/** One balanced upstream's weights, for /metrics. */
export interface UpstreamWeight {
  readonly upstream: string;
  readonly configured: number;
  /** 0 while out of rotation, part of `configured` while it ramps back (slow start); with `balance.mode: adaptive`, what its measured speed earns it. */
  readonly effective: number;
  /** Its speed measure as the balancer reads it (balance.halfLife); undefined before the first sample. */
  readonly latencySeconds: number | undefined;
  readonly throughputBytesPerSecond: number | undefined;
}

interface Peer {
  readonly name: string;
  readonly weight: number;
  readonly backup: boolean;
  readonly upstream: Upstream;
}

export class UpstreamGroup {
  /** The registry these upstreams mirror ("docker.io", "ghcr.io"...). */
  readonly registry: string;
  /** Where this registry's tags are resolved, if its config names one; never picked by the balancer. */
  readonly authority: Upstream | undefined;
  readonly #balancer: Balancer<Peer>;
  readonly #byName: ReadonlyMap<string, Upstream>;
  readonly #members: readonly Peer[];
  readonly #weighted: readonly Upstream[];
  readonly #halfLifeMs: number;

  /**
   * `members` in config order (ties in the balancer go to the first). Weight and backup come from
   * `config`, which may be newer than the one the (reused) Upstream was built with. `previous`:
   * the group a reload replaces, whose slow-start ramps go on here.
   */
  constructor(
    registry: string,
    members: readonly { readonly config: UpstreamConfig; readonly upstream: Upstream }[],
    options: { readonly authority?: Upstream | undefined; readonly balance: BalanceConfig; readonly previous?: UpstreamGroup | undefined },
  ) {
    this.registry = registry;
    const authority = options.authority;
    this.authority = authority;
    this.#members = members.map(({ config, upstream }) => ({ name: config.name, weight: config.weight, backup: config.backup, upstream }));
    const balance = options.balance;
    this.#halfLifeMs = balance.halfLifeMs;
    this.#balancer = new Balancer(this.#members, {
      slowStartMs: balance.slowStartMs,
      // The speed samples are the Upstream's: they outlive a reload that keeps it.
      ...(balance.mode === 'adaptive' ? { adaptive: { halfLifeMs: balance.halfLifeMs, speedOf: (peer: Peer) => peer.upstream.speed } } : {}),
    });
    if (options.previous !== undefined) this.#balancer.carryOver(options.previous.#balancer);
    this.#byName = new Map(members.map(({ upstream }) => [upstream.name, upstream]));
    this.#weighted = members.filter(({ config }) => config.weight > 0).map(({ upstream }) => upstream);
    for (const { upstream } of members) this.#balancer.setStatus(upstream.name, upstream.accepting);
  }

  /** The balanced upstreams and the authority: every Upstream this group holds (to reuse, close, report). */
  get upstreams(): Iterable<Upstream> {
    return this.authority === undefined ? this.#byName.values() : [...this.#byName.values(), this.authority];
  }

  get(name: string): Upstream | undefined {
    return this.#byName.get(name) ?? (this.authority?.name === name ? this.authority : undefined);
  }

  /** Each upstream's status (upstream/status.ts) reports here whether it takes requests (the authority's is only reported: it is not balanced). */
  setStatus(name: string, accepting: boolean): void {
    if (this.#byName.has(name)) this.#balancer.setStatus(name, accepting);
  }

  pick(tried: ReadonlySet<string>): Upstream | undefined {
    return this.#balancer.pick(tried)?.upstream;
  }

  /**
   * The primary upstreams that take requests now, with their weights as the balancer uses them
   * now and their measured throughput (a fill fetched in pieces spreads over them; its 206
   * pieces are what upstream/measure-speed.ts measures them by).
   */
  eligible(): EligibleUpstream[] {
    const now = performance.now();
    return this.#members
      .filter((m) => !m.backup && m.upstream.accepting)
      .map((m) => {
        const measured = m.upstream.speed.throughput(this.#halfLifeMs, now);
        return {
          upstream: m.upstream,
          weight: this.#balancer.effectiveWeight(m),
          measuredRate: measured !== undefined && measured.evidence >= SEED_EVIDENCE_BYTES ? measured.value : undefined,
        };
      });
  }

  /** Configured and effective weight, and measured speed, of every balanced upstream. */
  weights(): UpstreamWeight[] {
    const now = performance.now();
    return this.#members.map((m) => ({
      upstream: m.name,
      configured: m.weight,
      effective: this.#balancer.effectiveWeight(m),
      latencySeconds: m.upstream.speed.latency(this.#halfLifeMs, now)?.value,
      throughputBytesPerSecond: m.upstream.speed.throughput(this.#halfLifeMs, now)?.value,
    }));
  }

  /** Takes `name` out of rotation for its `breaker.quarantine` (a parallel fill's mismatch was pinned on it). */
  quarantine(name: string): void {
    this.#byName.get(name)?.quarantine();
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
