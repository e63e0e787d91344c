/**
 * Which headers cross the gateway, in each direction. Pure functions over plain objects.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Request headers a registry needs from the client (PROTOCOL.md "Manifests"/"Blobs").
 * An allowlist, not a blocklist: the client's Authorization (dockerd sends its Docker Hub
 * credentials to every mirror), cookies, Host and every hop-by-hop header stay behind.
 */
const FORWARDED_REQUEST_HEADERS = ['accept', 'range', 'if-none-match', 'user-agent'] as const;

/** RFC 9110 §7.6.1 connection-specific fields, plus the legacy ones RFC 2616 §13.5.1 named. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export function upstreamRequestHeaders(client: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = client[name];
    // Node joins repeated Accept headers with ", " already, which keeps every media type.
    if (typeof value === 'string' && value !== '') out[name] = value;
  }
  return out;
}

/** Header names listed in a `Connection` header are hop-by-hop for that message too (RFC 9110 §7.6.1). */
function connectionListed(connection: string | string[] | undefined): Set<string> | undefined {
  // The usual values name no extra header: skip the split on every response.
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return undefined;
  const joined = Array.isArray(connection) ? connection.join(',') : connection;
  return new Set(
    joined
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
}

/**
 * The upstream's response headers as they go to the client: everything but hop-by-hop fields.
 * `headers` has lowercase names (undici's parsed form); repeated headers are arrays.
 */
export function clientResponseHeaders(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const listed = connectionListed(headers['connection']);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Whether a request names a transfer coding other than `chunked`, the only one mirrorgate
 * decodes (RFC 9112 §6.1). Such a request's body length cannot be determined (§6.3): it must
 * get a 400 and a closed connection before anything else is answered, or the bytes after its
 * headers could be read as the next request (request smuggling).
 */
export function hasUnknownTransferCoding(headers: IncomingHttpHeaders): boolean {
  const value = headers['transfer-encoding'];
  return value !== undefined && value.trim().toLowerCase() !== 'chunked';
}
