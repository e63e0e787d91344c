/**
 * Holds the live configuration and the upstream group built from it, and swaps both atomically
 * on reload. A request reads `gateway.current` once when it starts and keeps that snapshot, so
 * downloads in flight finish on the upstream and pool they began with.
 */
import type { Config, UpstreamConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { BreakerStateValue, Metrics } from '../observability/metrics.js';
import { UpstreamGroup } from '../proxy/upstream-group.js';
import type { BreakerState } from '../upstream/breaker.js';
import { Upstream, connectionKey } from '../upstream/upstream.js';

export interface GatewaySnapshot {
  readonly config: Config;
  readonly group: UpstreamGroup;
}

const BREAKER_STATE_VALUE: Record<BreakerState, BreakerStateValue> = { closed: 0, 'half-open': 1, open: 2 };

export class Gateway {
  #current: GatewaySnapshot;
  readonly #logger: Logger;
  readonly #metrics: Metrics;

  constructor(config: Config, logger: Logger, metrics: Metrics) {
    this.#logger = logger;
    this.#metrics = metrics;
    const group = new UpstreamGroup(
      config.upstreams.map((upstreamConfig) => ({ config: upstreamConfig, upstream: this.#createUpstream(upstreamConfig) })),
    );
    this.#current = { config, group };
    this.#publish(config, group);
  }

  get current(): GatewaySnapshot {
    return this.#current;
  }

  /**
   * Swaps in `config`. Upstreams whose connection settings are unchanged are kept (breaker state
   * and pool with them); the balancer restarts its cycle with the new weights. Throws, changing
   * nothing, when an upstream cannot be built (e.g. an unreadable CA file).
   */
  apply(config: Config): void {
    const previous = this.#current;
    const kept = new Map<string, Upstream>();
    const created: Upstream[] = [];
    let members: { config: UpstreamConfig; upstream: Upstream }[];
    try {
      members = config.upstreams.map((upstreamConfig) => {
        const old = previous.group.get(upstreamConfig.name);
        if (old !== undefined && old.key === connectionKey(upstreamConfig)) {
          kept.set(old.name, old);
          return { config: upstreamConfig, upstream: old };
        }
        const fresh = this.#createUpstream(upstreamConfig);
        created.push(fresh);
        return { config: upstreamConfig, upstream: fresh };
      });
    } catch (err) {
      for (const upstream of created) void upstream.destroy();
      throw err;
    }

    const group = new UpstreamGroup(members);
    this.#current = { config, group };
    for (const old of previous.group.upstreams) {
      if (kept.has(old.name)) continue;
      // Requests still running hold `old`: close() lets them finish before the pool goes.
      void old.close();
      if (group.get(old.name) === undefined) this.#metrics.forgetUpstream(old.name);
    }
    this.#publish(config, group);
  }

  /** Graceful: pools close once their requests are done. */
  async close(): Promise<void> {
    await Promise.all([...this.#current.group.upstreams].map((upstream) => upstream.close()));
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.#current.group.upstreams].map((upstream) => upstream.destroy()));
  }

  #createUpstream(config: UpstreamConfig): Upstream {
    const upstream: Upstream = new Upstream(config, {
      onChange: (state, accepting) => this.#onBreakerChange(upstream, state, accepting),
    });
    return upstream;
  }

  #onBreakerChange(upstream: Upstream, state: BreakerState, accepting: boolean): void {
    const { group } = this.#current;
    // A replaced upstream finishing its last requests no longer speaks for the name.
    if (group.get(upstream.name) !== upstream) return;
    group.setStatus(upstream.name, accepting);
    this.#metrics.breakerState(upstream.name, BREAKER_STATE_VALUE[state]);
    const log = state === 'open' ? this.#logger.warn.bind(this.#logger) : this.#logger.info.bind(this.#logger);
    log({ event: 'breaker', upstream: upstream.name, state, accepting }, `circuit breaker of ${upstream.name} is ${state}`);
  }

  #publish(config: Config, group: UpstreamGroup): void {
    for (const { name, weight } of config.upstreams) this.#metrics.upstreamWeight(name, weight);
    for (const upstream of group.upstreams) {
      this.#metrics.breakerState(upstream.name, BREAKER_STATE_VALUE[upstream.breakerState]);
    }
    this.#logger.info(
      {
        event: 'config',
        source: config.source,
        upstreams: config.upstreams.map(({ name, url, weight, backup }) => ({ name, url, weight, backup })),
      },
      'configuration in effect',
    );
  }
}
