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
import type { CapturedResponse } from '../stream/sink.js';
import { redirectTargetProblem } from './address-guard.js';
import { relay } from './dispatch.js';
import { UpstreamAttemptError } from './errors.js';
import { withAuthorization, type Exchange, type Step } from './exchange.js';
import type { AttemptOutcome, RelayOutcome } from './outcome.js';
import type { RelayOptions } from './relay-handler.js';

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

function locationOf(response: CapturedResponse): string {
  const location = response.headers['location'];
  const value = Array.isArray(location) ? location[0] : location;
  if (value === undefined || value === '') throw new RedirectError(`${response.status} without a Location`);
  return value;
}

export interface RedirectSettings {
  /** The upstream's name, for errors. */
  readonly upstream: string;
  readonly config: RedirectConfig;
  /** For redirect targets (CDNs): any origin, pooled per origin, internal addresses refused. */
  readonly offsite: Dispatcher;
  /** `config.allowHosts` as a set, shared with `offsite`'s address guard. */
  readonly allowedHosts: ReadonlySet<string>;
  /** The upstream's URL, base path included. */
  readonly base: URL;
  /** Undoes the upstream's repository mapping on a same-origin path (passthrough). */
  readonly toClientPath: (path: string) => string;
}

/**
 * The redirect step: an answer that is a redirect is followed (and its target's answer
 * relayed), or in passthrough mode captured as the client's answer with its Location rewritten.
 */
export function handleRedirects(settings: RedirectSettings): Step {
  const allowedHosts = settings.allowedHosts;
  return (next) => (exchange) =>
    next(exchange).then((outcome) =>
      outcome.kind === 'declined' && isRedirect(outcome.response.status) ? onRedirect(settings, allowedHosts, exchange, outcome.response) : outcome,
    );
}

function onRedirect(settings: RedirectSettings, allowedHosts: ReadonlySet<string>, exchange: Exchange, response: CapturedResponse): Promise<AttemptOutcome> {
  const from = new URL(exchange.path, settings.base);
  if (settings.config.mode !== 'follow') {
    const location = rewriteLocation(String(response.headers['location'] ?? ''), from, settings.base, settings.toClientPath);
    return Promise.resolve({ kind: 'answer', response: { ...response, headers: { ...response.headers, location } } });
  }
  const request = { method: exchange.method, from, headers: withAuthorization(exchange.headers, exchange.authorization) };
  return followRedirects(settings.offsite, settings.config, allowedHosts, response, request, exchange.relay).catch((err: unknown) => {
    throw err instanceof RedirectError ? new UpstreamAttemptError(settings.upstream, 'redirect', undefined, 0, { cause: err }) : err;
  });
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
  response: CapturedResponse,
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
