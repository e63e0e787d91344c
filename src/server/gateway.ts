/**
 * Holds the live configuration and the upstream groups built from it, and swaps both atomically
 * on reload. A request reads `gateway.current` once when it starts and keeps that snapshot, so
 * downloads in flight finish on the upstream and pool they began with.
 */
import type { MirrorSpeed } from '../balancer/mirror-speed.js';
import { AccessControl } from '../access/access-control.js';
import { HtpasswdUsers } from '../access/htpasswd-users.js';
import type { Caches } from '../cache/cached-pull.js';
import type { Config, RegistryConfig, UpstreamConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { BreakerStateValue, Metrics } from '../observability/metrics.js';
import { FAILOVER_REASONS } from '../proxy/failover-reason.js';
import type { PullDeps } from '../proxy/pull.js';
import { RegistryDirectory } from '../proxy/registry-directory.js';
import { UpstreamGroup } from '../proxy/upstream-group.js';
import type { BreakerState, StatusChange } from '../upstream/status.js';
import { Upstream, connectionKey } from '../upstream/upstream.js';
import { watchConfigFile } from './config-watcher.js';

export interface GatewaySnapshot {
  readonly config: Config;
  readonly registries: RegistryDirectory;
  /** Who may pull what; undefined: no `access:`, everyone may pull everything. */
  readonly access: AccessControl | undefined;
}

const BREAKER_STATE_VALUE: Record<BreakerState, BreakerStateValue> = { closed: 0, 'half-open': 1, open: 2 };

export class Gateway {
  #current: GatewaySnapshot | undefined;
  /** The caches, opened once before listening (a reload does not change them); undefined: relay only. */
  cache: Caches | undefined;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  /** The htpasswd file in use and the watch that re-reads it. */
  #users: { readonly users: HtpasswdUsers; readonly watch: { close(): void } } | undefined;

  constructor(config: Config, logger: Logger, metrics: Metrics) {
    this.#logger = logger;
    this.#metrics = metrics;
    this.apply(config);
    metrics.watchWeights(() =>
      [...this.current.registries.groups].flatMap((group) =>
        group.weights().map(({ upstream, effective, latencySeconds, throughputBytesPerSecond }) => ({
          registry: group.registry,
          upstream,
          weight: effective,
          latencySeconds,
          throughputBytesPerSecond,
        })),
      ),
    );
  }

  get current(): GatewaySnapshot {
    return this.#current!;
  }

  /**
   * Swaps in `config`. Upstreams whose connection settings are unchanged are kept (breaker state
   * and pool with them); the balancers restart their cycles with the new weights. Throws,
   * changing nothing, when an upstream cannot be built (e.g. an unreadable CA file).
   */
  apply(config: Config): void {
    const previous = this.#current;
    const reusable = new Map<string, Upstream>();
    for (const group of previous?.registries.groups ?? []) for (const upstream of group.upstreams) reusable.set(upstream.name, upstream);

    const kept = new Set<Upstream>();
    const created: Upstream[] = [];
    const build = (upstreamConfig: UpstreamConfig): Upstream => {
      const old = reusable.get(upstreamConfig.name);
      if (old !== undefined && old.key === connectionKey(upstreamConfig)) {
        kept.add(old);
        return old;
      }
      // The same mirror with other connection settings (a timeout, a CA): what it was measured at still holds.
      const fresh = this.#createUpstream(upstreamConfig, old?.config.url === upstreamConfig.url ? old.speed : undefined);
      created.push(fresh);
      return fresh;
    };
    const previousGroups = new Map([...(previous?.registries.groups ?? [])].map((group) => [group.registry, group]));
    let groups: UpstreamGroup[];
    // First: a bad htpasswd file throws before anything changed.
    const users = this.#usersFor(config.access?.htpasswd);
    try {
      groups = config.registries.map(
        (registry: RegistryConfig) =>
          new UpstreamGroup(
            registry.name,
            registry.upstreams.map((upstreamConfig) => ({ config: upstreamConfig, upstream: build(upstreamConfig) })),
            {
              authority: registry.authority === undefined ? undefined : build(registry.authority),
              balance: registry.balance,
              previous: previousGroups.get(registry.name),
            },
          ),
      );
    } catch (err) {
      for (const upstream of created) void upstream.destroy();
      throw err;
    }
    const hosts = new Map(config.registries.flatMap((registry) => registry.hosts.map((host) => [host, registry.name] as const)));
    const registries = new RegistryDirectory(groups, hosts);
    this.#current = { config, registries, access: config.access === undefined ? undefined : new AccessControl(config.access, users) };
    if (this.#users !== undefined && this.#users.users !== users) {
      this.#users.watch.close();
      this.#users = undefined;
    }
    if (users !== undefined && this.#users === undefined) this.#users = { users, watch: watchConfigFile(users.file, () => void users.reload()) };

    for (const group of previous?.registries.groups ?? []) {
      for (const old of group.upstreams) {
        if (kept.has(old)) continue;
        // Requests still running hold `old`: close() lets them finish before the pool goes.
        void old.close();
        this.#metrics.forgetUpstream(group.registry, old.name);
      }
    }
    this.#publish(config, registries);
  }

  /**
   * What a pull for `registry` needs now, as a request routed there with `?ns=` gets it; undefined
   * when the registry is not served. For pulls no client started (prefetch): the handler builds
   * its own on the request path.
   */
  pullDepsFor(registry: string): PullDeps | undefined {
    const { config, registries } = this.current;
    const selection = registries.select(registry, undefined);
    if (!selection.ok) return undefined;
    return { group: selection.group, failover: config.failover, metrics: this.#metrics, verifyDigests: config.verifyDigests };
  }

  /**
   * The users of `file`: the ones in use when it is the same file (read again, since a reload
   * may have been asked for because it changed), else read now. Throws when it cannot be read.
   */
  #usersFor(file: string | undefined): HtpasswdUsers | undefined {
    if (file === undefined) return undefined;
    const current = this.#users?.users;
    if (current?.file === file) {
      void current.reload();
      return current;
    }
    return HtpasswdUsers.open(file, {
      onReload: (result) => {
        if ('error' in result) this.#logger.error({ event: 'htpasswd', file, err: result.error }, 'htpasswd file not reloaded; the users read before stay');
        else this.#logger.info({ event: 'htpasswd', file, users: result.users }, 'htpasswd file reloaded');
      },
    });
  }

  /** Graceful: pools close once their requests are done. */
  async close(): Promise<void> {
    this.#users?.watch.close();
    await Promise.all(this.#upstreams().map((upstream) => upstream.close()));
  }

  async destroy(): Promise<void> {
    this.#users?.watch.close();
    await Promise.all(this.#upstreams().map((upstream) => upstream.destroy()));
  }

  #upstreams(): Upstream[] {
    return [...this.current.registries.groups].flatMap((group) => [...group.upstreams]);
  }

  #createUpstream(config: UpstreamConfig, speed?: MirrorSpeed): Upstream {
    const upstream: Upstream = new Upstream(config, { onStatus: (change, accepting) => this.#onStatus(upstream, change, accepting) }, {}, speed);
    return upstream;
  }

  /** Every source of an upstream's status lands here: the balancer hears only `accepting`; metrics and logs hear the source. */
  #onStatus(upstream: Upstream, change: StatusChange, accepting: boolean): void {
    const group = this.#current?.registries.groupOf(upstream.name);
    // A replaced upstream finishing its last requests no longer speaks for the name.
    if (group === undefined || group.get(upstream.name) !== upstream) return;
    group.setStatus(upstream.name, accepting);
    if (change.source === 'breaker') this.#onBreakerChange(group.registry, upstream.name, change.state, accepting);
    else if (change.source === 'quarantine') this.#onQuarantine(group.registry, upstream.name, change.quarantined, change.ms);
    else this.#onHealth(group.registry, upstream.name, change.healthy, change.detail, accepting);
  }

  #onBreakerChange(registry: string, name: string, state: BreakerState, accepting: boolean): void {
    this.#metrics.breakerState(registry, name, BREAKER_STATE_VALUE[state]);
    const log = state === 'open' ? this.#logger.warn.bind(this.#logger) : this.#logger.info.bind(this.#logger);
    log({ event: 'breaker', registry, upstream: name, state, accepting }, `circuit breaker of ${name} is ${state}`);
  }

  #onHealth(registry: string, name: string, healthy: boolean, detail: string, accepting: boolean): void {
    this.#metrics.upstreamHealthy(registry, name, healthy);
    const fields = { event: 'health', registry, upstream: name, healthy, accepting, detail };
    if (healthy) this.#logger.info(fields, `health check of ${name} passes again (${detail})`);
    else this.#logger.warn(fields, `health check of ${name} fails (${detail}): out of rotation`);
  }

  #onQuarantine(registry: string, name: string, quarantined: boolean, ms: number): void {
    this.#metrics.upstreamQuarantined(registry, name, quarantined);
    const fields = { event: 'quarantine', registry, upstream: name, quarantined, seconds: ms / 1000 };
    if (quarantined) this.#logger.warn(fields, `${name} served bytes that do not match their digest: out of rotation for ${ms / 1000} s`);
    else this.#logger.info(fields, `quarantine of ${name} is over: one trial request goes through`);
  }

  #publish(config: Config, registries: RegistryDirectory): void {
    for (const registry of config.registries) {
      for (const { name, weight } of registry.upstreams) {
        this.#metrics.upstreamWeight(registry.name, name, weight);
        this.#metrics.upstreamDeclared(registry.name, name, FAILOVER_REASONS);
      }
      if (registry.authority !== undefined) this.#metrics.authorityDeclared(registry.name);
    }
    for (const group of registries.groups) {
      for (const upstream of group.upstreams) {
        this.#metrics.breakerState(group.registry, upstream.name, BREAKER_STATE_VALUE[upstream.breakerState]);
        this.#metrics.upstreamQuarantined(group.registry, upstream.name, upstream.quarantined);
        this.#metrics.upstreamHealthy(group.registry, upstream.name, upstream.healthy);
      }
    }
    this.#logger.info(
      {
        event: 'config',
        source: config.source,
        registries: config.registries.map((registry) => ({
          name: registry.name,
          hosts: registry.hosts,
          upstreams: registry.upstreams.map(({ name, url, weight, backup }) => ({ name, url, weight, backup })),
          ...(registry.authority !== undefined && { authority: { name: registry.authority.name, url: registry.authority.url } }),
        })),
      },
      'configuration in effect',
    );
  }
}
