/**
 * `CONNECT` (a client that takes the gateway for a forward proxy) never reaches the request
 * handler: node:http emits it as `connect`, and closes the socket unanswered when nobody
 * listens. mirrorgate answers it like any other method it does not serve: 405 UNSUPPORTED.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { clientOf, type RequestLog } from './request-log.js';
import { endWithRegistryError } from './respond.js';

export function refuseConnect(log: RequestLog): (req: IncomingMessage, socket: Duplex) => void {
  return (req, socket) => {
    const started = performance.now();
    const message = 'method CONNECT is not supported: mirrorgate is a registry mirror, not a proxy';
    const status = endWithRegistryError(socket, 'UNSUPPORTED', message, { allow: 'GET, HEAD' });
    // The authority (`host:port`) is all CONNECT has for a path: never a secret.
    log.answered({ method: 'CONNECT', path: req.url ?? '', started, ...clientOf(req) }, status);
  };
}
