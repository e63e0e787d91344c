/**
 * One upstream registry: its connection pools, its circuit breaker, its credentials and tokens,
 * and the steps one attempt goes through there, assembled in the constructor:
 *   hold on 429 → quarantine on a digest mismatch → count in the breaker → measure its speed →
 *   authenticate → handle redirects → send on the pool.
 * Only this folder imports undici.
 */
import { MirrorSpeed } from '../balancer/mirror-speed.js';
import type { FetchSignal } from '../stream/abort.js';
import type { UpstreamConfig } from '../config/types.js';
import { upstreamName } from '../registry/names.js';
import { upstreamPath, type ProxiedRoute } from '../registry/route.js';
import { DiscardSink } from '../stream/discard-sink.js';
import type { CapturedResponse, Sink } from '../stream/sink.js';
import { UpstreamAuthenticator } from './auth/authenticator.js';
import { authenticate } from './authenticate.js';
import { ConnectionQueue } from './connection-queue.js';
import { UpstreamBreaker, type BreakerState } from './breaker.js';
import { UpstreamAttemptError } from './errors.js';
import { compose, sendThrough, type Send } from './exchange.js';
import { HealthCheck } from './health-check.js';
import { countInBreaker, holdOnRateLimit, quarantineOnDigestMismatch } from './health-steps.js';
import type { AttemptOutcome } from './outcome.js';
import { relay } from './dispatch.js';
import { UpstreamPools } from './pools.js';
import { measureSpeed } from './measure-speed.js';
import { handleRedirects, isRedirect } from './redirects.js';
import type { StatusListener } from './status.js';

export interface AttemptRequest {
  readonly method: 'GET' | 'HEAD';
  readonly route: ProxiedRoute;
  /** The client headers that may travel (see registry/headers.ts); never an Authorization. */
  readonly headers: Record<string, string>;
  /** Owned by whoever started the fetch: aborting it cancels the upstream request. */
  readonly signal: FetchSignal;
}

export interface AttemptHooks {
  /** Statuses the caller wants to fail over on instead of relaying. */
  declines(status: number): boolean;
  /** Time from dispatch to response headers, in seconds. */
  onHeaders(seconds: number): void;
}

/** What an Upstream tells its owner besides breaker changes (all optional). */
export interface UpstreamObserver {
  /** A token fetch from the upstream's token service took this long, in seconds (`mirrorgate probe`). */
  tokenFetched?(seconds: number): void;
}

/** Settings whose change needs a new pool, breaker and token cache (a new Upstream) on reload. */
export function connectionKey(config: UpstreamConfig): string {
  const { name: _name, weight: _weight, backup: _backup, ...connection } = config;
  return JSON.stringify(connection);
}

const USER_AGENT = 'mirrorgate';

/**
 * Everything counts against the upstream but the starter giving up, and a wait for one of the
 * gateway's own connections (that is the gateway's load, not the upstream's fault).
 */
function isFault(err: unknown): boolean {
  return !(err instanceof UpstreamAttemptError) || (err.reason !== 'aborted' && err.reason !== 'queue');
}

export class Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly key: string;
  readonly #basePath: string;
  readonly #pools: UpstreamPools;
  readonly #queue: ConnectionQueue;
  readonly #breaker: UpstreamBreaker;
  /** Undefined with `health: false`. */
  readonly #health: HealthCheck | undefined;
  readonly #send: Send;
  /** How fast it has been lately (`balance.mode: adaptive`); a reload that replaces this Upstream for the same URL hands it on. */
  readonly speed: MirrorSpeed;

  /** `status` hears every change of the breaker, the quarantine and the health check, with whether the upstream takes requests now. */
  constructor(config: UpstreamConfig, status: StatusListener, observer: UpstreamObserver = {}, speed: MirrorSpeed = new MirrorSpeed()) {
    this.name = config.name;
    this.speed = speed;
    this.config = config;
    this.key = connectionKey(config);
    const base = new URL(config.url);
    this.#basePath = base.pathname.replace(/\/$/, '');
    this.#pools = new UpstreamPools(config);
    this.#queue = new ConnectionQueue(config.timeouts.queueMs);
    this.#breaker = new UpstreamBreaker(config.name, config.breaker, isFault, (change, accepting) =>
      status.onStatus(change, accepting && (this.#health?.healthy ?? true)),
    );
    this.#health =
      config.health === undefined
        ? undefined
        : new HealthCheck(this.#pools.small, this.#basePath + config.health.path, config.health, (healthy, detail) =>
            status.onStatus({ source: 'health', healthy, detail }, healthy && this.#breaker.accepting),
          );
    const auth = new UpstreamAuthenticator({
      ...(config.auth === undefined ? {} : { credentials: config.auth }),
      dispatcher: this.#pools.realms,
      userAgent: USER_AGENT,
      headersTimeoutMs: config.timeouts.headersMs,
      bodyTimeoutMs: config.timeouts.idleMs,
      ...(observer.tokenFetched === undefined ? {} : { onTokenFetched: (seconds: number) => observer.tokenFetched?.(seconds) }),
    });
    const redirects = {
      upstream: this.name,
      config: config.redirects,
      offsite: this.#pools.offsite,
      allowedHosts: this.#pools.allowedHosts,
      base,
      toClientPath: (path: string) => this.#clientPath(path),
    };
    this.#send = compose(
      [
        holdOnRateLimit(this.#breaker),
        quarantineOnDigestMismatch(this.#breaker, config.breaker.quarantineMs),
        countInBreaker(this.#breaker, config.breaker.slowCallMs),
        measureSpeed(this.speed),
        authenticate(this.name, auth),
        handleRedirects(redirects),
      ],
      sendThrough(this.#pools),
    );
  }

  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  /** The breaker lets a request through and the health check (if any) passes. */
  get accepting(): boolean {
    return this.#breaker.accepting && (this.#health?.healthy ?? true);
  }

  /** False while the health check says the upstream is down; true without checks. */
  get healthy(): boolean {
    return this.#health?.healthy ?? true;
  }

  get quarantined(): boolean {
    return this.#breaker.quarantined;
  }

  /** Out of rotation for `breaker.quarantine`, as after a digest mismatch of its own. */
  quarantine(): void {
    this.#breaker.quarantine(this.config.breaker.quarantineMs);
  }

  /**
   * Every connection of one of its pools is busy and requests wait for one (`/readyz`). Both
   * counts: undici's queue also holds requests that gave up, and ours also those waiting for a
   * new connection to finish its handshake.
   */
  get saturated(): boolean {
    return this.#queue.waiting > 0 && this.#pools.saturated;
  }

  /**
   * Sends one attempt. Resolves when the response was relayed to `sink` in full, declined (its
   * status is one `hooks.declines`), or captured as the answer; rejects with
   * UpstreamAttemptError on a network failure, timeout or refused auth/redirect, or with
   * BreakerOpenError.
   */
  attempt(request: AttemptRequest, sink: Sink, hooks: AttemptHooks): Promise<AttemptOutcome> {
    const route = request.route;
    const name = upstreamName(route.name, this.config);
    // 401s and redirects are answered by the steps; the rest is the caller's call.
    const declines = (status: number): boolean => status === 401 || isRedirect(status) || hooks.declines(status);
    return this.#send({
      method: request.method,
      path: this.#basePath + upstreamPath(route, name),
      headers: request.headers,
      scope: `repository:${name}:pull`,
      bulk: request.method === 'GET' && route.kind === 'blob',
      authorization: undefined,
      relay: { upstream: this.name, sink, declines, signal: request.signal, timing: hooks, queue: this.#queue },
    });
  }

  /**
   * `GET /v2/` as it stands, for `mirrorgate probe`: on the upstream's own pool with its TLS
   * settings, but no token and no redirect followed — the API version check's own answer (200,
   * or 401 with the challenge that says how the upstream authenticates), captured whole.
   */
  async ping(signal: FetchSignal, timing: { onHeaders(seconds: number): void }): Promise<CapturedResponse> {
    const outcome = await relay(
      this.#pools.small,
      { method: 'GET', path: `${this.#basePath}/v2/`, headers: { 'user-agent': USER_AGENT } },
      { upstream: this.name, sink: new DiscardSink(), declines: () => true, signal, timing },
    );
    // Every status is declined, so the answer comes back captured.
    if (outcome.kind !== 'declined') throw new Error(`upstream ${this.name}: /v2/ answer was not captured`);
    return outcome.response;
  }

  /** Undoes repositoryPrefix on a same-origin redirect path, so the client can ask mirrorgate for it. */
  #clientPath(path: string): string {
    const prefix = this.config.repositoryPrefix;
    return prefix !== undefined && path.startsWith(`/v2/${prefix}/`) ? `/v2/${path.slice(`/v2/${prefix}/`.length)}` : path;
  }

  /** Lets in-flight requests finish, then closes the connections. */
  async close(): Promise<void> {
    this.#health?.stop();
    this.#breaker.shutdown();
    await this.#pools.close();
  }

  /** Cuts every connection now (shutdown after the drain timeout). */
  async destroy(): Promise<void> {
    this.#health?.stop();
    this.#breaker.shutdown();
    await this.#pools.destroy();
  }
}
