/**
 * Adapts the client's ServerResponse to the RelayTarget an upstream attempt writes into, with
 * hop-by-hop headers stripped on the way (RFC 9110 §7.6.1).
 */
import type { ServerResponse } from 'node:http';
import { clientResponseHeaders } from '../registry/headers.js';
import type { RelayTarget, UpstreamHeaders } from '../upstream/relay-handler.js';

export function clientTarget(res: ServerResponse): RelayTarget {
  return {
    start: (status: number, headers: UpstreamHeaders) => {
      res.writeHead(status, clientResponseHeaders(headers));
    },
    write: (chunk: Buffer) => res.write(chunk),
    onceDrain: (resume: () => void) => {
      res.once('drain', resume);
    },
    end: () => {
      res.end();
    },
  };
}
