/**
 * What happens when an upstream answers a blob request with a redirect (Docker Hub and
 * S3/GCS-backed registries send 307 to a signed CDN URL; PROTOCOL.md "Blobs").
 *
 * follow: the gateway fetches the Location itself, up to MAX_HOPS, and streams the answer. The
 *   hop leaves without Authorization or cookies when the origin changes — an S3-style store
 *   rejects a request carrying two auth mechanisms — and keeps Range and Accept. Targets that
 *   resolve to internal addresses are refused unless allowed (see address-guard.ts).
 * passthrough: the client gets the redirect; a Location on the upstream's own origin is
 *   rewritten to the gateway, so the client comes back through mirrorgate.
 * A signed URL is never cached and never logged with its query string.
 */
import type { Dispatcher } from 'undici';
import type { RedirectConfig } from '../config/types.js';
import { redirectTargetProblem } from './address-guard.js';
import { relay } from './dispatch.js';
import type { DeclinedResponse, RelayOptions, RelayOutcome } from './relay-handler.js';

export const MAX_HOPS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function isRedirect(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

export class RedirectError extends Error {
  readonly code = 'REDIRECT_REFUSED';
}

/** A URL fit for a log line: no query (signatures), no credentials. */
export function loggableUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function locationOf(response: DeclinedResponse): string {
  const location = response.headers['location'];
  const value = Array.isArray(location) ? location[0] : location;
  if (value === undefined || value === '') throw new RedirectError(`${response.status} without a Location`);
  return value;
}

export interface FollowRequest {
  readonly method: 'GET' | 'HEAD';
  /** The URL the redirect answered (Location may be relative to it). */
  readonly from: URL;
  /** Headers the first request carried, Authorization included. */
  readonly headers: Record<string, string>;
}

/**
 * Follows `response` (a redirect) through `dispatcher` until a non-redirect answer, which is
 * relayed (or declined) like any upstream answer.
 */
export async function followRedirects(
  dispatcher: Dispatcher,
  config: RedirectConfig,
  allowedHosts: ReadonlySet<string>,
  response: DeclinedResponse,
  request: FollowRequest,
  relayOptions: RelayOptions,
): Promise<RelayOutcome> {
  let current = response;
  let from = request.from;
  let headers = request.headers;
  for (let hop = 1; hop <= MAX_HOPS; hop++) {
    const target = new URL(locationOf(current), from);
    const problem = redirectTargetProblem(target, allowedHosts, config.allowPrivate);
    if (problem !== undefined) throw new RedirectError(problem);
    if (target.origin !== from.origin) headers = withoutCredentials(headers);
    // 303 means "GET the other resource"; every other redirect repeats the method.
    const method = current.status === 303 && request.method !== 'HEAD' ? 'GET' : request.method;
    const outcome = await relay(
      dispatcher,
      { origin: target.origin, method, path: `${target.pathname}${target.search}`, headers },
      { ...relayOptions, declines: (status) => isRedirect(status) || isCdnFailure(status) },
    );
    if (outcome.kind === 'relayed') return outcome;
    if (!isRedirect(outcome.response.status)) {
      throw new RedirectError(`redirect target ${loggableUrl(target)} answered ${outcome.response.status}`);
    }
    current = outcome.response;
    from = target;
  }
  throw new RedirectError(`more than ${MAX_HOPS} redirects`);
}

/**
 * The registry said it has the blob; a CDN that then fails (expired signature 403, 404, 5xx) is
 * that upstream's failure, to fail over from. 416 is an answer about the client's Range.
 */
function isCdnFailure(status: number): boolean {
  return status >= 400 && status !== 416;
}

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  const { authorization: _authorization, cookie: _cookie, ...rest } = headers;
  return rest;
}

/**
 * passthrough: a Location on the upstream's own origin becomes a path-only reference, which the
 * client resolves against the gateway URL it asked (whatever scheme and host put it there), with
 * the upstream's base path and repository mapping undone by `toClientPath`. Other Locations
 * (CDNs) are left as they are.
 */
export function rewriteLocation(location: string, from: URL, upstreamBase: URL, toClientPath: (path: string) => string): string {
  const target = new URL(location, from);
  if (target.origin !== upstreamBase.origin) return target.href;
  const base = upstreamBase.pathname.replace(/\/$/, '');
  const path = base !== '' && target.pathname.startsWith(`${base}/`) ? target.pathname.slice(base.length) : target.pathname;
  return `${toClientPath(path)}${target.search}`;
}
