/**
 * Adapts the client's ServerResponse to the RelayTarget an upstream attempt writes into, with
 * hop-by-hop headers stripped on the way (RFC 9110 §7.6.1). Remembers what it promised the
 * client, so that a broken download can be continued from another mirror.
 */
import type { ServerResponse } from 'node:http';
import { clientResponseHeaders } from '../registry/headers.js';
import type { RelayTarget, UpstreamHeaders } from '../upstream/relay-handler.js';

export interface ClientTarget extends RelayTarget {
  /** Status and upstream headers of the response the client is receiving, once started. */
  readonly started: { readonly status: number; readonly headers: UpstreamHeaders } | undefined;
}

export function clientTarget(res: ServerResponse): ClientTarget {
  let started: ClientTarget['started'];
  return {
    get started() {
      return started;
    },
    start: (status: number, headers: UpstreamHeaders) => {
      started = { status, headers };
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
