/**
 * Sends one HTTP request through a dispatcher (the upstream's undici Pool, its keep-alive HEAD
 * dispatcher, or the Agent used for CDN hops) with a RelayHandler, as a promise of the outcome.
 */
import type { ClientLink } from './client-link.js';
import { UpstreamAttemptError, failureReason } from './errors.js';
import type { RelayDispatcher } from './head-dispatcher.js';
import { RelayHandler, type RelayOutcome, type RelayTarget } from './relay-handler.js';

export interface RelayRequest {
  /** Set for an Agent (which serves many origins); a Pool has its own. */
  readonly origin?: string;
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
  readonly headers: Record<string, string>;
}

export interface RelayOptions {
  readonly upstream: string;
  readonly target: RelayTarget;
  readonly declines: (status: number) => boolean;
  readonly client: ClientLink;
  /** Time from dispatch to response headers, in seconds. */
  readonly onHeaders?: (seconds: number) => void;
}

export function relay(dispatcher: RelayDispatcher, request: RelayRequest, options: RelayOptions): Promise<RelayOutcome> {
  return new Promise<RelayOutcome>((resolve, reject) => {
    const started = performance.now();
    const onHeaders = options.onHeaders;
    const handler: RelayHandler = new RelayHandler(
      options.target,
      options.declines,
      options.client,
      onHeaders === undefined ? noop : () => onHeaders((performance.now() - started) / 1000),
      resolve,
      (err, afterHeaders) =>
        reject(new UpstreamAttemptError(options.upstream, failureReason(err), afterHeaders, handler.bytes, { cause: err })),
    );
    dispatcher.dispatch(request, handler);
  });
}

function noop(): void {}
