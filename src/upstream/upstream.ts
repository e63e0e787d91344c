/**
 * One upstream registry: its keep-alive connection pool, its circuit breaker, its credentials
 * and tokens, and how one attempt is carried out there:
 *   map the name → send (with a cached token) → answer a 401 challenge once → follow or pass
 *   on a redirect → relay or decline the answer.
 * Only this folder imports undici.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, Pool } from 'undici';
import type { UpstreamConfig } from '../config/types.js';
import { upstreamName } from '../registry/names.js';
import { upstreamPath, type Route } from '../registry/route.js';
import { guardedLookup } from './address-guard.js';
import { AuthenticationError, UpstreamAuthenticator } from './auth/authenticator.js';
import { UpstreamBreaker, type BreakerEvents, type BreakerState } from './breaker.js';
import type { ClientLink } from './client-link.js';
import { relay } from './dispatch.js';
import { UpstreamAttemptError, isFaultStatus } from './errors.js';
import { RedirectError, followRedirects, isRedirect, rewriteLocation } from './redirects.js';
import type { DeclinedResponse, RelayOptions, RelayOutcome, RelayTarget } from './relay-handler.js';
import { retryAfterMs } from './retry-after.js';

export type ProxiedRoute = Exclude<Route, { kind: 'ping' }>;

export interface AttemptRequest {
  readonly method: 'GET' | 'HEAD';
  readonly route: ProxiedRoute;
  /** The client headers that may travel (see registry/headers.ts); never an Authorization. */
  readonly headers: Record<string, string>;
  /** Marked when the client goes away: the upstream request is cancelled with it. */
  readonly client: ClientLink;
}

export interface AttemptHooks {
  /** Statuses the proxy wants to fail over on instead of relaying. */
  declines(status: number): boolean;
  /** Time from dispatch to response headers, in seconds. */
  onHeaders(seconds: number): void;
}

/**
 * relayed/declined as from the relay; `answer`: a captured response that is the final answer
 * for the client as it stands (a redirect in passthrough mode, Location rewritten).
 */
export type AttemptOutcome = RelayOutcome | { readonly kind: 'answer'; readonly response: DeclinedResponse };

/** Thrown inside the breaker for a declined 5xx/429 so that it counts as a failure. */
class FaultStatusError extends Error {
  constructor(readonly outcome: AttemptOutcome) {
    super('upstream answered with a fault status');
  }
}

/** Settings whose change needs a new pool, breaker and token cache (a new Upstream) on reload. */
export function connectionKey(config: UpstreamConfig): string {
  const { name: _name, weight: _weight, backup: _backup, ...connection } = config;
  return JSON.stringify(connection);
}

const USER_AGENT = 'mirrorgate';

export class Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly key: string;
  readonly #base: URL;
  readonly #basePath: string;
  readonly #pool: Pool;
  /** For redirect targets (CDNs): any origin, pooled per origin, internal addresses refused. */
  readonly #offsite: Agent;
  /**
   * For token realms: any origin, without the internal-address guard — an in-house Harbor's
   * token service is legitimately internal, and its address comes from configuration-level
   * trust in the upstream rather than from a redirect.
   */
  readonly #realms: Agent;
  readonly #allowedHosts: ReadonlySet<string>;
  readonly #breaker: UpstreamBreaker;
  readonly #auth: UpstreamAuthenticator;

  constructor(config: UpstreamConfig, events: BreakerEvents) {
    this.name = config.name;
    this.config = config;
    this.key = connectionKey(config);
    this.#base = new URL(config.url);
    this.#basePath = this.#base.pathname.replace(/\/$/, '');
    const tls = {
      rejectUnauthorized: !config.tls.insecureSkipVerify,
      // Node's `ca` replaces the trusted roots; `tls.ca` is meant to add to them.
      ...(config.tls.ca === undefined ? {} : { ca: [...rootCertificates, readFileSync(config.tls.ca, 'utf8')] }),
    };
    const timeouts = {
      headersTimeout: config.timeouts.headersMs,
      // undici's bodyTimeout is the longest gap between two body chunks: exactly "idle".
      bodyTimeout: config.timeouts.idleMs,
    };
    this.#pool = new Pool(this.#base.origin, {
      connections: config.maxConnections,
      ...timeouts,
      connect: { timeout: config.timeouts.connectMs, ...tls },
    });
    this.#allowedHosts = new Set(config.redirects.allowHosts);
    this.#offsite = new Agent({
      connections: config.maxConnections,
      ...timeouts,
      connect: {
        timeout: config.timeouts.connectMs,
        ...tls,
        ...(config.redirects.allowPrivate ? {} : { lookup: guardedLookup(this.#allowedHosts) }),
      },
    });
    this.#realms = new Agent({ connections: 4, ...timeouts, connect: { timeout: config.timeouts.connectMs, ...tls } });
    this.#breaker = new UpstreamBreaker(config.name, config.breaker, isFault, events);
    this.#auth = new UpstreamAuthenticator({
      ...(config.auth === undefined ? {} : { credentials: config.auth }),
      dispatcher: this.#realms,
      userAgent: USER_AGENT,
      headersTimeoutMs: config.timeouts.headersMs,
      bodyTimeoutMs: config.timeouts.idleMs,
    });
  }

  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  get accepting(): boolean {
    return this.#breaker.accepting;
  }

  /**
   * Sends one attempt through the breaker. Resolves when the response was relayed to `target`
   * in full, declined (its status is one `hooks.declines`), or captured as the answer; rejects
   * with UpstreamAttemptError on a network failure, timeout or refused auth/redirect, or with
   * BreakerOpenError.
   */
  attempt(request: AttemptRequest, target: RelayTarget, hooks: AttemptHooks): Promise<AttemptOutcome> {
    return this.#breaker.run(() => this.#exchange(request, target, hooks).then(throwOnFaultStatus)).catch(this.#faultStatusOutcome);
  }

  /** A declined 5xx/429 was a failure for the breaker; for the proxy it is an outcome. */
  readonly #faultStatusOutcome = (err: unknown): AttemptOutcome => {
    if (!(err instanceof FaultStatusError)) throw err;
    const { response } = err.outcome as { response: DeclinedResponse };
    // A rate limit keeps the upstream out of rotation for as long as it asked (at least).
    if (response.status === 429) this.#breaker.holdOpen(retryAfterMs(response.headers['retry-after']));
    return err.outcome;
  };

  /**
   * The common case (a cached or no token, an answer that is neither a challenge nor a
   * redirect) costs one relay and no more: the rest is in #afterFirstAnswer.
   */
  #exchange(request: AttemptRequest, target: RelayTarget, hooks: AttemptHooks): Promise<AttemptOutcome> {
    let exchange: Exchange;
    try {
      exchange = this.#prepare(request, target, hooks);
    } catch (err) {
      // Rejected, not thrown: a throw inside opossum's fire() reopens a half-open breaker before
      // run() has reported the trial, and the state gauge would stay at half-open.
      return Promise.reject(err);
    }
    return this.#send(exchange).then((outcome) =>
      outcome.kind === 'declined' && (outcome.response.status === 401 || isRedirect(outcome.response.status)) ? this.#afterFirstAnswer(exchange, outcome) : outcome,
    );
  }

  #prepare(request: AttemptRequest, target: RelayTarget, hooks: AttemptHooks): Exchange {
    const route = request.route;
    const name = upstreamName(route.name, this.config);
    const scope = `repository:${name}:pull`;
    // 401s and redirects are handled here; the rest is the proxy's call.
    const declines = (status: number): boolean => status === 401 || isRedirect(status) || hooks.declines(status);
    return {
      request,
      path: this.#basePath + upstreamPath(route, name),
      scope,
      options: { upstream: this.name, target, declines, client: request.client, onHeaders: hooks.onHeaders },
      authorization: this.#auth.preemptive(scope),
    };
  }

  #send(exchange: Exchange): Promise<RelayOutcome> {
    const { method, headers } = exchange.request;
    return relay(this.#pool, { method, path: exchange.path, headers: withAuthorization(headers, exchange.authorization) }, exchange.options);
  }

  /** Answers a 401 challenge once, then follows or passes on a redirect. */
  async #afterFirstAnswer(exchange: Exchange, first: RelayOutcome): Promise<AttemptOutcome> {
    let outcome = first;
    if (outcome.kind === 'declined' && outcome.response.status === 401) {
      exchange.authorization = await this.#auth
        .answer(outcome.response.headers['www-authenticate'], exchange.scope, exchange.authorization)
        .catch((err: unknown) => this.#fail('auth', err));
      outcome = await this.#send(exchange);
      if (outcome.kind === 'declined' && outcome.response.status === 401) {
        this.#fail('auth', new AuthenticationError('upstream rejected a fresh token'));
      }
    }
    if (outcome.kind !== 'declined' || !isRedirect(outcome.response.status)) return outcome;

    const from = new URL(exchange.path, this.#base);
    if (this.config.redirects.mode !== 'follow') {
      const location = rewriteLocation(String(outcome.response.headers['location'] ?? ''), from, this.#base, (p) => this.#clientPath(p));
      return { kind: 'answer', response: { ...outcome.response, headers: { ...outcome.response.headers, location } } };
    }
    const { request } = exchange;
    const headers = withAuthorization(request.headers, exchange.authorization);
    return followRedirects(this.#offsite, this.config.redirects, this.#allowedHosts, outcome.response, { method: request.method, from, headers }, exchange.options).catch(
      (err: unknown) => (err instanceof RedirectError ? this.#fail('redirect', err) : Promise.reject(err)),
    );
  }

  /** Undoes repositoryPrefix on a same-origin redirect path, so the client can ask mirrorgate for it. */
  #clientPath(path: string): string {
    const prefix = this.config.repositoryPrefix;
    return prefix !== undefined && path.startsWith(`/v2/${prefix}/`) ? `/v2/${path.slice(`/v2/${prefix}/`.length)}` : path;
  }

  #fail(reason: 'auth' | 'redirect', cause: unknown): never {
    throw new UpstreamAttemptError(this.name, reason, false, 0, { cause });
  }

  /** Lets in-flight requests finish, then closes the connections. */
  async close(): Promise<void> {
    this.#breaker.shutdown();
    await Promise.all([this.#pool.close(), this.#offsite.close(), this.#realms.close()]);
  }

  /** Cuts every connection now (shutdown after the drain timeout). */
  async destroy(): Promise<void> {
    this.#breaker.shutdown();
    await Promise.all([this.#pool.destroy(), this.#offsite.destroy(), this.#realms.destroy()]);
  }
}

/**
 * One attempt's request as it goes to this upstream: path, scope and token, and the relay
 * options that stay the same for the retry after a challenge and for the redirect hops.
 */
interface Exchange {
  readonly request: AttemptRequest;
  readonly path: string;
  readonly scope: string;
  readonly options: RelayOptions;
  authorization: string | undefined;
}

/** Thrown inside the breaker for a declined 5xx/429 so that it counts as a failure. */
function throwOnFaultStatus(outcome: AttemptOutcome): AttemptOutcome {
  if (outcome.kind === 'declined' && isFaultStatus(outcome.response.status)) throw new FaultStatusError(outcome);
  return outcome;
}

function withAuthorization(headers: Record<string, string>, authorization: string | undefined): Record<string, string> {
  return authorization === undefined ? headers : { ...headers, authorization };
}

/** Everything but the client hanging up counts against the upstream. */
function isFault(err: unknown): boolean {
  if (err instanceof UpstreamAttemptError) return err.reason !== 'aborted';
  return true;
}


