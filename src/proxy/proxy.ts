/**
 * The request pipeline for one proxied registry request: pick an upstream, attempt it, and on a
 * failure that happened before any byte reached the client, move to the next upstream the
 * balancer offers — each upstream at most once, at most `maxAttempts` in all.
 * It never writes error bodies itself: it reports what happened and the server answers.
 */
import type { FailoverConfig } from '../config/types.js';
import type { FailoverReason, Metrics } from '../observability/metrics.js';
import { BreakerOpenError } from '../upstream/breaker.js';
import { UpstreamAttemptError } from '../upstream/errors.js';
import type { DeclinedResponse, RelayTarget } from '../upstream/relay-handler.js';
import type { AttemptRequest } from '../upstream/upstream.js';
import type { ClientTarget } from './client-target.js';
import { continuationTarget, promisedRange, rangeHeader, type PromisedRange } from './resume.js';
import type { UpstreamGroup } from './upstream-group.js';

/** Why an upstream was left for the next one; `detail` is safe to log (no secrets, no signed URLs). */
export interface FailoverRecord {
  readonly upstream: string;
  readonly reason: FailoverReason;
  readonly detail: string;
}

export type ProxyResult = ProxyOutcome & { readonly failovers: readonly FailoverRecord[] };

type ProxyOutcome =
  /** An upstream's response went to the client in full. */
  | { readonly kind: 'relayed'; readonly upstream: string; readonly attempts: number; readonly status: number; readonly bytes: number }
  /**
   * A captured upstream answer for the client: a redirect passed through, or the last 404 when
   * every tried upstream said 404 (with on404).
   */
  | { readonly kind: 'answer'; readonly upstream: string; readonly attempts: number; readonly response: DeclinedResponse }
  /** No upstream could answer. */
  | { readonly kind: 'unavailable'; readonly attempts: number }
  /** The upstream failed after headers were sent: the client connection must be cut. */
  | { readonly kind: 'broken'; readonly upstream: string; readonly attempts: number; readonly bytes: number; readonly error: Error }
  /** The client went away first. */
  | { readonly kind: 'client-gone'; readonly upstream: string; readonly attempts: number; readonly bytes: number };

export interface ProxyDeps {
  readonly group: UpstreamGroup;
  readonly failover: FailoverConfig;
  readonly metrics: Metrics;
}

function declineReason(status: number): FailoverReason {
  if (status === 404) return 'notfound';
  if (status === 429) return 'ratelimit';
  return '5xx';
}

/**
 * Where the response stands: `fresh` until an upstream's headers reach the client; `resuming`
 * after a blob download broke mid-body and the rest is being fetched with a Range request.
 */
type Phase =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'resuming'; readonly status: number; readonly range: PromisedRange; readonly relayed: number; readonly broken: UpstreamAttemptError };

const FRESH: Phase = { kind: 'fresh' };

// 5xx and 429 always move on; a 404 does when on404 says a mirror's miss is not the last word.
const declinesFaults = (status: number): boolean => status >= 500 || status === 429;
const declinesFaultsAndMisses = (status: number): boolean => status >= 500 || status === 429 || status === 404;
/** A continuation must be exactly the range asked for. */
const declinesAllButPartial = (status: number): boolean => status !== 206;

export async function proxyRequest(request: AttemptRequest, client: ClientTarget, deps: ProxyDeps): Promise<ProxyResult> {
  const { group, failover, metrics } = deps;
  const registry = group.registry;
  const tried = new Set<string>();
  const failovers: FailoverRecord[] = [];
  const fellOver = (upstream: string, reason: FailoverReason, detail: string): void => {
    metrics.failover(registry, upstream, reason);
    failovers.push({ upstream, reason, detail });
  };
  let lastNotFound: { upstream: string; response: DeclinedResponse } | undefined;
  let onlyNotFound = true;
  let phase: Phase = FRESH;
  let attemptRequest = request;
  let target: RelayTarget = client;
  let declines = failover.on404 ? declinesFaultsAndMisses : declinesFaults;

  while (tried.size < failover.maxAttempts) {
    const upstream = group.pick(tried);
    if (upstream === undefined) break;
    const name = upstream.name;
    tried.add(name);
    metrics.upstreamSelected(registry, name);
    const hooks = { declines, onHeaders: (seconds: number) => metrics.upstreamHeaders(registry, name, seconds) };
    try {
      const outcome = await upstream.attempt(attemptRequest, target, hooks);
      if (outcome.kind === 'relayed') {
        const relayed = phase.kind === 'resuming' ? phase.relayed : 0;
        const status = phase.kind === 'resuming' ? phase.status : outcome.status;
        return { kind: 'relayed', upstream: name, attempts: tried.size, status, bytes: relayed + outcome.bytes, failovers };
      }
      if (outcome.kind === 'answer' && phase.kind === 'fresh') {
        return { kind: 'answer', upstream: name, attempts: tried.size, response: outcome.response, failovers };
      }
      const status = outcome.response.status;
      fellOver(name, declineReason(status), `answered ${status}`);
      if (status === 404) lastNotFound = { upstream: name, response: outcome.response };
      else onlyNotFound = false;
    } catch (err) {
      const relayedBefore: number = phase.kind === 'resuming' ? phase.relayed : 0;
      const bytes: number = relayedBefore + (err instanceof UpstreamAttemptError ? err.bytesRelayed : 0);
      if (request.client.gone) return { kind: 'client-gone', upstream: name, attempts: tried.size, bytes, failovers };
      onlyNotFound = false;
      if (err instanceof UpstreamAttemptError && err.afterHeaders) {
        // Bytes already sent were wrong: nothing can be appended to them.
        let resumable: { status: number; range: PromisedRange } | undefined;
        if (err.reason !== 'digest') resumable = phase.kind === 'resuming' ? phase : startResume(request, client);
        if (resumable === undefined) {
          if (err.reason === 'digest') fellOver(name, 'digest', describe(err));
          return { kind: 'broken', upstream: name, attempts: tried.size, bytes, error: err, failovers };
        }
        const from = resumable.range.start + bytes;
        fellOver(name, attemptReason(err), `${describe(err)}; resuming at byte ${from} elsewhere`);
        phase = { kind: 'resuming', status: resumable.status, range: resumable.range, relayed: bytes, broken: err };
        attemptRequest = { ...request, headers: { ...request.headers, range: rangeHeader(from, resumable.range.end) } };
        target = continuationTarget(client, from, resumable.range.end);
        declines = declinesAllButPartial;
        continue;
      }
      fellOver(name, err instanceof BreakerOpenError ? 'breaker_open' : attemptReason(err), describe(err));
    }
  }

  if (phase.kind === 'resuming') {
    return { kind: 'broken', upstream: [...tried].at(-1)!, attempts: tried.size, bytes: phase.relayed, error: phase.broken, failovers };
  }
  if (onlyNotFound && lastNotFound !== undefined) {
    return { kind: 'answer', upstream: lastNotFound.upstream, attempts: tried.size, response: lastNotFound.response, failovers };
  }
  return { kind: 'unavailable', attempts: tried.size, failovers };
}

/** Only a blob GET can continue elsewhere (same digest, same bytes), and only a sized one. */
function startResume(request: AttemptRequest, client: ClientTarget): { status: number; range: PromisedRange } | undefined {
  if (request.route.kind !== 'blob' || request.method !== 'GET' || client.started === undefined) return undefined;
  const range = promisedRange(client.started.status, client.started.headers);
  return range === undefined ? undefined : { status: client.started.status, range };
}

/** The error and its cause, e.g. "upstream hub: auth: token service auth.example answered 401". */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

function attemptReason(err: unknown): FailoverReason {
  if (err instanceof UpstreamAttemptError && err.reason !== 'aborted') return err.reason;
  return 'reset';
}
