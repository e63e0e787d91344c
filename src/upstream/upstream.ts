/**
 * One upstream registry: its keep-alive connection pool, its circuit breaker, and how one
 * attempt is sent to it. Only this folder imports undici.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/types.js';
import { UpstreamBreaker, type BreakerEvents, type BreakerState } from './breaker.js';
import { UpstreamAttemptError, failureReason, isFaultStatus } from './errors.js';
import { RelayHandler, type RelayOutcome, type RelayTarget } from './relay-handler.js';

export interface AttemptRequest {
  readonly method: 'GET' | 'HEAD';
  /** Path from `/v2/` on, with query; the upstream's base path is prepended here. */
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Aborted when the client goes away: the upstream request is cancelled with it. */
  readonly signal: AbortSignal;
}

export interface AttemptHooks {
  /** Statuses the proxy wants to fail over on instead of relaying. */
  declines(status: number): boolean;
  /** Time from dispatch to response headers, in seconds. */
  onHeaders(seconds: number): void;
}

/** Thrown inside the breaker for a declined 5xx/429 so that it counts as a failure. */
class FaultStatusError extends Error {
  constructor(readonly outcome: RelayOutcome) {
    super('upstream answered with a fault status');
  }
}

/** Connection settings whose change needs a new pool (and so a new Upstream) on reload. */
export function connectionKey(config: UpstreamConfig): string {
  return JSON.stringify([config.url, config.tls, config.timeouts, config.maxConnections, config.breaker]);
}

export class Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly key: string;
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #breaker: UpstreamBreaker;

  constructor(config: UpstreamConfig, events: BreakerEvents) {
    this.name = config.name;
    this.config = config;
    this.key = connectionKey(config);
    const url = new URL(config.url);
    this.#basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    this.#pool = new Pool(url.origin, {
      connections: config.maxConnections,
      headersTimeout: config.timeouts.headersMs,
      // undici's bodyTimeout is the longest gap between two body chunks: exactly "idle".
      bodyTimeout: config.timeouts.idleMs,
      connect: {
        timeout: config.timeouts.connectMs,
        rejectUnauthorized: !config.tls.insecureSkipVerify,
        ...(config.tls.ca === undefined ? {} : { ca: readFileSync(config.tls.ca, 'utf8') }),
      },
    });
    this.#breaker = new UpstreamBreaker(config.name, config.breaker, isFault, events);
  }

  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  get accepting(): boolean {
    return this.#breaker.accepting;
  }

  /**
   * Sends one attempt through the breaker. Resolves when the response was relayed to `target`
   * in full, or declined (its status is one `hooks.declines`); rejects with
   * UpstreamAttemptError on a network failure or timeout, or BreakerOpenError.
   */
  async attempt(request: AttemptRequest, target: RelayTarget, hooks: AttemptHooks): Promise<RelayOutcome> {
    try {
      return await this.#breaker.run(async () => {
        const outcome = await this.#dispatch(request, target, hooks);
        if (outcome.kind === 'declined' && isFaultStatus(outcome.response.status)) throw new FaultStatusError(outcome);
        return outcome;
      });
    } catch (err) {
      if (err instanceof FaultStatusError) return err.outcome;
      throw err;
    }
  }

  #dispatch(request: AttemptRequest, target: RelayTarget, hooks: AttemptHooks): Promise<RelayOutcome> {
    return new Promise<RelayOutcome>((resolve, reject) => {
      const started = performance.now();
      const handler = new RelayHandler(
        target,
        hooks.declines,
        request.signal,
        () => hooks.onHeaders((performance.now() - started) / 1000),
        resolve,
        (err, afterHeaders) =>
          reject(new UpstreamAttemptError(this.name, failureReason(err), afterHeaders, handler.bytes, { cause: err })),
      );
      this.#pool.dispatch(
        { method: request.method, path: this.#basePath + request.path, headers: request.headers },
        handler,
      );
    });
  }

  /** Lets in-flight requests finish, then closes the pool's connections. */
  async close(): Promise<void> {
    this.#breaker.shutdown();
    await this.#pool.close();
  }

  /** Cuts every connection now (shutdown after the drain timeout). */
  async destroy(): Promise<void> {
    this.#breaker.shutdown();
    await this.#pool.destroy();
  }
}

/** Everything but the client hanging up counts against the upstream. */
function isFault(err: unknown): boolean {
  if (err instanceof FaultStatusError) return true;
  if (err instanceof UpstreamAttemptError) return err.reason !== 'aborted';
  return true;
}
