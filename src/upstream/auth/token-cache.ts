/**
 * Bearer tokens of one upstream, by scope. A token is reused until shortly before it expires,
 * and concurrent requests that need the same token share one fetch (a pull of a 10-layer image
 * asks for the same scope 11 times at once). Pure apart from the injected clock.
 */

export interface IssuedToken {
  readonly token: string;
  /** Lifetime in seconds from `issuedAtMs`. */
  readonly expiresInSec: number;
  /** When the token service says it issued the token (`issued_at`), else when we received it. */
  readonly issuedAtMs: number;
}

interface Entry {
  readonly token: string;
  readonly refreshAtMs: number;
}

/**
 * Refresh this long before expiry, so a token does not run out between being read here and
 * reaching the registry; a tenth of the lifetime for short-lived tokens.
 */
const MAX_EARLY_REFRESH_MS = 30_000;

export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<string>>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The cached token for `scope`, if it is still fresh. */
  peek(scope: string): string | undefined {
    const entry = this.#entries.get(scope);
    if (entry === undefined) return undefined;
    if (this.#now() >= entry.refreshAtMs) {
      this.#entries.delete(scope);
      return undefined;
    }
    return entry.token;
  }

  /** A fresh token for `scope`: cached, or from the one fetch in flight, or from a new fetch. */
  get(scope: string, fetch: () => Promise<IssuedToken>): Promise<string> {
    const cached = this.peek(scope);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.#inflight.get(scope);
    if (pending === undefined) {
      pending = fetch()
        .then((issued) => {
          this.#store(scope, issued);
          return issued.token;
        })
        .finally(() => this.#inflight.delete(scope));
      this.#inflight.set(scope, pending);
    }
    return pending;
  }

  /** Forgets `token` for `scope` after the registry rejected it (revoked, clock skew). */
  reject(scope: string, token: string): void {
    if (this.#entries.get(scope)?.token === token) this.#entries.delete(scope);
  }

  #store(scope: string, issued: IssuedToken): void {
    const lifetimeMs = issued.expiresInSec * 1000;
    const early = Math.min(MAX_EARLY_REFRESH_MS, lifetimeMs / 10);
    const refreshAtMs = issued.issuedAtMs + lifetimeMs - early;
    if (refreshAtMs > this.#now()) this.#entries.set(scope, { token: issued.token, refreshAtMs });
  }
}
