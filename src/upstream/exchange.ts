/**
 * One attempt at an upstream as it passes through the upstream's steps (authentication,
 * redirects, breaker accounting, the 429 hold): each step is `next → send`, wrapping the
 * step after it, as go-containerregistry's transports and undici's interceptors do. The
 * steps are assembled in one place, upstream.ts.
 */
import type { Dispatcher } from 'undici';
import { relay } from './dispatch.js';
import type { AttemptOutcome } from './outcome.js';
import type { RelayOptions } from './relay-handler.js';

export interface Exchange {
  readonly method: 'GET' | 'HEAD';
  /** The path on the upstream's origin, its base path included. */
  readonly path: string;
  /** The client headers that may travel (see registry/headers.ts); never the client's Authorization. */
  readonly headers: Record<string, string>;
  /** The token scope, e.g. "repository:library/alpine:pull". */
  readonly scope: string;
  /** A blob GET, whose body its client paces: it goes to the blob pool, everything else to the small one (pools.ts). */
  readonly bulk: boolean;
  /** Set by the authentication step; kept for the retry after a challenge and the redirect hops. */
  authorization: string | undefined;
  readonly relay: RelayOptions;
}

export type Send = (exchange: Exchange) => Promise<AttemptOutcome>;
export type Step = (next: Send) => Send;

/** `steps` outermost first, ending in `send`. */
export function compose(steps: readonly Step[], send: Send): Send {
  return steps.reduceRight((next, step) => step(next), send);
}

export function withAuthorization(headers: Record<string, string>, authorization: string | undefined): Record<string, string> {
  return authorization === undefined ? headers : { ...headers, authorization };
}

/** The innermost step: one request on one of the upstream's own pools (`bulk` for blob GETs). */
export function sendThrough(pools: { readonly origin: Dispatcher; readonly small: Dispatcher }): Send {
  return (exchange) =>
    relay(
      exchange.bulk ? pools.origin : pools.small,
      { method: exchange.method, path: exchange.path, headers: withAuthorization(exchange.headers, exchange.authorization) },
      exchange.relay,
    );
}
