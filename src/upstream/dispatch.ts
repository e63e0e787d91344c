/**
 * Sends one HTTP request through an undici dispatcher (the upstream's Pool, or the Agent used
 * for CDN hops) with a RelayHandler, as a promise of the outcome.
 */
import type { Dispatcher } from 'undici';
import type { RelayOutcome } from './outcome.js';
import { RelayHandler, type RelayOptions } from './relay-handler.js';

export interface RelayRequest {
  /** Set for an Agent (which serves many origins); a Pool has its own. */
  readonly origin?: string;
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
  readonly headers: Record<string, string>;
}

/**
 * undici closes the connection after every HEAD unless told otherwise (`reset: false`): it
 * guards against servers that send a body anyway (undici issue #258). Registries answer HEAD
 * with headers only, and containerd sends a HEAD before every manifest GET, so closing would
 * cost a TCP (and TLS) handshake per HEAD. With `reset: false` undici keeps the connection
 * whenever the response could be framed without reading to the end (a Content-Length, as every
 * registry sends, or chunked) or says `Connection: keep-alive`; any other is still closed
 * after. A server that did send a body after a HEAD would break the next response on that
 * connection: that attempt fails like a reset, counts against the upstream and fails over.
 */
export function relay(dispatcher: Dispatcher, request: RelayRequest, options: RelayOptions): Promise<RelayOutcome> {
  return new Promise<RelayOutcome>((resolve, reject) => {
    dispatcher.dispatch({ ...request, reset: false }, new RelayHandler(options, resolve, reject));
  });
}
