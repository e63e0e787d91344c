/**
 * Sends one HTTP request through an undici dispatcher (the upstream's Pool, or the Agent used
 * for CDN hops) with a RelayHandler, as a promise of the relay's outcome.
 */
import type { Dispatcher } from 'undici';
import { UpstreamAttemptError, failureReason } from './errors.js';
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
  readonly signal: AbortSignal;
  /** Time from dispatch to response headers, in seconds. */
  readonly onHeaders?: (seconds: number) => void;
}

export function relay(dispatcher: Dispatcher, request: RelayRequest, options: RelayOptions): Promise<RelayOutcome> {
  return new Promise<RelayOutcome>((resolve, reject) => {
    const started = performance.now();
    const onHeaders = options.onHeaders;
    const handler: RelayHandler = new RelayHandler(
      options.target,
      options.declines,
      options.signal,
      onHeaders === undefined ? noop : () => onHeaders((performance.now() - started) / 1000),
      resolve,
      (err, afterHeaders) =>
        reject(new UpstreamAttemptError(options.upstream, failureReason(err), afterHeaders, handler.bytes, { cause: err })),
    );
    dispatcher.dispatch(request, handler);
  });
}

function noop(): void {}
