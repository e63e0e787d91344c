/**
 * Sends one HTTP request through a dispatcher (the upstream's undici Pool, its keep-alive HEAD
 * dispatcher, or the Agent used for CDN hops) with a RelayHandler, as a promise of the outcome.
 */
import type { RelayDispatcher } from './head-dispatcher.js';
import { RelayHandler, type RelayOptions, type RelayOutcome } from './relay-handler.js';

export interface RelayRequest {
  /** Set for an Agent (which serves many origins); a Pool has its own. */
  readonly origin?: string;
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
  readonly headers: Record<string, string>;
}

export function relay(dispatcher: RelayDispatcher, request: RelayRequest, options: RelayOptions): Promise<RelayOutcome> {
  return new Promise<RelayOutcome>((resolve, reject) => {
    dispatcher.dispatch(request, new RelayHandler(options, resolve, reject));
  });
}
